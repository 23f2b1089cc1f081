/* A correct program: its worker holds no lock at its only cancellation
 * point (pthread_testcancel), so a cancel can never leave a lock held.
 * pthread_mutex_lock is no cancellation point, but the cancel is already
 * pending while the worker takes its locks, and the nested lock is a new
 * lock-order edge, for which leakwatch captures a stack (libunwind may
 * validate addresses with system calls that are cancellation points). The
 * shim must never act on the pending cancel: afterwards both mutexes are
 * free, and there is no finding. Prints what main sees. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t inner = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t cancel_sent;
static int reached_testcancel;

static void *worker(void *arg) {
  (void)arg;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
  pthread_barrier_wait(&cancel_sent); /* not a cancellation point */
  pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
  /* The cancel is pending now; nothing below may act on it until
   * pthread_testcancel. */
  pthread_mutex_lock(&outer);
  pthread_mutex_lock(&inner);
  pthread_mutex_unlock(&inner);
  pthread_mutex_unlock(&outer);
  __atomic_store_n(&reached_testcancel, 1, __ATOMIC_SEQ_CST);
  pthread_testcancel();
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_barrier_init(&cancel_sent, NULL, 2);
  pthread_create(&t, NULL, worker, NULL);
  pthread_cancel(t);
  pthread_barrier_wait(&cancel_sent);
  void *result;
  pthread_join(t, &result);
  struct timespec soon;
  clock_gettime(CLOCK_REALTIME, &soon);
  soon.tv_sec += 2;
  int outer_rc = pthread_mutex_timedlock(&outer, &soon);
  int inner_rc = pthread_mutex_trylock(&inner);
  printf("cancelled %d reached_testcancel %d outer %s inner %s\n", result == PTHREAD_CANCELED,
         reached_testcancel,
         outer_rc == 0           ? "free"
         : outer_rc == ETIMEDOUT ? "held"
                                 : "error",
         inner_rc == 0 ? "free" : "held");
  return 0;
}
