/*
 * lwbench.c - micro-benchmarks of the calls leakwatch interposes.
 *
 * Usage: lwbench WORKLOAD [ITERATIONS]     (lwbench list: the workloads)
 *
 * Each workload runs one tight loop of pthread or semaphore calls and prints
 * one line, `workload=NAME iters=N ns_per_op=F`, plus extra key=value fields
 * where a workload has more to say (many_mutexes adds RSS). The clock
 * (CLOCK_MONOTONIC) brackets the measured loop only: setup, thread creation
 * for the multi-threaded workloads, and teardown are outside it. For
 * multi-threaded workloads ITERATIONS is the total over all threads and
 * ns_per_op is wall time divided by that total.
 *
 * The program does not know about leakwatch: bench/run_bench.py runs it
 * plainly and with LD_PRELOAD, and compares. Every workload checks its own
 * result (a counter) so a shim that broke locking shows up as an error, not
 * as a fast number.
 */
#define _GNU_SOURCE /* CPU affinity, sched_getcpu; POSIX calls under -std=c11 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void report(const char *name, unsigned long iters, double ns) {
  printf("workload=%s iters=%lu ns_per_op=%.3f\n", name, iters, iters ? ns / (double)iters : 0.0);
}

/* A failed check is the benchmark's own failure: say so and exit non-zero. */
static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "lwbench: check failed: %s\n", what);
    exit(1);
  }
}

static void create_thread(pthread_t *tid, void *(*fn)(void *), void *arg) {
  int rc = pthread_create(tid, NULL, fn, arg);
  if (rc != 0) {
    fprintf(stderr, "lwbench: pthread_create: %s\n", strerror(rc));
    exit(1);
  }
}

/*
 * Start gate for multi-threaded workloads: workers spin (yielding) until main
 * opens it, so the timed region starts with every worker already running.
 * A plain atomic, not a barrier, so the gate itself is not an interposed call.
 */
static atomic_int start_gate;

static void gate_wait(void) {
  while (!atomic_load_explicit(&start_gate, memory_order_acquire))
    sched_yield();
}

/* ---- create_join: thread churn, one create + one join per op ---- */

static void *noop_thread(void *arg) { return arg; }

static void bench_create_join(unsigned long iters) {
  double t0 = now_ns();
  for (unsigned long i = 0; i < iters; i++) {
    pthread_t tid;
    void *ret = NULL;
    create_thread(&tid, noop_thread, (void *)i);
    pthread_join(tid, &ret);
    check(ret == (void *)i, "create_join: thread result");
  }
  report("create_join", iters, now_ns() - t0);
}

/* ---- mutex_uncontended: lock + unlock of one mutex by one thread ---- */

static void mutex_lock_unlock_loop(const char *name, unsigned long iters) {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  volatile unsigned long counter = 0;

  double t0 = now_ns();
  for (unsigned long i = 0; i < iters; i++) {
    pthread_mutex_lock(&mu);
    counter++;
    pthread_mutex_unlock(&mu);
  }
  double ns = now_ns() - t0;
  check(counter == iters, "mutex lock/unlock loop: counter");
  report(name, iters, ns);
}

static void bench_mutex_uncontended(unsigned long iters) {
  mutex_lock_unlock_loop("mutex_uncontended", iters);
}

/* ---- mutex_uncontended_mt: the same, once the process has had a second
 *      thread. glibc locks a private mutex with a plain store while a
 *      process has only ever had one thread, with an atomic
 *      compare-and-swap after: this is the pair a multi-threaded program
 *      pays for. ---- */

static void bench_mutex_uncontended_mt(unsigned long iters) {
  pthread_t tid;
  create_thread(&tid, noop_thread, NULL);
  pthread_join(tid, NULL);
  mutex_lock_unlock_loop("mutex_uncontended_mt", iters);
}

/* ---- mutex_contended: 2 threads, lock / increment / unlock ---- */

struct contended {
  pthread_mutex_t mu;
  unsigned long counter;
  unsigned long per_thread;
};

