/* An ABBA deadlock that stays put, for `leakwatch dump`.
 *
 * T1 (forward) takes A then B, T2 (backward) takes B then A; a barrier makes
 * sure each holds its first lock before reaching for the second, so they
 * always deadlock. Prints "A <addr>" and "B <addr>", then "ready" once both
 * threads have reached their second lock (and a moment more, so both are
 * asleep in it), then main sits in pause() until it is killed.
 * Run with deadlock_ms=0: nobody reports the deadlock but a dump. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;
static atomic_int reaching;
static volatile int work;

static __attribute__((noinline)) void take_first(pthread_mutex_t *m) {
  pthread_mutex_lock(m);
  work++;
}

static __attribute__((noinline)) void take_second(pthread_mutex_t *m) {
  atomic_fetch_add(&reaching, 1);
  pthread_mutex_lock(m);
  work++;
}

static void *forward(void *arg) {
  take_first(&lock_a);
  pthread_barrier_wait(&both_hold);
  take_second(&lock_b);
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  return arg;
}

static void *backward(void *arg) {
  take_first(&lock_b);
  pthread_barrier_wait(&both_hold);
  take_second(&lock_a);
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  return arg;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("A %p\nB %p\n", (void *)&lock_a, (void *)&lock_b);
  pthread_barrier_init(&both_hold, NULL, 2);
  pthread_t t1, t2;
  pthread_create(&t1, NULL, forward, NULL);
  pthread_create(&t2, NULL, backward, NULL);
  while (atomic_load(&reaching) < 2)
    usleep(1000);
  usleep(200 * 1000);
  printf("ready\n");
  for (;;)
    pause();
}
