/* A program with findings, for the report's own I/O faults.
 *
 *   fault_report_io leak          one thread (parked) blocked in sem_wait;
 *                                 main prints "main returns 0", returns 0
 *   fault_report_io closed-stderr the same, after close(2): the text report
 *                                 has nowhere to go
 *   fault_report_io big N         N threads blocked in sem_wait, each from
 *                                 its own creation path (start_parked_K,
 *                                 nested K deep), so the JSON report is
 *                                 large (tens of KiB)
 * Under leakwatch: thread_leak findings, status 66. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sem_t never_posted;

static void *parked(void *arg) {
  sem_wait(&never_posted);
  return arg;
}

static __attribute__((noinline)) void start_parked(int depth) {
  if (depth > 0) {
    start_parked(depth - 1);
    __asm__ volatile("" ::: "memory"); /* not a tail call: one frame per level */
    return;
  }
  pthread_t t;
  pthread_create(&t, NULL, parked, NULL);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s leak|closed-stderr|big N\n", argv[0]);
    return 2;
  }
  sem_init(&never_posted, 0, 0);
  if (strcmp(argv[1], "closed-stderr") == 0)
    close(2);
  int n = strcmp(argv[1], "big") == 0 && argc > 2 ? atoi(argv[2]) : 1;
  for (int i = 0; i < n; i++)
    start_parked(i % 24);
  usleep(50 * 1000);
  printf("main returns 0\n");
  return 0;
}
