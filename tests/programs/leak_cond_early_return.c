/* A worker blocked forever on a condition variable: main returns early
 * without signalling or joining it. Expect one thread_leak, blocked in
 * pthread_cond_wait, created from start_worker, named "waiter". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static int go;

static void *waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  while (!go)
    pthread_cond_wait(&ready, &lock);
  pthread_mutex_unlock(&lock);
  return NULL;
}

static __attribute__((noinline)) pthread_t start_worker(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, waiter, NULL);
  pthread_setname_np(thread, "waiter");
  return thread;
}

/* Exits with argv[1] (default 3): the program's own status. */
int main(int argc, char **argv) {
  start_worker();
  usleep(50 * 1000);
  printf("returning early\n");
  return argc > 1 ? atoi(argv[1]) : 3;
}
