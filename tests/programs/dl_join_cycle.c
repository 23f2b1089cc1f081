/* T1 joins T2 while T2 joins T1: handles are passed through globals and a
 * barrier (main, T1, T2) makes sure both are set before anyone joins.
 * Prints "T1 <pthread_t>", "T2 <pthread_t>" (the objects the joins wait
 * on) and one "formed <ms>" (CLOCK_MONOTONIC) per thread just before its
 * join. argv[1] "join": main joins T1 afterwards (stuck behind the cycle);
 * otherwise main sleeps. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_t first, second;
static pthread_barrier_t handles_set;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static __attribute__((noinline)) void wait_for(pthread_t other) {
  printf("formed %ld\n", now_ms());
  pthread_join(other, NULL);
}

static void *first_main(void *arg) {
  pthread_barrier_wait(&handles_set);
  wait_for(second);
  return arg;
}

static void *second_main(void *arg) {
  pthread_barrier_wait(&handles_set);
  wait_for(first);
  return arg;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_barrier_init(&handles_set, NULL, 3);
  pthread_create(&first, NULL, first_main, NULL);
  pthread_create(&second, NULL, second_main, NULL);
  printf("T1 %p\nT2 %p\n", (void *)first, (void *)second);
  pthread_barrier_wait(&handles_set);
  if (argc > 1 && strcmp(argv[1], "join") == 0) {
    usleep(20 * 1000);
    pthread_join(first, NULL);
  } else {
    for (int i = 0; i < 30; i++)
      usleep(100 * 1000);
  }
  printf("main done\n");
  return 0;
}
