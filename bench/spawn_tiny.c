/* The smallest threaded test process: start one thread, join it, exit 0.
 * run_spawn.py starts it many times with and without the shim to measure
 * what leakwatch adds to every process (start-up plus exit). */
#include <pthread.h>

static void *work(void *arg) { return arg; }

int main(void) {
  pthread_t thread;
  if (pthread_create(&thread, NULL, work, NULL) != 0)
    return 1;
  return pthread_join(thread, NULL) != 0;
}
