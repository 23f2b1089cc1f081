/* One global order under load: 8 threads for 2 s (argv[1] seconds) each
 * take random subsets of 6 mutexes (and 2 rwlocks, read or write), always
 * in increasing address order, and release them in random order. No two
 * orders conflict. Prints "ordered <rounds>" with rounds > 0 as "ok". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NLOCKS 8
static pthread_mutex_t mutexes[6];
static pthread_rwlock_t rwlocks[2];
static struct lock {
  uintptr_t address;
  int is_rw;
  int index;
} order[NLOCKS];
static double seconds = 2.0;
static long rounds[8];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int by_address(const void *a, const void *b) {
  uintptr_t x = ((const struct lock *)a)->address, y = ((const struct lock *)b)->address;
  return x < y ? -1 : x > y;
}

static void *worker(void *arg) {
  long id = (long)arg;
  unsigned seed = (unsigned)id * 7919u + 1;
  double end = now() + seconds;
  while (now() < end) {
    int taken[NLOCKS], ntaken = 0;
    unsigned subset = (unsigned)rand_r(&seed);
    for (int i = 0; i < NLOCKS; i++) {
      if (!(subset & (1u << i)))
        continue;
      if (order[i].is_rw) {
        if (subset & (1u << (i + 8)))
          pthread_rwlock_wrlock(&rwlocks[order[i].index]);
        else
          pthread_rwlock_rdlock(&rwlocks[order[i].index]);
      } else {
        pthread_mutex_lock(&mutexes[order[i].index]);
      }
      taken[ntaken++] = i;
    }
    while (ntaken) { /* release in random order */
      int k = rand_r(&seed) % ntaken;
      int i = taken[k];
      taken[k] = taken[--ntaken];
      if (order[i].is_rw)
        pthread_rwlock_unlock(&rwlocks[order[i].index]);
      else
        pthread_mutex_unlock(&mutexes[order[i].index]);
    }
    rounds[id]++;
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1)
    seconds = atof(argv[1]);
  for (int i = 0; i < 6; i++) {
    pthread_mutex_init(&mutexes[i], NULL);
    order[i] = (struct lock){(uintptr_t)&mutexes[i], 0, i};
  }
  for (int i = 0; i < 2; i++) {
    pthread_rwlock_init(&rwlocks[i], NULL);
    order[6 + i] = (struct lock){(uintptr_t)&rwlocks[i], 1, i};
  }
  qsort(order, NLOCKS, sizeof order[0], by_address);
  pthread_t t[8];
  for (long i = 0; i < 8; i++)
    pthread_create(&t[i], NULL, worker, (void *)i);
  long total = 0;
  for (int i = 0; i < 8; i++) {
    pthread_join(t[i], NULL);
    total += rounds[i];
  }
  printf("ordered %s\n", total > 0 ? "ok" : "none");
  return 0;
}
