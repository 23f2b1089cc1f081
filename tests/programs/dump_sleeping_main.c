/* The main thread sleeps (sleep, then poll with a timeout), the way a
 * program's main loop does, while `leakwatch dump` reads the process.
 * With an argument "threaded", a worker first blocks in a condition wait
 * (the shim then has its helper thread); without, the process has one
 * thread (the shim has none, and the dump is read from outside).
 * Prints "ready", then what sleep() left and what poll() returned: "sleep
 * left 0" and "poll 0" when nothing cut them short. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static int go;

static void *worker(void *arg) {
  pthread_mutex_lock(&lock);
  while (!go)
    pthread_cond_wait(&go_cond, &lock);
  pthread_mutex_unlock(&lock);
  return arg;
}

int main(int argc, char **argv) {
  int threaded = argc > 1 && strcmp(argv[1], "threaded") == 0;
  pthread_t thread;
  if (threaded && pthread_create(&thread, NULL, worker, NULL) != 0)
    return 1;
  printf("ready\n");
  fflush(stdout);
  unsigned left = sleep(6); /* long enough for the dumps on a busy machine */
  int polled = poll(NULL, 0, 2000);
  printf("sleep left %u\npoll %d%s\n", left, polled, polled < 0 && errno == EINTR ? " EINTR" : "");
  fflush(stdout);
  if (threaded) {
    pthread_mutex_lock(&lock);
    go = 1;
    pthread_cond_signal(&go_cond);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
  }
  return 0;
}
