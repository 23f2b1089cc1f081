/* A gate lock G: T1 takes G, then A then B (gated_ab); after it ended, T2
 * takes G, then B then A (gated_ba). Every conflicting order is taken
 * inside G, so they cannot deadlock.
 *   argv[1] = partial: T2 takes B then A without G (ungated_ba): a real
 *                      conflict.
 * Prints "G <addr>", "A <addr>", "B <addr>". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static volatile int work;

static __attribute__((noinline)) void nested(pthread_mutex_t *outer, pthread_mutex_t *inner) {
  pthread_mutex_lock(outer);
  pthread_mutex_lock(inner);
  work++;
  pthread_mutex_unlock(inner);
  pthread_mutex_unlock(outer);
}

static __attribute__((noinline)) void gated_ab(void) {
  pthread_mutex_lock(&gate);
  nested(&lock_a, &lock_b);
  pthread_mutex_unlock(&gate);
}

static __attribute__((noinline)) void gated_ba(void) {
  pthread_mutex_lock(&gate);
  nested(&lock_b, &lock_a);
  pthread_mutex_unlock(&gate);
}

static __attribute__((noinline)) void ungated_ba(void) { nested(&lock_b, &lock_a); }

static void *first(void *arg) {
  gated_ab();
  return arg;
}

static void *second(void *arg) {
  if (arg)
    ungated_ba();
  else
    gated_ba();
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int partial = argc > 1 && strcmp(argv[1], "partial") == 0;
  printf("G %p\nA %p\nB %p\n", (void *)&gate, (void *)&lock_a, (void *)&lock_b);
  pthread_t t;
  pthread_create(&t, NULL, first, NULL);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, second, partial ? (void *)1 : NULL);
  pthread_join(t, NULL);
  printf("done %d\n", work);
  return 0;
}
