/* No deadlock: 8 threads lock random subsets of 16 mutexes, always in
 * ascending index order, for about 2 s. Prints the total of all counters,
 * which must equal the number of increments. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NTHREADS 8
#define NLOCKS 16

static pthread_mutex_t locks[NLOCKS];
static long counters[NLOCKS];
static long increments[NTHREADS];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker(void *arg) {
  long self = (long)arg;
  unsigned seed = (unsigned)self * 7919u + 1;
  double end = now() + 2.0;
  while (now() < end) {
    for (int round = 0; round < 64; round++) {
      unsigned mask = (unsigned)rand_r(&seed) & ((1u << NLOCKS) - 1);
      for (int i = 0; i < NLOCKS; i++)
        if (mask & (1u << i))
          pthread_mutex_lock(&locks[i]);
      for (int i = 0; i < NLOCKS; i++)
        if (mask & (1u << i)) {
          counters[i]++;
          increments[self]++;
        }
      for (int i = NLOCKS - 1; i >= 0; i--)
        if (mask & (1u << i))
          pthread_mutex_unlock(&locks[i]);
    }
  }
  return NULL;
}

int main(void) {
  for (int i = 0; i < NLOCKS; i++)
    pthread_mutex_init(&locks[i], NULL);
  pthread_t threads[NTHREADS];
  for (long i = 0; i < NTHREADS; i++)
    pthread_create(&threads[i], NULL, worker, (void *)i);
  for (int i = 0; i < NTHREADS; i++)
    pthread_join(threads[i], NULL);
  long total = 0, expected = 0;
  for (int i = 0; i < NLOCKS; i++)
    total += counters[i];
  for (int i = 0; i < NTHREADS; i++)
    expected += increments[i];
  printf("%s\n", total == expected && total > 0 ? "consistent" : "INCONSISTENT");
  return 0;
}
