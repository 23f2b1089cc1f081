/* A long wait that is no deadlock: T1 (holder) takes mutex M and sleeps
 * 1.5 s; T2 (waiter) blocks on M meanwhile. Main sleeps 2 s, then joins
 * both (by then they are done, so its joins are short).
 *
 * The sleeps are clock_nanosleep to an absolute deadline, resumed when a
 * signal interrupts them, so the timing holds either way; the number of
 * interruptions is printed: nothing in the program sends signals, so under
 * leakwatch it must be 0 (the shim must not wake sleeping threads).
 * Prints "M <addr>", "interrupted <n>" and "done". */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int holder_has_lock, interrupted;

static void sleep_ms(long ms) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
    atomic_fetch_add(&interrupted, 1);
}

static __attribute__((noinline)) void slow_refresh(void) {
  pthread_mutex_lock(&cache_lock);
  atomic_store(&holder_has_lock, 1);
  sleep_ms(1500);
  pthread_mutex_unlock(&cache_lock);
}

static void *holder(void *arg) {
  slow_refresh();
  return arg;
}

static __attribute__((noinline)) void cache_get(void) {
  pthread_mutex_lock(&cache_lock);
  pthread_mutex_unlock(&cache_lock);
}

static void *waiter(void *arg) {
  cache_get();
  return arg;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("M %p\n", (void *)&cache_lock);
  pthread_t t1, t2;
  pthread_create(&t1, NULL, holder, NULL);
  while (!atomic_load(&holder_has_lock))
    sleep_ms(1);
  pthread_create(&t2, NULL, waiter, NULL);
  sleep_ms(2000);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("interrupted %d\ndone\n", atomic_load(&interrupted));
  return 0;
}
