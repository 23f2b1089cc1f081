/* A clean threaded process: start a thread, join it, write "exiting" to
 * stdout with write(2) (so the line marks the moment in a system call
 * trace), return 0. What the shim does after that line is its exit. */
#include <pthread.h>
#include <unistd.h>

static void *work(void *arg) { return arg; }

int main(void) {
  pthread_t thread;
  if (pthread_create(&thread, NULL, work, NULL) != 0 || pthread_join(thread, NULL) != 0)
    return 1;
  static const char line[] = "exiting\n";
  return write(1, line, sizeof line - 1) == (ssize_t)(sizeof line - 1) ? 0 : 1;
}
