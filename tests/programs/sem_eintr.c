/* sem_wait interrupted by a signal whose handler is installed without
 * SA_RESTART must return -1 with errno EINTR (POSIX: sem_wait is never
 * restarted). A worker blocks in sem_wait; main sends it SIGUSR1 every
 * 20 ms until the call returns (at most 50 times, then posts the semaphore
 * so the program cannot hang). Prints whether the handler ran and what
 * sem_wait returned.
 * leakwatch must not change the output or the status (0), and reports
 * nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static sem_t sem;
static atomic_int handled, returned;
static int result, saved_errno;

static void on_signal(int signo) {
  (void)signo;
  atomic_store(&handled, 1);
}

static void *waiter(void *arg) {
  (void)arg;
  result = sem_wait(&sem);
  saved_errno = errno;
  atomic_store(&returned, 1);
  return NULL;
}

int main(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0; /* no SA_RESTART */
  sigaction(SIGUSR1, &action, NULL);
  sem_init(&sem, 0, 0);
  pthread_t thread;
  pthread_create(&thread, NULL, waiter, NULL);
  struct timespec pause = {0, 20 * 1000 * 1000};
  for (int i = 0; i < 50 && !atomic_load(&returned); i++) {
    nanosleep(&pause, NULL);
    if (!atomic_load(&returned))
      pthread_kill(thread, SIGUSR1);
  }
  if (!atomic_load(&returned))
    sem_post(&sem); /* never interrupted: let it go rather than hang */
  pthread_join(thread, NULL);
  printf("handler ran: %s\n", atomic_load(&handled) ? "yes" : "no");
  printf("sem_wait returned %d errno %s\n", result,
         result == 0            ? "-"
         : saved_errno == EINTR ? "EINTR"
                                : strerror(saved_errno));
  return 0;
}
