/* "Never cry wolf" (issue 17): findings leakwatch must not make, and the
 * ones it must. argv[1] picks the case; every call's return code is printed
 * (unbuffered) so a run with and without the shim can be compared.
 *
 * Forks:
 *   fork_clean:     main takes A then B, then B then A (a lock-order
 *                   inversion), forks; the child does nothing and exits 0.
 *                   Prints "child status N".
 *   fork_repeat:    main unlocks M it does not hold (in bad_unlock), forks;
 *                   the child makes the same mistake from the same site.
 * Destroying what nobody is blocked on any more:
 *   cond_broadcast: 4 threads wait on C; main broadcasts and destroys C
 *                   while it still holds the mutex (the woken waiters
 *                   cannot have returned). 20 rounds.
 *   cond_signal:    1 waiter, signalled, then C destroyed the same way.
 *   barrier:        a barrier of 3 (2 threads + main) trips; main destroys
 *                   it at once. 20 rounds.
 *   cond_partial:   3 waiters (timed, 300 ms); main signals once and
 *                   destroys C holding the mutex: 2 are still blocked.
 * Ends of threads:
 *   exit_cleanup:   a thread takes M and calls pthread_exit; its cleanup
 *                   handler unlocks M.
 *   tsd_rearm:      a thread takes M and returns; a key's destructor
 *                   re-arms itself until the last destructor round, then
 *                   unlocks M.
 *   tsd_mixed:      a thread takes M (unlocked by the re-arming destructor
 *                   in the last round) and M2 in a cleanup handler, which
 *                   it never unlocks: it ends holding M2 only.
 *   robust:         a thread dies holding a robust mutex R; main locks it
 *                   (EOWNERDEAD), makes it consistent and unlocks it.
 *   robust_mixed:   a thread dies holding robust R and a normal M.
 * rwlocks:
 *   rw_bad_unlock:  main unlocks W nobody holds, then destroys W (legal).
 *   rw_bad_then_rd: main unlocks W nobody holds; T1 read-locks W; main
 *                   destroys W while T1 holds it.
 *   rw_wr_rd:       main write-locks W, then read-locks it (EDEADLK).
 *   rw_ok:          read lock twice, write after read is released.
 * Joins and detaches:
 *   detach_joined:  a thread is joined, then detached (a dead handle).
 *   detach_reused:  a thread is joined; a new one (same handle) detached.
 * Call sites:
 *   shared_helper:  three different unlock mistakes made through one
 *                   helper (unlock_it) from three callers: C nobody holds,
 *                   O held by T1, T nobody holds.
 *   helper_ok:      the same helper used correctly from three callers.
 * Cancellation:
 *   cancel_pending: T1, with a cancel pending, unlocks M it does not hold,
 *                   then reaches pthread_testcancel. Prints "past N".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER, m2 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t checked; /* error-checking */
static pthread_rwlock_t w = PTHREAD_RWLOCK_INITIALIZER;

static void init_checked(void) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&checked, &attr);
  pthread_mutexattr_destroy(&attr);
}

/* ---- forks ---- */

static __attribute__((noinline)) void bad_unlock(void) {
  printf("unlock %d\n", pthread_mutex_unlock(&checked));
}

