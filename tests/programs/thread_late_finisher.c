/* A detached worker (slow_finisher) that is still finishing when main
 * returns: it sleeps 120 ms, then returns; main returns 20 ms after
 * creating it, so the worker ends about 100 ms after main returned. With
 * the default exit_grace_ms (200) leakwatch waits for it and reports
 * nothing (exit status 0); with exit_grace_ms=0 it must report it as a
 * thread_leak (state "running", detached, T1, a current stack containing
 * slow_finisher) and exit 66. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static void *slow_finisher(void *arg) {
  (void)arg;
  struct timespec pause = {0, 120 * 1000 * 1000};
  nanosleep(&pause, NULL);
  return NULL;
}

int main(void) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  pthread_create(&thread, &attr, slow_finisher, NULL);
  pthread_attr_destroy(&attr);
  struct timespec pause = {0, 20 * 1000 * 1000};
  nanosleep(&pause, NULL);
  printf("main returns while the worker finishes\n");
  return 0;
}
