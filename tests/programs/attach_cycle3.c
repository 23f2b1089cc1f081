/* A 3-cycle without the shim: T1 holds A and waits for B, T2 holds B and
 * waits for C, T3 holds C and waits for A. Prints "A/B/C 0x…", "ready". */
#define _GNU_SOURCE
#include <pthread.h>

#include "attach_common.h"

static pthread_mutex_t locks[3] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
                                   PTHREAD_MUTEX_INITIALIZER};
static pthread_barrier_t all_hold;

static void *worker(void *arg) {
  long i = (long)arg;
  pthread_mutex_lock(&locks[i]);
  pthread_barrier_wait(&all_hold);
  pthread_mutex_lock(&locks[(i + 1) % 3]);
  return NULL;
}

int main(void) {
  pthread_barrier_init(&all_hold, NULL, 3);
  printf("A %p\nB %p\nC %p\n", (void *)&locks[0], (void *)&locks[1], (void *)&locks[2]);
  pthread_t t[3];
  for (long i = 0; i < 3; i++)
    pthread_create(&t[i], NULL, worker, (void *)i);
  attach_ready();
  attach_wait_for_go();
  return 0;
}
