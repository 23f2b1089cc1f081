/*
 * test_leak.c - the same check as test_no_leak.c on code that leaks: its
 * worker waits for a signal that never comes and is never joined.
 *
 * Under leakwatch (linked or preloaded) leakwatch_verify_none reports the
 * worker (trigger "verify") and returns 1, so this exits 1, and the report
 * at exit names the leak again (its exit status is then leakwatch's
 * `exitcode`, 66, unless LEAKWATCH_OPTIONS=exitcode=0). Without leakwatch
 * the check cannot see anything: active=0 leaked=0, exit 0.
 */
#include <pthread.h>
#include <stdio.h>

#include <leakwatch.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int stop; /* never set: the bug */

static void *worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  while (!stop)
    pthread_cond_wait(&wake, &lock);
  pthread_mutex_unlock(&lock);
  return NULL;
}

int main(void) {
  printf("active=%d\n", leakwatch_active());
  fflush(stdout);
  leakwatch_ignore_current();

  pthread_t thread;
  if (pthread_create(&thread, NULL, worker, NULL) != 0)
    return 2;
  /* The fix would be: set stop under the lock, signal, join. */

  int leaked = leakwatch_verify_none(200);
  printf("leaked=%d\n", leaked);
  fflush(stdout);
  return leaked == 0 ? 0 : 1;
}
