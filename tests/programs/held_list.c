/* The held-lock list beyond the plain case: mutex kinds other than normal,
 * and nesting deeper than the list keeps. argv[1] picks the mode; main
 * prints the objects' addresses ("<label> %p"), sleeps 50 ms and returns
 * 0, leaving threads blocked (status 66 under leakwatch).
 *   kinds: T1 kinds_holder locks a recursive, an error-checking, an
 *          adaptive and a priority-inheritance mutex ("recursive",
 *          "errorcheck", "adaptive", "pi"), in that order, then parks
 *          (sem_wait on "never"). T2..T5 kind_waiter block in
 *          pthread_mutex_lock on each of them in the same order, owner 1.
 *          T1's held list is the four mutexes in order.
 *   deep:  T1 deep_holder, 1,000 times over, locks 20 mutexes (more than
 *          the list keeps) and unlocks them in a scrambled order, then
 *          runs the same with the unlocks in order; then it locks "first"
 *          and "second" and parks. Its held list must be exactly those two:
 *          nothing left over from the deep rounds. T2 blocks on "second",
 *          owner 1.
 *   destroyed: T1 destroyed_holder locks a destroyed mutex (glibc says
 *          EINVAL; it prints "lock of a destroyed mutex: <rc>"), then locks
 *          "first" and parks: its held list must be "first" alone.
 *   deep_alone, destroyed_alone: the same locking done by main (T0) before
 *          the process has any other thread (the shim's single-threaded
 *          path), main then holding the locks at exit; deep_alone's T1
 *          blocks on "second", owner 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEEP 20

static pthread_mutex_t recursive, errorcheck, adaptive, pi;
static pthread_mutex_t deep[DEEP];
static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t second = PTHREAD_MUTEX_INITIALIZER;
static sem_t never; /* never posted: parks a holder for good */
static sem_t ready; /* the holder posts it once it holds its locks */

static void init_kind(pthread_mutex_t *mutex, int type, int protocol) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, type);
  pthread_mutexattr_setprotocol(&attr, protocol);
  pthread_mutex_init(mutex, &attr);
  pthread_mutexattr_destroy(&attr);
}

static __attribute__((noinline)) void park(void) { sem_wait(&never); }

static void *kinds_holder(void *arg) {
  (void)arg;
  pthread_mutex_lock(&recursive);
  pthread_mutex_lock(&errorcheck);
  pthread_mutex_lock(&adaptive);
  pthread_mutex_lock(&pi);
  sem_post(&ready);
  park();
  return NULL;
}

static void *kind_waiter(void *mutex) {
  pthread_mutex_lock(mutex);
  pthread_mutex_unlock(mutex);
  return NULL;
}

/* The deep rounds, then "first" and "second" taken. */
static __attribute__((noinline)) void deep_rounds(void) {
  /* Visits every index once: 7 and 20 are coprime. */
  for (int round = 0; round < 1000; round++) {
    for (int i = 0; i < DEEP; i++)
      pthread_mutex_lock(&deep[i]);
    for (int i = 0; i < DEEP; i++)
      pthread_mutex_unlock(&deep[(i * 7 + round) % DEEP]);
    for (int i = 0; i < DEEP; i++)
      pthread_mutex_lock(&deep[i]);
    for (int i = 0; i < DEEP; i++)
      pthread_mutex_unlock(&deep[i]);
  }
  pthread_mutex_lock(&first);
  pthread_mutex_lock(&second);
}

static void *deep_holder(void *arg) {
  (void)arg;
  deep_rounds();
  sem_post(&ready);
  park();
  return NULL;
}

/* A lock of a destroyed mutex, then "first" taken. */
static __attribute__((noinline)) void destroyed_lock(void) {
  static pthread_mutex_t destroyed;
  pthread_mutex_init(&destroyed, NULL);
  pthread_mutex_destroy(&destroyed);
  int rc = pthread_mutex_lock(&destroyed);
  printf("lock of a destroyed mutex: %s\n", rc == EINVAL ? "EINVAL" : rc == 0 ? "0" : "other");
  pthread_mutex_lock(&first);
}

static void *destroyed_holder(void *arg) {
  (void)arg;
  destroyed_lock();
  sem_post(&ready);
  park();
  return NULL;
}

static void start_thread(void *(*routine)(void *), void *arg) {
  pthread_t thread;
  pthread_create(&thread, NULL, routine, arg);
}

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  sem_init(&never, 0, 0);
  sem_init(&ready, 0, 0);
  if (strcmp(mode, "kinds") == 0) {
    init_kind(&recursive, PTHREAD_MUTEX_RECURSIVE, PTHREAD_PRIO_NONE);
    init_kind(&errorcheck, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_PRIO_NONE);
    init_kind(&adaptive, PTHREAD_MUTEX_ADAPTIVE_NP, PTHREAD_PRIO_NONE);
    init_kind(&pi, PTHREAD_MUTEX_NORMAL, PTHREAD_PRIO_INHERIT);
    start_thread(kinds_holder, NULL);
    sem_wait(&ready);
    pthread_mutex_t *order[] = {&recursive, &errorcheck, &adaptive, &pi};
    for (int i = 0; i < 4; i++) {
      start_thread(kind_waiter, order[i]);
      sleep_ms(20); /* T2..T5 in this order */
    }
    printf("recursive %p\nerrorcheck %p\nadaptive %p\npi %p\nnever %p\n", (void *)&recursive,
           (void *)&errorcheck, (void *)&adaptive, (void *)&pi, (void *)&never);
  } else if (strcmp(mode, "deep") == 0 || strcmp(mode, "deep_alone") == 0) {
    for (int i = 0; i < DEEP; i++)
      pthread_mutex_init(&deep[i], NULL);
    if (strcmp(mode, "deep") == 0) {
      start_thread(deep_holder, NULL);
      sem_wait(&ready);
    } else {
      deep_rounds();
    }
    start_thread(kind_waiter, &second);
    printf("first %p\nsecond %p\n", (void *)&first, (void *)&second);
  } else if (strcmp(mode, "destroyed") == 0) {
    start_thread(destroyed_holder, NULL);
    sem_wait(&ready);
    printf("first %p\n", (void *)&first);
  } else if (strcmp(mode, "destroyed_alone") == 0) {
    destroyed_lock();
    printf("first %p\n", (void *)&first);
  } else {
    fprintf(stderr, "usage: %s kinds|deep|deep_alone|destroyed|destroyed_alone\n", argv[0]);
    return 2;
  }
  sleep_ms(50);
  printf("%s: main returns\n", mode);
  return 0;
}