static void *contended_thread(void *arg) {
  struct contended *c = arg;
  gate_wait();
  for (unsigned long i = 0; i < c->per_thread; i++) {
    pthread_mutex_lock(&c->mu);
    c->counter++;
    pthread_mutex_unlock(&c->mu);
  }
  return NULL;
}

static void bench_mutex_contended(unsigned long iters) {
  struct contended c = {PTHREAD_MUTEX_INITIALIZER, 0, iters / 2};
  pthread_t tids[2];

  atomic_store(&start_gate, 0);
  for (int i = 0; i < 2; i++)
    create_thread(&tids[i], contended_thread, &c);
  double t0 = now_ns();
  atomic_store_explicit(&start_gate, 1, memory_order_release);
  for (int i = 0; i < 2; i++)
    pthread_join(tids[i], NULL);
  double ns = now_ns() - t0;
  check(c.counter == 2 * c.per_thread, "mutex_contended: counter");
  report("mutex_contended", 2 * c.per_thread, ns);
}

/* ---- cond_pingpong: two threads hand a turn back and forth ---- */

struct pingpong {
  pthread_mutex_t mu;
  pthread_cond_t turn_cv[2]; /* turn_cv[p]: player p may move */
  int turn;                  /* whose move it is: 0 or 1 */
  unsigned long rounds;      /* moves per player */
};

/* Plays 'rounds' moves as 'player': wait for the turn, pass it over. */
static void pingpong_play(struct pingpong *pp, int player) {
  pthread_mutex_lock(&pp->mu);
  for (unsigned long i = 0; i < pp->rounds; i++) {
    while (pp->turn != player)
      pthread_cond_wait(&pp->turn_cv[player], &pp->mu);
    pp->turn = !player;
    pthread_cond_signal(&pp->turn_cv[!player]);
  }
  pthread_mutex_unlock(&pp->mu);
}

static struct pingpong pingpong = {
    PTHREAD_MUTEX_INITIALIZER,
    {PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER},
    0,
    0,
};

static void *pingpong_thread(void *arg) {
  (void)arg;
  pingpong_play(&pingpong, 1);
  return NULL;
}

/*
 * One op is one hand-over of the turn (a wake-up of the other thread).
 * Both players are pinned to the CPU main is on: on a small VM a wake-up
 * across CPUs costs ~30 us of hypervisor latency, varies run to run, and
 * would hide the shim's cost of a blocking wait; on one CPU it is ~2 us and
 * steady. The worker inherits main's affinity at creation; main's old
 * affinity is restored afterwards. pinned=0 in the output if pinning failed.
 */
static void bench_cond_pingpong(unsigned long iters) {
  pthread_t tid;
  cpu_set_t old_cpus, one_cpu;
  int cpu = sched_getcpu();
  int pinned = 0;

  CPU_ZERO(&one_cpu);
  CPU_SET(cpu < 0 ? 0 : cpu, &one_cpu);
  if (pthread_getaffinity_np(pthread_self(), sizeof old_cpus, &old_cpus) == 0)
    pinned = pthread_setaffinity_np(pthread_self(), sizeof one_cpu, &one_cpu) == 0;

  pingpong.rounds = iters / 2;
  pingpong.turn = 0;
  create_thread(&tid, pingpong_thread, NULL); /* waits for its turn */
  double t0 = now_ns();
  pingpong_play(&pingpong, 0);
  pthread_join(tid, NULL);
  double ns = now_ns() - t0;

  if (pinned)
    pthread_setaffinity_np(pthread_self(), sizeof old_cpus, &old_cpus);
  check(pingpong.turn == 0, "cond_pingpong: final turn");
  printf("workload=cond_pingpong iters=%lu ns_per_op=%.3f pinned=%d\n", 2 * pingpong.rounds,
         pingpong.rounds ? ns / (double)(2 * pingpong.rounds) : 0.0, pinned);
}

/* ---- cond_signal_nowaiter: signal a condition variable nobody waits on ---- */

/* The cheapest path of pthread_cond_signal (glibc sees no waiter and
 * returns at once): what the shim's bookkeeping of the last signal costs
 * on its own. */
