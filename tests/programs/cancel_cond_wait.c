/* pthread_cancel of a thread blocked in pthread_cond_wait: the thread's
 * cleanup handler runs with the mutex held again (POSIX) and unlocks it
 * (an error-checking mutex: the unlock returns 0 only for its owner, EPERM
 * otherwise); main joins the thread (PTHREAD_CANCELED) and
 * can then lock the mutex itself. Prints each step. leakwatch must not
 * change the output or the status (0), and reports nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mutex;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int waiting, unlock_rc = -1;

static void release(void *arg) { unlock_rc = pthread_mutex_unlock(arg); }

static void *waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mutex);
  waiting = 1;
  pthread_cleanup_push(release, &mutex);
  for (;;)
    pthread_cond_wait(&cond, &mutex);
  pthread_cleanup_pop(0);
  return NULL;
}

static const char *name(int rc) {
  return rc == 0 ? "0" : rc == EDEADLK ? "EDEADLK" : rc == EPERM ? "EPERM" : strerror(rc);
}

int main(void) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&mutex, &attr);
  pthread_mutexattr_destroy(&attr);
  pthread_t thread;
  pthread_create(&thread, NULL, waiter, NULL);
  /* Once main can lock the mutex and sees `waiting`, the worker is inside
   * pthread_cond_wait (which released the mutex). */
  for (;;) {
    pthread_mutex_lock(&mutex);
    int in_wait = waiting;
    pthread_mutex_unlock(&mutex);
    if (in_wait)
      break;
    struct timespec pause = {0, 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  printf("cancel: %s\n", name(pthread_cancel(thread)));
  void *result = NULL;
  printf("join: %s\n", name(pthread_join(thread, &result)));
  printf("result: %s\n", result == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "other");
  printf("cleanup handler unlock: %s\n", name(unlock_rc));
  printf("main lock: %s\n", name(pthread_mutex_lock(&mutex)));
  printf("main unlock: %s\n", name(pthread_mutex_unlock(&mutex)));
  return 0;
}
