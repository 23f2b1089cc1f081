/* T1 joins T2 while T2 joins T1. Prints "T1 0x…", "T2 0x…" (their
 * pthread_t: the objects the joins wait on), "ready". */
#define _GNU_SOURCE
#include <pthread.h>

#include "attach_common.h"

static pthread_t first, second;
static pthread_barrier_t handles_set;

static void *first_main(void *arg) {
  pthread_barrier_wait(&handles_set);
  pthread_join(second, NULL);
  return arg;
}

static void *second_main(void *arg) {
  pthread_barrier_wait(&handles_set);
  pthread_join(first, NULL);
  return arg;
}

int main(void) {
  pthread_barrier_init(&handles_set, NULL, 3);
  pthread_create(&first, NULL, first_main, NULL);
  pthread_create(&second, NULL, second_main, NULL);
  printf("T1 %p\nT2 %p\n", (void *)first, (void *)second);
  pthread_barrier_wait(&handles_set);
  attach_ready();
  attach_wait_for_go();
  return 0;
}
