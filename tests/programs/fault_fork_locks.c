/* fork from a multi-threaded program while other threads hold locks, are
 * blocked, and create threads (so the shim's own locks and records are
 * busy at the moment of fork).
 *
 * Parent threads, all running until the forks are done:
 *   holder (x2):  lock "held_a"/"held_b", sleep 200 us holding it, unlock;
 *   reader:       pthread_rwlock_rdlock "rw", sleep 200 us, unlock;
 *   churner:      creates and joins short threads (churn_child) in a loop;
 *   waiter:       blocked in pthread_cond_wait on "never" until the end;
 *   forker:       a worker that forks too (forks from a non-main thread).
 * main and forker fork FORKS children between them (argv[1], default 40). Each child (only the
 * forking thread exists there) must not touch the parent threads' locks;
 * it starts CHILD_THREADS threads that lock and unlock a fresh mutex, wait
 * on a condition variable and a barrier, joins them, and exits with
 * exit(0) (from main's thread or from the forker's). The parent waits for
 * every child with a deadline of 3 s (a child stuck in the shim would
 * hang), then stops and joins its threads. After 3 children failed or hung
 * it forks no more.
 *
 * Output: "children FORKS ok FORKS hung 0 failed 0". Exit status 0. Under
 * leakwatch every child writes its own report (clean: status 0), and so
 * does the parent (clean). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int FORKS = 40; /* argv[1] */
#define CHILD_THREADS 3

static pthread_mutex_t held_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t held_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t never_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static atomic_int stop;
static int released;

static atomic_int ok, hung, failed;
static atomic_int forked_by_main, forked_by_forker;

/* --- in the child -------------------------------------------------------- */

static pthread_mutex_t child_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t child_cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t child_barrier;
static int child_count;

static void *child_worker(void *arg) {
  (void)arg;
  for (int i = 0; i < 100; i++) {
    pthread_mutex_lock(&child_mutex);
    child_count++;
    pthread_cond_broadcast(&child_cond);
    pthread_mutex_unlock(&child_mutex);
  }
  pthread_barrier_wait(&child_barrier);
  return NULL;
}

static void child_main(void) {
  /* A fresh mutex/cond/barrier: the parent's held_a/held_b may be locked
   * by threads that do not exist here. */
  pthread_mutex_init(&child_mutex, NULL);
  pthread_cond_init(&child_cond, NULL);
  pthread_barrier_init(&child_barrier, NULL, CHILD_THREADS + 1);
  child_count = 0;
  pthread_t threads[CHILD_THREADS];
  for (int i = 0; i < CHILD_THREADS; i++)
    if (pthread_create(&threads[i], NULL, child_worker, NULL) != 0)
      _exit(11);
  pthread_mutex_lock(&child_mutex);
  while (child_count < 100 * CHILD_THREADS)
    pthread_cond_wait(&child_cond, &child_mutex);
  pthread_mutex_unlock(&child_mutex);
  pthread_barrier_wait(&child_barrier);
  for (int i = 0; i < CHILD_THREADS; i++)
    if (pthread_join(threads[i], NULL) != 0)
      _exit(12);
  pthread_barrier_destroy(&child_barrier);
  exit(child_count == 100 * CHILD_THREADS ? 0 : 13);
}

/* --- in the parent --------------------------------------------------------- */

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

static void *holder(void *arg) {
  pthread_mutex_t *m = arg;
  while (!atomic_load(&stop)) {
    pthread_mutex_lock(m);
    sleep_us(200);
    pthread_mutex_unlock(m);
    sleep_us(50);
  }
  return NULL;
}

static void *reader(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    pthread_rwlock_rdlock(&rw);
    sleep_us(200);
    pthread_rwlock_unlock(&rw);
    sleep_us(50);
  }
  return NULL;
}

static void *churn_child(void *arg) { return arg; }

static void *churner(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    pthread_t t;
    if (pthread_create(&t, NULL, churn_child, NULL) == 0)
      pthread_join(t, NULL);
  }
  return NULL;
}

static void *waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&never_mutex);
  while (!released)
    pthread_cond_wait(&never, &never_mutex);
  pthread_mutex_unlock(&never_mutex);
  return NULL;
}

/* Fork one child and wait for it, at most 3 s. */
static void fork_one(void) {
  if (atomic_load(&hung) + atomic_load(&failed) >= 3)
    return; /* enough evidence: stop early */
  pid_t pid = fork();
  if (pid < 0) {
    atomic_fetch_add(&failed, 1);
    return;
  }
  if (pid == 0)
    child_main(); /* never returns */
  for (int waited_ms = 0;; waited_ms += 2) {
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        atomic_fetch_add(&ok, 1);
      else {
        fprintf(stderr, "child %d: %s %d\n", (int)pid, WIFEXITED(status) ? "exit" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        atomic_fetch_add(&failed, 1);
      }
      return;
    }
    if (waited_ms >= 3000) {
      fprintf(stderr, "child %d hung\n", (int)pid);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      atomic_fetch_add(&hung, 1);
      return;
    }
    sleep_us(2000);
  }
}

static void *forker(void *arg) {
  (void)arg;
  for (int i = 0; i < FORKS / 2; i++) {
    fork_one();
    atomic_fetch_add(&forked_by_forker, 1);
    sleep_us(300);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1)
    FORKS = atoi(argv[1]);
  pthread_t threads[6];
  pthread_create(&threads[0], NULL, holder, &held_a);
  pthread_create(&threads[1], NULL, holder, &held_b);
  pthread_create(&threads[2], NULL, reader, NULL);
  pthread_create(&threads[3], NULL, churner, NULL);
  pthread_create(&threads[4], NULL, waiter, NULL);
  sleep_us(5000);
  fflush(stdout);
  pthread_create(&threads[5], NULL, forker, NULL);
  for (int i = 0; i < FORKS - FORKS / 2; i++) {
    fork_one();
    atomic_fetch_add(&forked_by_main, 1);
    sleep_us(300);
  }
  pthread_join(threads[5], NULL);
  atomic_store(&stop, 1);
  pthread_mutex_lock(&never_mutex);
  released = 1;
  pthread_cond_broadcast(&never);
  pthread_mutex_unlock(&never_mutex);
  for (int i = 0; i < 5; i++)
    pthread_join(threads[i], NULL);
  if (atomic_load(&ok) != FORKS)
    fprintf(stderr, "forks: %d by main, %d by the forker\n", atomic_load(&forked_by_main),
            atomic_load(&forked_by_forker));
  printf("children %d ok %d hung %d failed %d\n", FORKS, atomic_load(&ok), atomic_load(&hung),
         atomic_load(&failed));
  return atomic_load(&ok) == FORKS ? 0 : 1;
}
