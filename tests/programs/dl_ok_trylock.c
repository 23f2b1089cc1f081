/* No deadlock: two threads take two mutexes in opposite orders, but the
 * second lock is a trylock and on failure they back off (release, yield,
 * retry). About 2 s of contention. Prints "done <n>" with n = total
 * rounds of both threads (>0). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static long rounds[2];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct order {
  pthread_mutex_t *first, *second;
  long *rounds;
};

static void *worker(void *arg) {
  struct order *o = arg;
  double end = now() + 2.0;
  while (now() < end) {
    pthread_mutex_lock(o->first);
    if (pthread_mutex_trylock(o->second) != 0) {
      pthread_mutex_unlock(o->first);
      sched_yield();
      continue;
    }
    (*o->rounds)++;
    pthread_mutex_unlock(o->second);
    pthread_mutex_unlock(o->first);
  }
  return NULL;
}

int main(void) {
  struct order ab = {&lock_a, &lock_b, &rounds[0]}, ba = {&lock_b, &lock_a, &rounds[1]};
  pthread_t t1, t2;
  pthread_create(&t1, NULL, worker, &ab);
  pthread_create(&t2, NULL, worker, &ba);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("done %s\n", rounds[0] + rounds[1] > 0 ? "ok" : "none");
  return 0;
}