static void bench_cond_signal_nowaiter(unsigned long iters) {
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  unsigned long failed = 0;

  double t0 = now_ns();
  for (unsigned long i = 0; i < iters; i++)
    failed += pthread_cond_signal(&cv) != 0;
  double ns = now_ns() - t0;
  check(failed == 0, "cond_signal_nowaiter: return values");
  pthread_cond_destroy(&cv);
  report("cond_signal_nowaiter", iters, ns);
}

/* ---- rwlock_read: uncontended read lock + unlock ---- */

static void bench_rwlock_read(unsigned long iters) {
  pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
  volatile unsigned long counter = 0;

  double t0 = now_ns();
  for (unsigned long i = 0; i < iters; i++) {
    pthread_rwlock_rdlock(&rw);
    counter++;
    pthread_rwlock_unlock(&rw);
  }
  double ns = now_ns() - t0;
  check(counter == iters, "rwlock_read: counter");
  report("rwlock_read", iters, ns);
}

/* ---- sem_post_wait: sem_post then sem_wait, one thread, never blocks ---- */

static void bench_sem_post_wait(unsigned long iters) {
  sem_t sem;
  int value = -1;

  check(sem_init(&sem, 0, 0) == 0, "sem_post_wait: sem_init");
  double t0 = now_ns();
  for (unsigned long i = 0; i < iters; i++) {
    sem_post(&sem);
    while (sem_wait(&sem) != 0 && errno == EINTR)
      ;
  }
  double ns = now_ns() - t0;
  sem_getvalue(&sem, &value);
  check(value == 0, "sem_post_wait: final value");
  sem_destroy(&sem);
  report("sem_post_wait", iters, ns);
}

/* ---- nested4: lock 4 mutexes in order, unlock in reverse ---- */

/* One op: lock set[0..3], touch the counter, unlock set[3..0]. */
static inline void nested4_once(pthread_mutex_t set[4], volatile unsigned long *counter) {
  for (int k = 0; k < 4; k++)
    pthread_mutex_lock(&set[k]);
  (*counter)++;
  for (int k = 3; k >= 0; k--)
    pthread_mutex_unlock(&set[k]);
}

static void bench_nested4(unsigned long iters) {
  pthread_mutex_t set[4];
  volatile unsigned long counter = 0;

  for (int k = 0; k < 4; k++)
    pthread_mutex_init(&set[k], NULL);
  double t0 = now_ns();
  for (unsigned long i = 0; i < iters; i++)
    nested4_once(set, &counter);
  double ns = now_ns() - t0;
  for (int k = 0; k < 4; k++)
    pthread_mutex_destroy(&set[k]);
  check(counter == iters, "nested4: counter");
  report("nested4", iters, ns);
}

/* ---- nested4_8threads: 4 threads on private sets, 4 on one shared set ---- */

#define NESTED_THREADS 8

struct nested_worker {
  pthread_mutex_t *set; /* the 4 mutexes this thread takes */
  volatile unsigned long *counter;
  unsigned long iters;
};

static void *nested_thread(void *arg) {
  struct nested_worker *w = arg;
  gate_wait();
  for (unsigned long i = 0; i < w->iters; i++)
    nested4_once(w->set, w->counter);
  return NULL;
}

/*
 * Threads 0-3 each own a private set (no contention: measures the shim's
 * shared bookkeeping, e.g. a lock-order graph, under concurrency); threads
 * 4-7 share one set (contended, and all take it in the same order, so there
 * is nothing for a lock-order checker to report).
 */
