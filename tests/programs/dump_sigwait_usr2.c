/* A program that takes SIGUSR2 with sigwait(): blocked in every thread, a
 * thread of its own waits for it and prints "got SIGUSR2" each time.
 * Another thread blocks in a condition wait (the shim then has its helper
 * thread). Prints "ready"; ends when stdin closes. `leakwatch dump` must
 * neither be taken by the program's sigwait nor steal the program's
 * SIGUSR2. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *waiter(void *arg) {
  pthread_mutex_lock(&lock);
  for (;;)
    pthread_cond_wait(&never, &lock);
  return arg;
}

static void *signal_thread(void *arg) {
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  for (;;) {
    int got = 0;
    if (sigwait(&usr2, &got) == 0 && got == SIGUSR2) {
      printf("got SIGUSR2\n");
      fflush(stdout);
    }
  }
  return arg;
}

int main(void) {
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &usr2, NULL); /* inherited by every thread */
  pthread_t threads[2];
  if (pthread_create(&threads[0], NULL, waiter, NULL) != 0 ||
      pthread_create(&threads[1], NULL, signal_thread, NULL) != 0)
    return 1;
  printf("ready\n");
  fflush(stdout);
  char byte;
  while (read(0, &byte, 1) > 0) {
  }
  return 0;
}
