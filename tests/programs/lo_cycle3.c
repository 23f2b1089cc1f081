/* Three mutexes, three threads, one after another: T1 takes A then B
 * (hold_a, take_b), T2 B then C (hold_b, take_c), T3 C then A (hold_c,
 * take_a): a cycle of three. Prints "A <addr>", "B <addr>", "C <addr>". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_c = PTHREAD_MUTEX_INITIALIZER;
static volatile int work;

#define NESTED(outer_fn, inner_fn, outer, inner)                                                   \
  static __attribute__((noinline)) void inner_fn(void) {                                           \
    pthread_mutex_lock(&inner);                                                                    \
    work++;                                                                                        \
    pthread_mutex_unlock(&inner);                                                                  \
  }                                                                                                \
  static __attribute__((noinline)) void outer_fn(void) {                                           \
    pthread_mutex_lock(&outer);                                                                    \
    inner_fn();                                                                                    \
    pthread_mutex_unlock(&outer);                                                                  \
  }                                                                                                \
  static void *outer_fn##_thread(void *arg) {                                                      \
    outer_fn();                                                                                    \
    return arg;                                                                                    \
  }

NESTED(hold_a, take_b, lock_a, lock_b)
NESTED(hold_b, take_c, lock_b, lock_c)
NESTED(hold_c, take_a, lock_c, lock_a)

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("A %p\nB %p\nC %p\n", (void *)&lock_a, (void *)&lock_b, (void *)&lock_c);
  void *(*steps[])(void *) = {hold_a_thread, hold_b_thread, hold_c_thread};
  for (int i = 0; i < 3; i++) {
    pthread_t t;
    pthread_create(&t, NULL, steps[i], NULL);
    pthread_join(t, NULL);
  }
  printf("done %d\n", work);
  return 0;
}