static void bench_nested4_8threads(unsigned long iters) {
  static pthread_mutex_t sets[NESTED_THREADS / 2 + 1][4];
  /* Each private counter on its own cache line, so they do not contend. */
  static struct {
    volatile unsigned long n;
    char pad[56];
  } counters[NESTED_THREADS / 2 + 1];
  struct nested_worker workers[NESTED_THREADS];
  pthread_t tids[NESTED_THREADS];
  const int shared = NESTED_THREADS / 2;
  unsigned long per_thread = iters / NESTED_THREADS, total = 0;

  for (int s = 0; s <= shared; s++)
    for (int k = 0; k < 4; k++)
      pthread_mutex_init(&sets[s][k], NULL);
  atomic_store(&start_gate, 0);
  for (int t = 0; t < NESTED_THREADS; t++) {
    int s = t < shared ? t : shared;
    workers[t] = (struct nested_worker){sets[s], &counters[s].n, per_thread};
    create_thread(&tids[t], nested_thread, &workers[t]);
  }
  double t0 = now_ns();
  atomic_store_explicit(&start_gate, 1, memory_order_release);
  for (int t = 0; t < NESTED_THREADS; t++)
    pthread_join(tids[t], NULL);
  double ns = now_ns() - t0;

  for (int s = 0; s <= shared; s++) {
    total += counters[s].n;
    for (int k = 0; k < 4; k++)
      pthread_mutex_destroy(&sets[s][k]);
  }
  check(total == per_thread * NESTED_THREADS, "nested4_8threads: counter");
  report("nested4_8threads", per_thread * NESTED_THREADS, ns);
}

/* ---- many_mutexes: init, lock, unlock, destroy N distinct mutexes ---- */

/* Resident set size in KiB, from /proc/self/statm; -1 if unreadable. */
static long rss_kib(void) {
  long size = 0, resident = -1;
  FILE *f = fopen("/proc/self/statm", "r");

  if (f == NULL)
    return -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2)
    resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * Phases, not one mutex at a time, so that a shim's per-mutex records all
 * exist at once: rss_peak_kib shows their cost, rss_after_kib whether
 * destroy gave them back. The array is touched before rss_before_kib, so
 * only the shim's own memory shows up in the deltas. (RSS is coarse: freed
 * heap memory is not always returned to the kernel.)
 */
static void bench_many_mutexes(unsigned long iters) {
  pthread_mutex_t *mus = NULL;

  if (iters <= SIZE_MAX / sizeof *mus)
    mus = malloc(iters * sizeof *mus);
  check(mus != NULL, "many_mutexes: malloc");
  /* Not zero: GCC turns malloc+memset(0) into calloc, which touches nothing. */
  memset(mus, 0x5a, iters * sizeof *mus);
  long rss_before = rss_kib();

  double t0 = now_ns();
  for (unsigned long i = 0; i < iters; i++)
    pthread_mutex_init(&mus[i], NULL);
  for (unsigned long i = 0; i < iters; i++) {
    pthread_mutex_lock(&mus[i]);
    pthread_mutex_unlock(&mus[i]);
  }
  double t1 = now_ns();
  long rss_peak = rss_kib();
  double t2 = now_ns();
  for (unsigned long i = 0; i < iters; i++)
    check(pthread_mutex_destroy(&mus[i]) == 0, "many_mutexes: destroy");
  double ns = (t1 - t0) + (now_ns() - t2);
  long rss_after = rss_kib();

  free(mus);
  printf("workload=many_mutexes iters=%lu ns_per_op=%.3f rss_before_kib=%ld rss_peak_kib=%ld "
         "rss_after_kib=%ld\n",
         iters, iters ? ns / (double)iters : 0.0, rss_before, rss_peak, rss_after);
}

/* ---- the workload table ---- */

/* ---- lock_pairs: N distinct pairs of mutexes, each taken nested once
 *      (A_i then B_i): N new lock-order edges; with verbosity=1 the shim
 *      prints the graph's memory at exit ---- */

static void bench_lock_pairs(unsigned long iters) {
  pthread_mutex_t *locks = calloc(2 * iters, sizeof *locks);
  check(locks != NULL, "lock_pairs: calloc");
  for (unsigned long i = 0; i < 2 * iters; i++)
    pthread_mutex_init(&locks[i], NULL);
  double t0 = now_ns();
  for (unsigned long i = 0; i < iters; i++) {
    pthread_mutex_lock(&locks[2 * i]);
    pthread_mutex_lock(&locks[2 * i + 1]);
    pthread_mutex_unlock(&locks[2 * i + 1]);
    pthread_mutex_unlock(&locks[2 * i]);
  }
  double ns = now_ns() - t0;
  report("lock_pairs", iters, ns);
  free(locks); /* not destroyed: the graph keeps every edge */
}

