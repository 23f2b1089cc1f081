/* Correct (if sometimes unusual) use of every primitive: nothing here is
 * misuse. argv[1] picks one case, "all" runs every one:
 *   sem_cross:      a semaphore posted by one thread and waited on by
 *                   another (ping-pong, 1000 rounds each way);
 *   recursive:      a recursive mutex locked 3 times and unlocked 3 times,
 *                   in main and in a thread, plus a recursive mtx_t;
 *   hand_over_hand: locks released in a different order than taken: a list
 *                   walked hand over hand by 2 threads, and A, B taken then
 *                   A released before B;
 *   cond_many:      8 threads wait on one condition variable with the same
 *                   mutex; broadcasts and signals wake them (3 rounds);
 *   reinit:         a mutex, rwlock, condition variable, semaphore and
 *                   barrier destroyed after use (unlocked, no waiters) and
 *                   initialised again, 3 times;
 *   detach_running: a running thread detached once; it then finishes;
 *   tryjoin:        pthread_tryjoin_np on a running thread (EBUSY), then
 *                   pthread_join; pthread_timedjoin_np timing out, then join;
 *   reuse:          100 threads created and joined one after another
 *                   (glibc hands the same pthread_t out again);
 *   primitives:     the rest: errorcheck and normal mutexes, trylock and
 *                   timedlock, rwlock shared by 2 readers at once then
 *                   written, cond timedwait timing out, sem trywait and
 *                   timedwait, a barrier of 3 for 5 rounds, C11 mtx/cnd/thrd
 *                   (thrd_join, thrd_detach), pthread_once.
 * Prints "<case> ok" lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#define CHECK(expr)                                                                                \
  do {                                                                                             \
    if (!(expr)) {                                                                                 \
      printf("FAILED %s at line %d\n", #expr, __LINE__);                                           \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

static struct timespec in_ms(long ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

/* ---- sem_cross ---- */
static sem_t ping, pong;

static void *ponger(void *arg) {
  for (int i = 0; i < 1000; i++) {
    sem_wait(&ping);
    sem_post(&pong);
  }
  return arg;
}

static void sem_cross(void) {
  sem_init(&ping, 0, 0);
  sem_init(&pong, 0, 0);
  pthread_t t;
  pthread_create(&t, NULL, ponger, NULL);
  for (int i = 0; i < 1000; i++) {
    sem_post(&ping);
    sem_wait(&pong);
  }
  pthread_join(t, NULL);
  CHECK(sem_destroy(&ping) == 0 && sem_destroy(&pong) == 0);
  printf("sem_cross ok\n");
}

/* ---- recursive ---- */
static pthread_mutex_t rec;
static mtx_t rec_c11;

static void lock3_unlock3(void) {
  for (int i = 0; i < 3; i++)
    CHECK(pthread_mutex_lock(&rec) == 0);
  CHECK(pthread_mutex_trylock(&rec) == 0);
  CHECK(pthread_mutex_unlock(&rec) == 0);
  for (int i = 0; i < 3; i++)
    CHECK(pthread_mutex_unlock(&rec) == 0);
  for (int i = 0; i < 3; i++)
    CHECK(mtx_lock(&rec_c11) == thrd_success);
  for (int i = 0; i < 3; i++)
    CHECK(mtx_unlock(&rec_c11) == thrd_success);
}

static void *recursive_thread(void *arg) {
  for (int i = 0; i < 100; i++)
    lock3_unlock3();
  return arg;
}

static void recursive(void) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&rec, &attr);
  CHECK(mtx_init(&rec_c11, mtx_plain | mtx_recursive) == thrd_success);
  pthread_t t;
  pthread_create(&t, NULL, recursive_thread, NULL);
  for (int i = 0; i < 100; i++)
    lock3_unlock3();
  pthread_join(t, NULL);
  CHECK(pthread_mutex_destroy(&rec) == 0);
  mtx_destroy(&rec_c11);
  printf("recursive ok\n");
}

/* ---- hand_over_hand ---- */
#define NODES 10
static struct node {
  pthread_mutex_t lock;
  long value;
} nodes[NODES];

