/* Ending the process without exit handlers: quick_exit, _exit, _Exit.
 *
 *   fault_quick_exit quick_exit|_exit|_Exit
 * Leaves one thread blocked in sem_wait and one finished, never joined
 * (both would be findings at a normal exit), registers an atexit handler
 * (must not run) and an at_quick_exit handler (runs for quick_exit only),
 * then ends the process with status 9 the chosen way. The handlers write
 * straight to fd 1 (stdio buffers are not flushed by these calls).
 * Expected under leakwatch (README: these skip every exit handler, so no
 * report): status 9, no report text, no JSON file. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sem_t never_posted;

static void say(const char *s) {
  ssize_t r = write(1, s, strlen(s));
  (void)r;
}

static void on_exit_handler(void) { say("atexit handler ran\n"); }
static void on_quick_exit_handler(void) { say("at_quick_exit handler ran\n"); }

static void *blocked(void *arg) {
  sem_wait(&never_posted);
  return arg;
}

static void *finished(void *arg) { return arg; }

int main(int argc, char **argv) {
  if (argc != 2) {
    say("usage: fault_quick_exit quick_exit|_exit|_Exit\n");
    return 2;
  }
  sem_init(&never_posted, 0, 0);
  atexit(on_exit_handler);
  at_quick_exit(on_quick_exit_handler);
  pthread_t a, b;
  pthread_create(&a, NULL, blocked, NULL);
  pthread_create(&b, NULL, finished, NULL);
  usleep(50 * 1000);
  say("ending with ");
  say(argv[1]);
  say("\n");
  if (strcmp(argv[1], "quick_exit") == 0)
    quick_exit(9);
  if (strcmp(argv[1], "_exit") == 0)
    _exit(9);
  if (strcmp(argv[1], "_Exit") == 0)
    _Exit(9);
  say("unknown mode\n");
  return 2;
}
