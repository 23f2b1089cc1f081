/* main returns while detached threads are in the middle of waits.
 *
 * Seven detached threads that never end (name "forever-N"):
 *   forever-0: sem_wait on a semaphore nobody posts;
 *   forever-1: pthread_mutex_lock on "main_held", which main holds;
 *   forever-2: a loop of 10 ms pthread_cond_timedwait on a condition
 *              nobody signals;
 *   forever-3..6: two ping-pong pairs, each handing a token back and forth
 *              through a mutex and two condition variables, forever (at
 *              any instant one of each pair is blocked, the other running).
 * Twenty detached threads that end soon (name "short"): each waits
 * 1..40 ms in pthread_cond_timedwait (timing out) and returns; main
 * returns right after starting them, so some end before the exit report,
 * the rest while leakwatch gives running threads exit_grace_ms.
 * Expected: exactly seven thread_leak threads, all detached, the
 * "forever-*" ones; none of the short ones; no deadlock (forever-1 waits
 * for main, which is exiting, not waiting); status 66 (0 with exitcode=0). */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static sem_t never_posted;
static pthread_mutex_t main_held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t quiet_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t quiet = PTHREAD_COND_INITIALIZER;

struct pair {
  pthread_mutex_t mutex;
  pthread_cond_t turn[2];
  int token;
};
static struct pair pairs[2] = {
    {PTHREAD_MUTEX_INITIALIZER, {PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER}, 0},
    {PTHREAD_MUTEX_INITIALIZER, {PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER}, 0},
};

static void deadline_in(struct timespec *ts, long ms) {
  clock_gettime(CLOCK_REALTIME, ts);
  ts->tv_nsec += (ms % 1000) * 1000000L;
  ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000L;
  ts->tv_nsec %= 1000000000L;
}

static void *sem_forever(void *arg) {
  sem_wait(&never_posted);
  return arg;
}

static void *mutex_forever(void *arg) {
  pthread_mutex_lock(&main_held);
  pthread_mutex_unlock(&main_held);
  return arg;
}

static void *timed_forever(void *arg) {
  pthread_mutex_lock(&quiet_mutex);
  for (;;) {
    struct timespec ts;
    deadline_in(&ts, 10);
    pthread_cond_timedwait(&quiet, &quiet_mutex, &ts);
  }
  return arg;
}

static void *ping_pong(void *arg) {
  long n = (long)arg;
  struct pair *p = &pairs[n / 2];
  int me = (int)(n % 2);
  pthread_mutex_lock(&p->mutex);
  for (;;) {
    while (p->token != me)
      pthread_cond_wait(&p->turn[me], &p->mutex);
    p->token = !me;
    pthread_cond_signal(&p->turn[!me]);
  }
  return NULL;
}

static void *short_lived(void *arg) {
  long ms = (long)arg;
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  struct timespec ts;
  deadline_in(&ts, ms);
  pthread_mutex_lock(&m);
  while (pthread_cond_timedwait(&c, &m, &ts) == 0)
    ;
  pthread_mutex_unlock(&m);
  return NULL;
}

static void start_detached(void *(*fn)(void *), void *arg, const char *name) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  pthread_create(&t, &attr, fn, arg);
  pthread_setname_np(t, name);
  pthread_attr_destroy(&attr);
}

int main(void) {
  sem_init(&never_posted, 0, 0);
  pthread_mutex_lock(&main_held);
  start_detached(sem_forever, NULL, "forever-0");
  start_detached(mutex_forever, NULL, "forever-1");
  start_detached(timed_forever, NULL, "forever-2");
  for (long i = 0; i < 4; i++) {
    char name[16];
    snprintf(name, sizeof name, "forever-%ld", 3 + i);
    start_detached(ping_pong, (void *)i, name);
  }
  usleep(50 * 1000);
  for (long i = 0; i < 20; i++)
    start_detached(short_lived, (void *)(1 + i * 2), "short");
  printf("main returns with 7 detached threads waiting\n");
  return 0;
}