static void *walker(void *arg) {
  for (int round = 0; round < 500; round++) {
    pthread_mutex_lock(&nodes[0].lock);
    for (int i = 1; i < NODES; i++) {
      pthread_mutex_lock(&nodes[i].lock);
      nodes[i].value += nodes[i - 1].value & 1;
      pthread_mutex_unlock(&nodes[i - 1].lock); /* not the last taken */
    }
    pthread_mutex_unlock(&nodes[NODES - 1].lock);
  }
  return arg;
}

static void hand_over_hand(void) {
  for (int i = 0; i < NODES; i++) {
    pthread_mutex_init(&nodes[i].lock, NULL);
    nodes[i].value = i;
  }
  pthread_t t1, t2;
  pthread_create(&t1, NULL, walker, NULL);
  pthread_create(&t2, NULL, walker, NULL);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
  pthread_rwlock_t ra = PTHREAD_RWLOCK_INITIALIZER, rb = PTHREAD_RWLOCK_INITIALIZER;
  for (int i = 0; i < 10; i++) {
    CHECK(pthread_mutex_lock(&a) == 0 && pthread_mutex_lock(&b) == 0);
    CHECK(pthread_mutex_unlock(&a) == 0 && pthread_mutex_unlock(&b) == 0);
    CHECK(pthread_rwlock_rdlock(&ra) == 0 && pthread_rwlock_wrlock(&rb) == 0);
    CHECK(pthread_rwlock_unlock(&ra) == 0 && pthread_rwlock_unlock(&rb) == 0);
  }
  for (int i = 0; i < NODES; i++)
    CHECK(pthread_mutex_destroy(&nodes[i].lock) == 0);
  printf("hand_over_hand ok\n");
}

/* ---- cond_many ---- */
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int generation, arrived, woken;

static void *cond_waiter(void *arg) {
  for (int round = 0; round < 3; round++) {
    pthread_mutex_lock(&cm);
    int mine = generation;
    arrived++;
    while (generation == mine)
      pthread_cond_wait(&cv, &cm);
    woken++;
    pthread_mutex_unlock(&cm);
  }
  return arg;
}

static void cond_many(void) {
  pthread_t t[8];
  for (int i = 0; i < 8; i++)
    pthread_create(&t[i], NULL, cond_waiter, NULL);
  for (int round = 0; round < 3; round++) {
    for (;;) {
      pthread_mutex_lock(&cm);
      int all = arrived == 8 * (round + 1);
      if (all) {
        generation++;
        if (round == 1)
          for (int i = 0; i < 8; i++)
            pthread_cond_signal(&cv);
        else
          pthread_cond_broadcast(&cv);
      }
      pthread_mutex_unlock(&cm);
      if (all)
        break;
      usleep(1000);
    }
  }
  for (int i = 0; i < 8; i++)
    pthread_join(t[i], NULL);
  CHECK(woken == 24);
  CHECK(pthread_cond_destroy(&cv) == 0);
  printf("cond_many ok\n");
}

/* ---- reinit ---- */
static void *barrier_member(void *arg) {
  pthread_barrier_wait(arg);
  return NULL;
}

static void reinit(void) {
  pthread_mutex_t m;
  pthread_rwlock_t rw;
  pthread_cond_t c;
  sem_t s;
  pthread_barrier_t b;
  for (int i = 0; i < 3; i++) {
    CHECK(pthread_mutex_init(&m, NULL) == 0);
    CHECK(pthread_rwlock_init(&rw, NULL) == 0);
    CHECK(pthread_cond_init(&c, NULL) == 0);
    CHECK(sem_init(&s, 0, 1) == 0);
    CHECK(pthread_barrier_init(&b, NULL, 2) == 0);
    CHECK(pthread_mutex_lock(&m) == 0);
    struct timespec soon = in_ms(5);
    CHECK(pthread_cond_timedwait(&c, &m, &soon) == ETIMEDOUT);
    CHECK(pthread_mutex_unlock(&m) == 0);
    CHECK(pthread_rwlock_wrlock(&rw) == 0 && pthread_rwlock_unlock(&rw) == 0);
    CHECK(sem_wait(&s) == 0 && sem_post(&s) == 0);
    pthread_t t;
    pthread_create(&t, NULL, barrier_member, &b);
    pthread_barrier_wait(&b);
    pthread_join(t, NULL);
    CHECK(pthread_mutex_destroy(&m) == 0);
    CHECK(pthread_rwlock_destroy(&rw) == 0);
    CHECK(pthread_cond_destroy(&c) == 0);
    CHECK(sem_destroy(&s) == 0);
    CHECK(pthread_barrier_destroy(&b) == 0);
  }
  printf("reinit ok\n");
}

