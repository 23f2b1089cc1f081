/* ABBA without the shim: T1 'forward' holds A and waits for B, T2
 * 'backward' holds B and waits for A. Prints "A 0x…", "B 0x…", "ready";
 * main then waits for a line on stdin, prints "after go: …" and exits 0
 * (the deadlocked threads die with the process). */
#define _GNU_SOURCE
#include <pthread.h>

#include "attach_common.h"

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;

static __attribute__((noinline)) void take_both(pthread_mutex_t *first, pthread_mutex_t *second) {
  pthread_mutex_lock(first);
  pthread_barrier_wait(&both_hold);
  pthread_mutex_lock(second);
}

static void *forward(void *arg) {
  pthread_setname_np(pthread_self(), "forward");
  take_both(&lock_a, &lock_b);
  return arg;
}

static void *backward(void *arg) {
  pthread_setname_np(pthread_self(), "backward");
  take_both(&lock_b, &lock_a);
  return arg;
}

int main(void) {
  pthread_barrier_init(&both_hold, NULL, 2);
  printf("A %p\nB %p\n", (void *)&lock_a, (void *)&lock_b);
  pthread_t t1, t2;
  pthread_create(&t1, NULL, forward, NULL);
  pthread_create(&t2, NULL, backward, NULL);
  attach_ready();
  attach_wait_for_go();
  return 0;
}
