/* Two mutexes taken in opposite orders by two threads that never overlap:
 * T1 (forward) takes A in take_a_first, then B in then_b; main joins it;
 * then T2 (backward) takes B in take_b_first, then A in then_a. No run
 * deadlocks, but the orders conflict.
 *   argv[1] = N (default 1): repeat the pair of threads N times (threads
 *             T1..T2N), the same cycle every time;
 *   argv[1] = self: one thread T1 does forward, then backward;
 *   argv[1] = linger: T2 holds both locks for 300 ms after taking A (the
 *             live report of the inversion sees it holding them).
 * Prints "A <addr>", "B <addr>" and "done". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static volatile long balance;
static int linger_ms;

static __attribute__((noinline)) void then_b(void) {
  pthread_mutex_lock(&lock_b);
  balance++;
  pthread_mutex_unlock(&lock_b);
}

static __attribute__((noinline)) void take_a_first(void) {
  pthread_mutex_lock(&lock_a);
  then_b();
  pthread_mutex_unlock(&lock_a);
}

static __attribute__((noinline)) void then_a(void) {
  pthread_mutex_lock(&lock_a);
  balance--;
  if (linger_ms)
    usleep(linger_ms * 1000);
  pthread_mutex_unlock(&lock_a);
}

static __attribute__((noinline)) void take_b_first(void) {
  pthread_mutex_lock(&lock_b);
  then_a();
  pthread_mutex_unlock(&lock_b);
}

static void *forward(void *arg) {
  take_a_first();
  return arg;
}

static void *backward(void *arg) {
  take_b_first();
  return arg;
}

static void *both(void *arg) {
  take_a_first();
  take_b_first();
  return arg;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("A %p\nB %p\n", (void *)&lock_a, (void *)&lock_b);
  pthread_t t;
  if (argc > 1 && strcmp(argv[1], "self") == 0) {
    pthread_create(&t, NULL, both, NULL);
    pthread_join(t, NULL);
  } else {
    if (argc > 1 && strcmp(argv[1], "linger") == 0)
      linger_ms = 300;
    int rounds = argc > 1 ? atoi(argv[1]) : 1;
    if (rounds < 1)
      rounds = 1;
    for (int i = 0; i < rounds; i++) {
      pthread_create(&t, NULL, forward, NULL);
      pthread_join(t, NULL);
      pthread_create(&t, NULL, backward, NULL);
      pthread_join(t, NULL);
    }
  }
  printf("done %ld\n", balance);
  return 0;
}
