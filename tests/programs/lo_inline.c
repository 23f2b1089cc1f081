/* A lock-order inversion whose locks are taken in an inlined helper:
 * lock_pair (static inline, always_inline) takes its two mutexes; T1 runs
 * take_ab (A then B) and is joined, then main runs take_ba (B then A). The
 * report's edge stacks must show lock_pair as an inlined frame with
 * take_ab / take_ba below it at the same address.
 * Prints "A <addr>", "B <addr>" and "done". */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static volatile long balance;

static inline __attribute__((always_inline)) void lock_pair(pthread_mutex_t *first,
                                                            pthread_mutex_t *second) {
  pthread_mutex_lock(first);
  pthread_mutex_lock(second);
  balance++;
  pthread_mutex_unlock(second);
  pthread_mutex_unlock(first);
}

static __attribute__((noinline)) void take_ab(void) { lock_pair(&lock_a, &lock_b); }

static __attribute__((noinline)) void take_ba(void) { lock_pair(&lock_b, &lock_a); }

static void *forward(void *arg) {
  take_ab();
  return arg;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("A %p\nB %p\n", (void *)&lock_a, (void *)&lock_b);
  pthread_t t;
  pthread_create(&t, NULL, forward, NULL);
  pthread_join(t, NULL);
  take_ba();
  printf("done\n");
  return 0;
}
