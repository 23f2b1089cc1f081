/* Mutex return values that leakwatch must pass through unchanged; argv[1]
 * picks the case, which prints every return value:
 *   robust:    a robust mutex whose owner (T1) returns without unlocking:
 *              the next locker gets EOWNERDEAD, pthread_mutex_consistent
 *              returns 0, unlock and relock work.
 *   errorcheck: an error-checking mutex relocked by its owner returns
 *              EDEADLK; unlocking it from another thread returns EPERM.
 *   recursive: a recursive mutex locked 3 times and unlocked 3 times: all
 *              0, and another thread can then take it (trylock 0).
 *   trylock:   trylock on a mutex held by another thread returns EBUSY.
 *   timedlock_past: pthread_mutex_timedlock with a deadline in the past on
 *              a mutex held by another thread returns ETIMEDOUT.
 * With "threaded" as argv[2], main first runs a thread to its end, so the
 * process is no longer single-threaded when main locks (the shim locks
 * differently then: intercept_mutex.c).
 * Output and status (0) must be the same with and without leakwatch.
 * robust and errorcheck contain real misuse (a thread ends holding a
 * mutex; an unlock by a non-owner), which leakwatch may report; the other
 * cases must report nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static sem_t held, release;
static int other_rc = -1;

static const char *name(int rc) {
  switch (rc) {
  case 0:
    return "0";
  case EBUSY:
    return "EBUSY";
  case EDEADLK:
    return "EDEADLK";
  case EPERM:
    return "EPERM";
  case ETIMEDOUT:
    return "ETIMEDOUT";
  case EOWNERDEAD:
    return "EOWNERDEAD";
  case ENOTRECOVERABLE:
    return "ENOTRECOVERABLE";
  default:
    return strerror(rc);
  }
}

static void init_mutex(int type, int robust) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, type);
  if (robust)
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&mutex, &attr);
  pthread_mutexattr_destroy(&attr);
}

static void *lock_and_vanish(void *arg) {
  (void)arg;
  other_rc = pthread_mutex_lock(&mutex);
  return NULL; /* ends holding the mutex */
}

/* Holds the mutex until main posts `release`. */
static void *hold_until_released(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mutex);
  sem_post(&held);
  sem_wait(&release);
  pthread_mutex_unlock(&mutex);
  return NULL;
}

static void *unlock_not_mine(void *arg) {
  (void)arg;
  other_rc = pthread_mutex_unlock(&mutex);
  return NULL;
}

static void *try_take(void *arg) {
  (void)arg;
  other_rc = pthread_mutex_trylock(&mutex);
  if (other_rc == 0)
    pthread_mutex_unlock(&mutex);
  return NULL;
}

static void *return_at_once(void *arg) { return arg; }

static void run_thread(void *(*routine)(void *)) {
  pthread_t thread;
  pthread_create(&thread, NULL, routine, NULL);
  pthread_join(thread, NULL);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  sem_init(&held, 0, 0);
  sem_init(&release, 0, 0);
  if (argc > 2 && strcmp(argv[2], "threaded") == 0)
    run_thread(return_at_once);
  if (strcmp(mode, "robust") == 0) {
    init_mutex(PTHREAD_MUTEX_NORMAL, 1);
    run_thread(lock_and_vanish);
    printf("owner lock: %s\n", name(other_rc));
    printf("next lock: %s\n", name(pthread_mutex_lock(&mutex)));
    printf("consistent: %s\n", name(pthread_mutex_consistent(&mutex)));
    printf("unlock: %s\n", name(pthread_mutex_unlock(&mutex)));
    printf("relock: %s\n", name(pthread_mutex_lock(&mutex)));
    printf("unlock: %s\n", name(pthread_mutex_unlock(&mutex)));
  } else if (strcmp(mode, "errorcheck") == 0) {
    init_mutex(PTHREAD_MUTEX_ERRORCHECK, 0);
    printf("lock: %s\n", name(pthread_mutex_lock(&mutex)));
    printf("relock: %s\n", name(pthread_mutex_lock(&mutex)));
    run_thread(unlock_not_mine);
    printf("unlock by another thread: %s\n", name(other_rc));
    printf("unlock: %s\n", name(pthread_mutex_unlock(&mutex)));
  } else if (strcmp(mode, "recursive") == 0) {
    init_mutex(PTHREAD_MUTEX_RECURSIVE, 0);
    for (int i = 1; i <= 3; i++)
      printf("lock %d: %s\n", i, name(pthread_mutex_lock(&mutex)));
    for (int i = 1; i <= 3; i++)
      printf("unlock %d: %s\n", i, name(pthread_mutex_unlock(&mutex)));
    run_thread(try_take);
    printf("another thread's trylock: %s\n", name(other_rc));
  } else if (strcmp(mode, "trylock") == 0) {
    pthread_t thread;
    pthread_create(&thread, NULL, hold_until_released, NULL);
    sem_wait(&held);
    printf("trylock: %s\n", name(pthread_mutex_trylock(&mutex)));
    sem_post(&release);
    pthread_join(thread, NULL);
    printf("trylock after release: %s\n", name(pthread_mutex_trylock(&mutex)));
    printf("unlock: %s\n", name(pthread_mutex_unlock(&mutex)));
  } else if (strcmp(mode, "timedlock_past") == 0) {
    pthread_t thread;
    pthread_create(&thread, NULL, hold_until_released, NULL);
    sem_wait(&held);
    struct timespec past;
    clock_gettime(CLOCK_REALTIME, &past);
    past.tv_sec -= 1;
    printf("timedlock: %s\n", name(pthread_mutex_timedlock(&mutex, &past)));
    sem_post(&release);
    pthread_join(thread, NULL);
    printf("timedlock after release: %s\n", name(pthread_mutex_timedlock(&mutex, &past)));
    printf("unlock: %s\n", name(pthread_mutex_unlock(&mutex)));
  } else {
    fprintf(stderr, "usage: %s robust|errorcheck|recursive|trylock|timedlock_past [threaded]\n",
            argv[0]);
    return 2;
  }
  return 0;
}
