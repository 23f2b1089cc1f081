/* Many threads (argv[1], default 1000) blocked on one condition variable,
 * for `leakwatch dump` at scale. Small stacks keep the memory down.
 * Prints "cv <addr>", then "ready" once every thread is inside
 * pthread_cond_wait (each counts itself under the mutex, which only the
 * wait releases), then main sits in pause() until it is killed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int waiting, released;

static void *cond_sleeper(void *arg) {
  pthread_mutex_lock(&lock);
  waiting++;
  while (!released)
    pthread_cond_wait(&never, &lock);
  pthread_mutex_unlock(&lock);
  return arg;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  printf("cv %p\n", (void *)&never);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (int i = 0; i < n; i++) {
    pthread_t t;
    if (pthread_create(&t, &attr, cond_sleeper, NULL) != 0) {
      printf("pthread_create failed at %d\n", i);
      return 3;
    }
  }
  for (;;) {
    pthread_mutex_lock(&lock);
    int all = waiting == n;
    pthread_mutex_unlock(&lock);
    if (all)
      break;
    usleep(2000);
  }
  printf("ready\n");
  for (;;)
    pause();
}
