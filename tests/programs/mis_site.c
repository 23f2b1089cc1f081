/* Once per call site: main unlocks an error-checking mutex nobody holds
 * 100 times from one call site (release_in_loop), then once from another
 * (release_elsewhere). Prints "M <addr>" and how many unlocks failed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t mutex;

static __attribute__((noinline)) int release_in_loop(void) {
  return pthread_mutex_unlock(&mutex) != 0;
}

static __attribute__((noinline)) int release_elsewhere(void) {
  return pthread_mutex_unlock(&mutex) != 0;
}

int main(void) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&mutex, &attr);
  printf("M %p\n", (void *)&mutex);
  int failed = 0;
  for (int i = 0; i < 100; i++)
    failed += release_in_loop();
  printf("loop failed %d\n", failed);
  printf("elsewhere failed %d\n", release_elsewhere());
  return 0;
}
