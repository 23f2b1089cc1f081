/* Two threads take two mutexes in opposite orders (ABBA). A barrier makes
 * sure each holds its first lock before reaching for the second, so it
 * always deadlocks: T1 (forward) holds A and waits for B, T2 (backward)
 * holds B and waits for A.
 *
 * Prints "A <addr>", "B <addr>", one "formed <ms>" per thread (the
 * CLOCK_MONOTONIC time in ms just before the blocking lock), unbuffered.
 * argv[1] picks what main does meanwhile:
 *   sleep (default): sleeps in nanosleep, a call the shim does not see;
 *   join: joins T1, so main is stuck behind the cycle ("T1 <pthread_t>"
 *         is printed too: the object main waits on). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;
static volatile int work;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static __attribute__((noinline)) void take_first(pthread_mutex_t *m) {
  pthread_mutex_lock(m);
  work++;
}

static __attribute__((noinline)) void take_second(pthread_mutex_t *m) {
  printf("formed %ld\n", now_ms());
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

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("A %p\nB %p\n", (void *)&lock_a, (void *)&lock_b);
  pthread_barrier_init(&both_hold, NULL, 2);
  pthread_t t1, t2;
  pthread_create(&t1, NULL, forward, NULL);
  pthread_create(&t2, NULL, backward, NULL);
  printf("T1 %p\n", (void *)t1);
  if (argc > 1 && strcmp(argv[1], "join") == 0) {
    pthread_join(t1, NULL);
  } else {
    for (int i = 0; i < 30; i++)
      usleep(100 * 1000);
  }
  printf("main done\n");
  return 0;
}
