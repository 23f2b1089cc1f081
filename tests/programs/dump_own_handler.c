/* A program with its own SIGUSR2 handler, installed after it started a
 * thread (so after leakwatch set up its dump handler and helper thread).
 *
 * The handler writes "handler ran" to stdout (write(2): async-signal-safe).
 * T1 (handler_worker) blocks in pthread_cond_wait; main prints
 * "handler installed" and "ready", then sits in pause() until killed, so
 * `kill -USR2` just runs the handler. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int waiting, released;

static void *handler_worker(void *arg) {
  pthread_mutex_lock(&lock);
  waiting = 1;
  while (!released)
    pthread_cond_wait(&never, &lock);
  pthread_mutex_unlock(&lock);
  return arg;
}

static void on_usr2(int signo) {
  (void)signo;
  static const char text[] = "handler ran\n";
  if (write(STDOUT_FILENO, text, sizeof text - 1) < 0) {
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_t t;
  pthread_create(&t, NULL, handler_worker, NULL);
  for (;;) {
    pthread_mutex_lock(&lock);
    int in_wait = waiting;
    pthread_mutex_unlock(&lock);
    if (in_wait)
      break;
    usleep(1000);
  }
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_usr2;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGUSR2, &action, NULL) != 0) {
    perror("sigaction");
    return 3;
  }
  printf("handler installed\nready\n");
  for (;;)
    pause();
}
