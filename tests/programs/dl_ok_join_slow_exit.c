/* Not a deadlock: main joins a worker that has returned, but whose
 * thread-specific-data destructor takes 1.5 s (as a real program's cleanup
 * may, or a loaded machine's scheduler). While it runs, main is the only
 * thread left blocked, in an untimed join of a thread that has ended: the
 * join will return, so "all threads are asleep" must not be reported. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static pthread_key_t slow_cleanup;

static void cleanup_slowly(void *value) {
  (void)value;
  struct timespec pause = {1, 500000000};
  nanosleep(&pause, NULL);
}

static void *worker(void *arg) {
  pthread_setspecific(slow_cleanup, arg);
  return NULL;
}

int main(void) {
  pthread_key_create(&slow_cleanup, cleanup_slowly);
  pthread_t thread;
  static int token;
  pthread_create(&thread, NULL, worker, &token);
  pthread_join(thread, NULL);
  puts("joined");
  return 0;
}