/* ---- detach_running ---- */
static sem_t release, finished;

static void *detached_worker(void *arg) {
  sem_wait(&release);
  sem_post(&finished);
  return arg;
}

static void detach_running(void) {
  sem_init(&release, 0, 0);
  sem_init(&finished, 0, 0);
  pthread_t t;
  pthread_create(&t, NULL, detached_worker, NULL);
  CHECK(pthread_detach(t) == 0);
  sem_post(&release);
  sem_wait(&finished);
  usleep(100 * 1000); /* it returns and ends */
  printf("detach_running ok\n");
}

/* ---- tryjoin ---- */
static void *slow_worker(void *arg) {
  sem_wait(arg);
  return (void *)42;
}

static void tryjoin(void) {
  sem_t go;
  sem_init(&go, 0, 0);
  pthread_t t;
  void *result = NULL;
  pthread_create(&t, NULL, slow_worker, &go);
  CHECK(pthread_tryjoin_np(t, &result) == EBUSY);
  struct timespec soon = in_ms(20);
  CHECK(pthread_timedjoin_np(t, &result, &soon) == ETIMEDOUT);
  sem_post(&go);
  CHECK(pthread_join(t, &result) == 0 && result == (void *)42);
  /* tryjoin that succeeds, after the thread ended */
  pthread_create(&t, NULL, slow_worker, &go);
  sem_post(&go);
  int rc;
  while ((rc = pthread_tryjoin_np(t, &result)) == EBUSY)
    usleep(1000);
  CHECK(rc == 0 && result == (void *)42);
  sem_destroy(&go);
  printf("tryjoin ok\n");
}

/* ---- reuse ---- */
static void *quick(void *arg) { return arg; }

static void reuse(void) {
  pthread_t seen[100];
  int reused = 0;
  for (int i = 0; i < 100; i++) {
    CHECK(pthread_create(&seen[i], NULL, quick, (void *)(long)i) == 0);
    void *result;
    CHECK(pthread_join(seen[i], &result) == 0 && result == (void *)(long)i);
    for (int k = 0; k < i; k++)
      reused |= pthread_equal(seen[k], seen[i]);
  }
  printf("reuse ok %s\n", reused ? "(handles reused)" : "(no handle reused)");
}

/* ---- primitives ---- */
static pthread_rwlock_t shared = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t three;
static atomic_int readers_in;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static mtx_t c11_mutex;
static cnd_t c11_cond;
static int c11_ready;

static void once_body(void) { once_runs++; }

static void *reader(void *arg) {
  CHECK(pthread_rwlock_rdlock(&shared) == 0);
  atomic_fetch_add(&readers_in, 1);
  while (atomic_load(&readers_in) < 2) /* both readers hold it at once */
    sched_yield();
  CHECK(pthread_rwlock_unlock(&shared) == 0);
  pthread_once(&once, once_body);
  return arg;
}

static void *barrier_round(void *arg) {
  for (int i = 0; i < 5; i++)
    pthread_barrier_wait(&three);
  return arg;
}

static int c11_thread(void *arg) {
  mtx_lock(&c11_mutex);
  c11_ready = 1;
  cnd_signal(&c11_cond);
  mtx_unlock(&c11_mutex);
  return (int)(long)arg;
}

