/* Threads that finish but are never joined or detached (their stacks stay
 * allocated until the process ends). argv[1] picks:
 *   one:  T1 (finish_quickly), created by start_one, finishes unjoined.
 *   pool: T1..T5 (finish_quickly), all created by the one loop in
 *         start_pool, finish unjoined.
 * In both modes one more thread (joined_helper, created by
 * start_joined_helper) is joined properly and must not be reported.
 * leakwatch must report ONE unjoined_thread finding: count 1 with [1]
 * (one), or count 5 with threads [1,2,3,4,5] (pool); state "exited"; exit
 * status 66. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_int finished;

static void *finish_quickly(void *arg) {
  atomic_fetch_add(&finished, 1);
  return arg;
}

static void *joined_helper(void *arg) { return arg; }

static __attribute__((noinline)) void start_one(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, finish_quickly, NULL);
}

static __attribute__((noinline)) void start_pool(int n) {
  for (int i = 0; i < n; i++) {
    pthread_t thread;
    pthread_create(&thread, NULL, finish_quickly, NULL);
  }
}

static __attribute__((noinline)) void start_joined_helper(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, joined_helper, NULL);
  pthread_join(thread, NULL);
}

int main(int argc, char **argv) {
  int expected = 0;
  if (argc > 1 && strcmp(argv[1], "one") == 0) {
    start_one();
    expected = 1;
  } else if (argc > 1 && strcmp(argv[1], "pool") == 0) {
    start_pool(5);
    expected = 5;
  } else {
    fprintf(stderr, "usage: %s one|pool\n", argv[0]);
    return 2;
  }
  start_joined_helper();
  while (atomic_load(&finished) < expected)
    usleep(1000);
  usleep(20 * 1000);
  printf("%d finished, none joined\n", expected);
  return 0;
}
