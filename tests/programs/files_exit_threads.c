/* exit() called from three threads at once, while one more thread is leaked
 * (blocked in sem_wait for good); main waits in pause().
 *
 * glibc 2.36 lets concurrent exit() callers race: the first to find the
 * exit handlers all taken ends the process while another is still running
 * them. Under leakwatch: exactly one exit report, one thread_leak (the
 * parked thread; the exiting threads are not leaks), status 66. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static sem_t never_posted;
static pthread_barrier_t go;

static void *parked(void *arg) {
  sem_wait(&never_posted);
  return arg;
}

static void *exiter(void *arg) {
  pthread_barrier_wait(&go);
  exit(3);
  return arg;
}

int main(void) {
  sem_init(&never_posted, 0, 0);
  pthread_barrier_init(&go, NULL, 4);
  pthread_t t;
  pthread_create(&t, NULL, parked, NULL);
  for (int i = 0; i < 3; i++)
    pthread_create(&t, NULL, exiter, NULL);
  printf("three threads call exit\n");
  fflush(stdout);
  pthread_barrier_wait(&go);
  for (;;)
    pause();
}