static void primitives(void) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_t ec, normal = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_init(&ec, &attr);
  CHECK(pthread_mutex_lock(&ec) == 0);
  CHECK(pthread_mutex_unlock(&ec) == 0);
  CHECK(pthread_mutex_trylock(&normal) == 0);
  CHECK(pthread_mutex_trylock(&normal) == EBUSY);
  CHECK(pthread_mutex_unlock(&normal) == 0);
  struct timespec soon = in_ms(100);
  CHECK(pthread_mutex_timedlock(&normal, &soon) == 0);
  CHECK(pthread_mutex_unlock(&normal) == 0);
  CHECK(pthread_mutex_destroy(&ec) == 0 && pthread_mutex_destroy(&normal) == 0);

  pthread_t r1, r2;
  pthread_create(&r1, NULL, reader, NULL);
  pthread_create(&r2, NULL, reader, NULL);
  pthread_join(r1, NULL);
  pthread_join(r2, NULL);
  CHECK(pthread_rwlock_wrlock(&shared) == 0 && pthread_rwlock_unlock(&shared) == 0);
  CHECK(pthread_rwlock_tryrdlock(&shared) == 0 && pthread_rwlock_unlock(&shared) == 0);
  CHECK(pthread_rwlock_trywrlock(&shared) == 0 && pthread_rwlock_unlock(&shared) == 0);
  CHECK(once_runs == 1);

  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  pthread_mutex_lock(&m);
  soon = in_ms(10);
  CHECK(pthread_cond_timedwait(&c, &m, &soon) == ETIMEDOUT);
  pthread_cond_signal(&c); /* nobody waits: fine */
  pthread_mutex_unlock(&m);

  sem_t s;
  sem_init(&s, 0, 0);
  CHECK(sem_trywait(&s) == -1 && errno == EAGAIN);
  soon = in_ms(10);
  CHECK(sem_timedwait(&s, &soon) == -1 && errno == ETIMEDOUT);
  sem_post(&s);
  CHECK(sem_trywait(&s) == 0);
  CHECK(sem_destroy(&s) == 0);

  pthread_barrier_init(&three, NULL, 3);
  pthread_t b1, b2;
  pthread_create(&b1, NULL, barrier_round, NULL);
  pthread_create(&b2, NULL, barrier_round, NULL);
  barrier_round(NULL);
  pthread_join(b1, NULL);
  pthread_join(b2, NULL);
  CHECK(pthread_barrier_destroy(&three) == 0);

  CHECK(mtx_init(&c11_mutex, mtx_timed) == thrd_success);
  CHECK(cnd_init(&c11_cond) == thrd_success);
  thrd_t ct;
  CHECK(thrd_create(&ct, c11_thread, (void *)7L) == thrd_success);
  mtx_lock(&c11_mutex);
  while (!c11_ready)
    cnd_wait(&c11_cond, &c11_mutex);
  mtx_unlock(&c11_mutex);
  int result = 0;
  CHECK(thrd_join(ct, &result) == thrd_success && result == 7);
  struct timespec later = in_ms(50);
  CHECK(mtx_timedlock(&c11_mutex, &later) == thrd_success);
  CHECK(mtx_trylock(&c11_mutex) == thrd_busy);
  mtx_unlock(&c11_mutex);
  c11_ready = 0;
  CHECK(thrd_create(&ct, c11_thread, NULL) == thrd_success);
  CHECK(thrd_detach(ct) == thrd_success);
  mtx_lock(&c11_mutex);
  while (!c11_ready)
    cnd_wait(&c11_cond, &c11_mutex);
  mtx_unlock(&c11_mutex);
  usleep(100 * 1000); /* the detached thread returns and ends */
  cnd_destroy(&c11_cond);
  mtx_destroy(&c11_mutex);
  printf("primitives ok\n");
}

static const struct {
  const char *name;
  void (*run)(void);
} cases[] = {
    {"sem_cross", sem_cross}, {"recursive", recursive}, {"hand_over_hand", hand_over_hand},
    {"cond_many", cond_many}, {"reinit", reinit},       {"detach_running", detach_running},
    {"tryjoin", tryjoin},     {"reuse", reuse},         {"primitives", primitives},
};

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *which = argc > 1 ? argv[1] : "all";
  int ran = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (strcmp(which, "all") == 0 || strcmp(which, cases[i].name) == 0) {
      cases[i].run();
      ran++;
    }
  return ran ? 0 : 2;
}
