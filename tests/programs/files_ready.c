/* Starts one thread (blocked in sem_wait: the shim's helper thread, which
 * writes dumps, starts with the program's first thread), prints "ready",
 * then waits in pause() until killed. With an argument "crash", dereferences
 * a null pointer instead (SIGSEGV).
 * Under leakwatch: the dump tests' target, and a crash that must end the
 * process whatever dump_signal says. */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static sem_t never_posted;

static void *parked(void *arg) {
  sem_wait(&never_posted);
  return arg;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "crash") == 0) {
    volatile int *nowhere = NULL;
    return *nowhere;
  }
  sem_init(&never_posted, 0, 0);
  pthread_t t;
  pthread_create(&t, NULL, parked, NULL);
  printf("ready\n");
  fflush(stdout);
  for (;;)
    pause();
}