static int fork_case(const char *mode) {
  if (strcmp(mode, "fork_clean") == 0) {
    pthread_mutex_lock(&a);
    pthread_mutex_lock(&b);
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);
    pthread_mutex_lock(&b);
    pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a);
    pthread_mutex_unlock(&b);
  } else {
    bad_unlock();
  }
  pid_t child = fork();
  if (child == 0) {
    if (strcmp(mode, "fork_repeat") == 0)
      bad_unlock();
    return 0;
  }
  int status = 0;
  waitpid(child, &status, 0);
  printf("child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}

/* ---- destroying condition variables and barriers ---- */

static pthread_cond_t c;
static int go, ready;
static long timeout_ms;

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

static void *cond_waiter(void *arg) {
  pthread_mutex_lock(&m);
  ready++;
  struct timespec until = in_ms(timeout_ms);
  int rc = 0;
  while (!go && rc == 0)
    rc = timeout_ms ? pthread_cond_timedwait(&c, &m, &until) : pthread_cond_wait(&c, &m);
  pthread_mutex_unlock(&m);
  return arg;
}

/* `waiters` threads wait on c; main wakes `wake` of them (-1: broadcast)
 * and destroys c while it holds the mutex. */
static void cond_round(int waiters, int wake) {
  pthread_t t[8];
  pthread_cond_init(&c, NULL);
  go = 0;
  ready = 0;
  for (int i = 0; i < waiters; i++)
    pthread_create(&t[i], NULL, cond_waiter, NULL);
  for (;;) { /* all in their wait: each released m inside it */
    pthread_mutex_lock(&m);
    if (ready == waiters)
      break;
    pthread_mutex_unlock(&m);
    usleep(1000);
  }
  go = wake < 0 || wake >= waiters;
  int rc = wake < 0 ? pthread_cond_broadcast(&c) : pthread_cond_signal(&c);
  int destroyed = pthread_cond_destroy(&c); /* glibc waits for the woken */
  pthread_mutex_unlock(&m);
  for (int i = 0; i < waiters; i++)
    pthread_join(t[i], NULL);
  if (rc || destroyed)
    printf("wake %d destroy %d\n", rc, destroyed);
}

static pthread_barrier_t barrier;

static void *barrier_waiter(void *arg) {
  pthread_barrier_wait(&barrier);
  return arg;
}

static void barrier_round(void) {
  pthread_t t[2];
  pthread_barrier_init(&barrier, NULL, 3);
  for (int i = 0; i < 2; i++)
    pthread_create(&t[i], NULL, barrier_waiter, NULL);
  usleep(2000); /* let them arrive: main is the last */
  pthread_barrier_wait(&barrier);
  int rc = pthread_barrier_destroy(&barrier);
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  if (rc)
    printf("barrier destroy %d\n", rc);
}

/* ---- ends of threads ---- */

static pthread_key_t key;

static void unlock_m(void *arg) {
  (void)arg;
  pthread_mutex_unlock(&m);
}

static void rearm(void *value) {
  /* Until the last round (PTHREAD_DESTRUCTOR_ITERATIONS), set again. */
  long round = (long)value;
  if (round < PTHREAD_DESTRUCTOR_ITERATIONS)
    pthread_setspecific(key, (void *)(round + 1));
  else
    pthread_mutex_unlock(&m);
}

static __attribute__((noinline)) void take_m2(void *arg) {
  (void)arg;
  pthread_mutex_lock(&m2); /* and never unlock it */
}

static void *exit_cleanup(void *arg) {
  pthread_mutex_lock(&m);
  pthread_cleanup_push(unlock_m, NULL);
  pthread_exit(arg);
  pthread_cleanup_pop(0);
  return arg;
}

static void *tsd_rearm(void *arg) {
  pthread_mutex_lock(&m);
  pthread_setspecific(key, (void *)1L);
  return arg;
}

static void *tsd_mixed(void *arg) {
  pthread_mutex_lock(&m);
  pthread_setspecific(key, (void *)1L);
  pthread_cleanup_push(take_m2, NULL);
  pthread_exit(arg);
  pthread_cleanup_pop(0);
  return arg;
}

static pthread_mutex_t robust;

static void *die_holding_robust(void *arg) {
  printf("T1 lock %d\n", pthread_mutex_lock(&robust));
  if (arg)
    pthread_mutex_lock(&m);
  return NULL;
}

static void robust_case(int mixed) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&robust, &attr);
  pthread_t t;
  pthread_create(&t, NULL, die_holding_robust, mixed ? &t : NULL);
  pthread_join(t, NULL);
  int rc = pthread_mutex_lock(&robust);
  printf("lock %d\n", rc);
  if (rc == EOWNERDEAD)
    printf("consistent %d\n", pthread_mutex_consistent(&robust));
  printf("unlock %d\n", pthread_mutex_unlock(&robust));
  printf("destroy %d\n", pthread_mutex_destroy(&robust));
}

/* ---- rwlocks ---- */

static __attribute__((noinline)) void read_lock_w(void) {
  printf("T1 rdlock %d\n", pthread_rwlock_rdlock(&w));
}

static pthread_barrier_t step;

static void *reader(void *arg) {
  read_lock_w();
  pthread_barrier_wait(&step);
  pthread_barrier_wait(&step); /* main destroys meanwhile */
  return arg;
}

static __attribute__((noinline)) void destroy_w(void) {
  printf("destroy %d\n", pthread_rwlock_destroy(&w));
}

static __attribute__((noinline)) void write_then_read(void) {
  printf("wrlock %d\n", pthread_rwlock_wrlock(&w));
  printf("rdlock %d\n", pthread_rwlock_rdlock(&w));
  printf("unlock %d\n", pthread_rwlock_unlock(&w));
}

/* ---- joins and detaches ---- */

static void *quick(void *arg) { return arg; }

static __attribute__((noinline)) void detach_it(pthread_t t) {
  printf("detach %d\n", pthread_detach(t));
}

/* ---- call sites ---- */

static __attribute__((noinline)) int unlock_it(pthread_mutex_t *mutex) {
  return pthread_mutex_unlock(mutex);
}

static pthread_mutex_t other_checked;

static void *hold_other(void *arg) {
  pthread_mutex_lock(&other_checked);
  pthread_barrier_wait(&step);
  pthread_barrier_wait(&step);
  pthread_mutex_unlock(&other_checked);
  return arg;
}

static pthread_mutex_t third_checked;

static __attribute__((noinline)) void first_caller(void) {
  printf("first %d\n", unlock_it(&checked));
}
static __attribute__((noinline)) void second_caller(void) {
  printf("second %d\n", unlock_it(&other_checked));
}
static __attribute__((noinline)) void third_caller(void) {
  printf("third %d\n", unlock_it(&third_checked));
}
static __attribute__((noinline)) void good_caller(int i) {
  pthread_mutex_lock(&checked);
  printf("good %d %d\n", i, unlock_it(&checked));
}

/* ---- cancellation ---- */

