/* Lock memory reused for new locks. Two mutexes live in slots[0] and
 * slots[1]. T1 takes slot 0 then slot 1 (old_order). Then argv[1]:
 *   destroy: both are destroyed and two new mutexes initialised in the
 *            same memory;
 *   reinit:  both are initialised again without a destroy;
 *   keep:    nothing: the same locks, now in the opposite order (a real
 *            conflict, for contrast).
 * T2 then takes slot 1 then slot 0 (new_order): new locks, no conflict
 * with the old ones. Prints "S0 <addr>", "S1 <addr>" (the same addresses
 * before and after) and "reuse ok". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t slots[2];
static volatile int work;

static __attribute__((noinline)) void old_order(void) {
  pthread_mutex_lock(&slots[0]);
  pthread_mutex_lock(&slots[1]);
  work++;
  pthread_mutex_unlock(&slots[1]);
  pthread_mutex_unlock(&slots[0]);
}

static __attribute__((noinline)) void new_order(void) {
  pthread_mutex_lock(&slots[1]);
  pthread_mutex_lock(&slots[0]);
  work++;
  pthread_mutex_unlock(&slots[0]);
  pthread_mutex_unlock(&slots[1]);
}

static void *first(void *arg) {
  old_order();
  return arg;
}

static void *second(void *arg) {
  new_order();
  return arg;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *mode = argc > 1 ? argv[1] : "destroy";
  int destroy = strcmp(mode, "destroy") == 0, keep = strcmp(mode, "keep") == 0;
  pthread_mutex_init(&slots[0], NULL);
  pthread_mutex_init(&slots[1], NULL);
  printf("S0 %p\nS1 %p\n", (void *)&slots[0], (void *)&slots[1]);
  pthread_t t;
  pthread_create(&t, NULL, first, NULL);
  pthread_join(t, NULL);
  if (destroy) {
    pthread_mutex_destroy(&slots[0]);
    pthread_mutex_destroy(&slots[1]);
  }
  if (!keep) {
    pthread_mutex_init(&slots[1], NULL);
    pthread_mutex_init(&slots[0], NULL);
  }
  pthread_create(&t, NULL, second, NULL);
  pthread_join(t, NULL);
  printf("reuse %s\n", work == 2 ? "ok" : "failed");
  return 0;
}
