/* Three threads in a ring: T1 holds m0 and wants m1, T2 holds m1 and wants
 * m2, T3 holds m2 and wants m0 (T1 -> T2 -> T3 -> T1). A barrier makes it
 * always deadlock. Prints "m0 <addr>" .. "m2 <addr>" and one "formed <ms>"
 * (CLOCK_MONOTONIC) per thread just before the blocking lock; main sleeps. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t locks[3] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
                                   PTHREAD_MUTEX_INITIALIZER};
static pthread_barrier_t all_hold;
static volatile int work;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static __attribute__((noinline)) void grab_own(pthread_mutex_t *m) {
  pthread_mutex_lock(m);
  work++;
}

static __attribute__((noinline)) void grab_next(pthread_mutex_t *m) {
  printf("formed %ld\n", now_ms());
  pthread_mutex_lock(m);
  work++;
}

static void *ring_member(void *arg) {
  long i = (long)arg;
  grab_own(&locks[i]);
  pthread_barrier_wait(&all_hold);
  grab_next(&locks[(i + 1) % 3]);
  pthread_mutex_unlock(&locks[(i + 1) % 3]);
  pthread_mutex_unlock(&locks[i]);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  for (int i = 0; i < 3; i++)
    printf("m%d %p\n", i, (void *)&locks[i]);
  pthread_barrier_init(&all_hold, NULL, 3);
  pthread_t threads[3];
  for (long i = 0; i < 3; i++)
    pthread_create(&threads[i], NULL, ring_member, (void *)i);
  for (int i = 0; i < 30; i++)
    usleep(100 * 1000);
  printf("main done\n");
  return 0;
}