static atomic_int cancel_sent, past;

static void *cancel_target(void *arg) {
  while (!atomic_load(&cancel_sent))
    ;                             /* no cancellation point */
  pthread_mutex_unlock(&checked); /* misuse, with a cancel pending */
  atomic_store(&past, 1);
  pthread_testcancel();
  return arg;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  init_checked();
  const char *mode = argc > 1 ? argv[1] : "";
  if (strncmp(mode, "fork_", 5) == 0)
    return fork_case(mode);
  if (strcmp(mode, "cond_broadcast") == 0) {
    for (int i = 0; i < 20; i++)
      cond_round(4, -1);
  } else if (strcmp(mode, "cond_signal") == 0) {
    for (int i = 0; i < 20; i++)
      cond_round(1, 1);
  } else if (strcmp(mode, "cond_partial") == 0) {
    timeout_ms = 300;
    printf("C %p\n", (void *)&c);
    cond_round(3, 1);
  } else if (strcmp(mode, "barrier") == 0) {
    for (int i = 0; i < 20; i++)
      barrier_round();
  } else if (strcmp(mode, "exit_cleanup") == 0 || strcmp(mode, "tsd_rearm") == 0 ||
             strcmp(mode, "tsd_mixed") == 0) {
    pthread_key_create(&key, rearm);
    printf("M %p\nM2 %p\n", (void *)&m, (void *)&m2);
    pthread_t t;
    pthread_create(&t, NULL,
                   mode[0] == 'e'   ? exit_cleanup
                   : mode[4] == 'r' ? tsd_rearm
                                    : tsd_mixed,
                   NULL);
    pthread_join(t, NULL);
    printf("trylock %d\n", pthread_mutex_trylock(&m));
  } else if (strcmp(mode, "robust") == 0 || strcmp(mode, "robust_mixed") == 0) {
    printf("M %p\n", (void *)&m);
    robust_case(mode[6] == '_');
  } else if (strcmp(mode, "rw_bad_unlock") == 0) {
    printf("W %p\n", (void *)&w);
    printf("unlock %d\n", pthread_rwlock_unlock(&w));
    destroy_w();
  } else if (strcmp(mode, "rw_bad_then_rd") == 0) {
    printf("W %p\n", (void *)&w);
    printf("unlock %d\n", pthread_rwlock_unlock(&w));
    pthread_barrier_init(&step, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    pthread_barrier_wait(&step);
    destroy_w();
    pthread_barrier_wait(&step);
    pthread_join(t, NULL);
  } else if (strcmp(mode, "rw_wr_rd") == 0) {
    printf("W %p\n", (void *)&w);
    write_then_read();
  } else if (strcmp(mode, "rw_ok") == 0) {
    printf("rdlock %d\n", pthread_rwlock_rdlock(&w));
    printf("rdlock %d\n", pthread_rwlock_rdlock(&w));
    printf("unlock %d\n", pthread_rwlock_unlock(&w));
    printf("unlock %d\n", pthread_rwlock_unlock(&w));
    printf("wrlock %d\n", pthread_rwlock_wrlock(&w));
    printf("unlock %d\n", pthread_rwlock_unlock(&w));
    printf("rdlock %d\n", pthread_rwlock_rdlock(&w));
    printf("unlock %d\n", pthread_rwlock_unlock(&w));
    printf("destroy %d\n", pthread_rwlock_destroy(&w));
  } else if (strcmp(mode, "detach_joined") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, quick, NULL);
    printf("join %d\n", pthread_join(t, NULL));
    detach_it(t);
  } else if (strcmp(mode, "detach_reused") == 0) {
    pthread_t t, u;
    pthread_create(&t, NULL, quick, NULL);
    printf("join %d\n", pthread_join(t, NULL));
    pthread_create(&u, NULL, quick, NULL);
    printf("reused %d\n", pthread_equal(t, u) != 0);
    detach_it(u);
    usleep(20000);
  } else if (strcmp(mode, "shared_helper") == 0) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&other_checked, &attr);
    pthread_mutex_init(&third_checked, &attr);
    pthread_barrier_init(&step, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, hold_other, NULL);
    pthread_barrier_wait(&step);
    printf("C %p\nO %p\nT %p\n", (void *)&checked, (void *)&other_checked, (void *)&third_checked);
    first_caller();
    second_caller();
    third_caller();
    pthread_barrier_wait(&step);
    pthread_join(t, NULL);
  } else if (strcmp(mode, "helper_ok") == 0) {
    for (int i = 0; i < 3; i++)
      good_caller(i);
  } else if (strcmp(mode, "cancel_pending") == 0) {
    printf("C %p\n", (void *)&checked);
    pthread_t t;
    pthread_create(&t, NULL, cancel_target, NULL);
    usleep(10000);
    pthread_cancel(t);
    atomic_store(&cancel_sent, 1);
    void *result;
    pthread_join(t, &result);
    printf("past %d cancelled %d\n", atomic_load(&past), result == PTHREAD_CANCELED);
  } else {
    fprintf(stderr, "unknown case '%s'\n", mode);
    return 2;
  }
  return 0;
}