/* ---- nested_pairs: under one outer lock, the pairs m[i] then m[i-1] for
 *      i = 1..N: 2N new lock-order edges (outer -> m[i], and a chain
 *      m[N] -> ... -> m[0] under the gate `outer`), each new edge against a
 *      graph that already holds the earlier ones. One op is one pair. The
 *      graph once searched all of it for every new edge: quadratic. ---- */

static void bench_nested_pairs(unsigned long iters) {
  static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_t *locks = calloc(iters + 1, sizeof *locks);
  volatile unsigned long counter = 0;
  check(locks != NULL, "nested_pairs: calloc");
  for (unsigned long i = 0; i <= iters; i++)
    pthread_mutex_init(&locks[i], NULL);
  double t0 = now_ns();
  pthread_mutex_lock(&outer);
  for (unsigned long i = 1; i <= iters; i++) {
    pthread_mutex_lock(&locks[i]);
    pthread_mutex_lock(&locks[i - 1]);
    counter++;
    pthread_mutex_unlock(&locks[i - 1]);
    pthread_mutex_unlock(&locks[i]);
  }
  pthread_mutex_unlock(&outer);
  double ns = now_ns() - t0;
  check(counter == iters, "nested_pairs: counter");
  report("nested_pairs", iters, ns);
  free(locks); /* not destroyed: the graph keeps every edge to the end */
}

struct workload {
  const char *name;
  void (*run)(unsigned long iters);
  unsigned long default_iters; /* for runs by hand; run_bench.py passes its own */
};

static const struct workload workloads[] = {
    {"create_join", bench_create_join, 20000},
    {"mutex_uncontended", bench_mutex_uncontended, 40000000},
    {"mutex_uncontended_mt", bench_mutex_uncontended_mt, 20000000},
    {"mutex_contended", bench_mutex_contended, 8000000},
    {"cond_pingpong", bench_cond_pingpong, 150000},
    {"cond_signal_nowaiter", bench_cond_signal_nowaiter, 40000000},
    {"rwlock_read", bench_rwlock_read, 15000000},
    {"sem_post_wait", bench_sem_post_wait, 15000000},
    {"nested4", bench_nested4, 10000000},
    {"nested4_8threads", bench_nested4_8threads, 4000000},
    {"many_mutexes", bench_many_mutexes, 100000},
    {"lock_pairs", bench_lock_pairs, 100000},
    {"nested_pairs", bench_nested_pairs, 100000},
};

static int usage(void) {
  fprintf(stderr, "usage: lwbench WORKLOAD [ITERATIONS]\n       lwbench list\n");
  return 2;
}

int main(int argc, char **argv) {
  size_t count = sizeof workloads / sizeof workloads[0];
  unsigned long iters;

  if (argc < 2 || argc > 3)
    return usage();
  if (strcmp(argv[1], "list") == 0) {
    for (size_t i = 0; i < count; i++)
      printf("%s %lu\n", workloads[i].name, workloads[i].default_iters);
    return 0;
  }
  for (size_t i = 0; i < count; i++) {
    if (strcmp(argv[1], workloads[i].name) != 0)
      continue;
    iters = workloads[i].default_iters;
    if (argc == 3) {
      char *end;
      errno = 0;
      iters = strtoul(argv[2], &end, 10);
      if (errno != 0 || end == argv[2] || *end != '\0' || iters == 0 || argv[2][0] == '-') {
        fprintf(stderr, "lwbench: bad iteration count '%s'\n", argv[2]);
        return 2;
      }
    }
    workloads[i].run(iters);
    return 0;
  }
  fprintf(stderr, "lwbench: unknown workload '%s' (try: lwbench list)\n", argv[1]);
  return 2;
}
