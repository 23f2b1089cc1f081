/* Two threads wait on a condition variable nobody will signal; main joins
 * the first. Every thread is asleep and nothing can wake them. Prints
 * "C 0x…", "M 0x…", "ready". argv[1] "many N": N waiters (for timing). */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "attach_common.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static int work;

static void *consumer(void *arg) {
  pthread_setname_np(pthread_self(), "consumer");
  pthread_mutex_lock(&lock);
  while (!work)
    pthread_cond_wait(&work_ready, &lock);
  pthread_mutex_unlock(&lock);
  return arg;
}

int main(int argc, char **argv) {
  int n = argc > 2 && strcmp(argv[1], "many") == 0 ? atoi(argv[2]) : 2;
  printf("C %p\nM %p\n", (void *)&work_ready, (void *)&lock);
  pthread_t first = 0, t;
  for (int i = 0; i < n; i++) {
    pthread_create(&t, NULL, consumer, NULL);
    if (i == 0)
      first = t;
  }
  attach_ready();
  pthread_join(first, NULL);
  return 0;
}
