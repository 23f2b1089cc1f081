/* Two threads, released together by a barrier, take two mutexes once, in
 * opposite orders (a latent ABBA). Without leakwatch it practically never
 * deadlocks: the window between a thread's two acquisitions is a few
 * nanoseconds. leakwatch must not widen it (no work between a successful
 * first lock and the try of the second), and must still report the
 * lock_order_inversion in every run. A run that deadlocks ends through
 * deadlock_action=exit. Prints "done" when both threads finished. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t second = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start;

static void *forward(void *arg) {
  (void)arg;
  pthread_barrier_wait(&start);
  pthread_mutex_lock(&first);
  pthread_mutex_lock(&second);
  pthread_mutex_unlock(&second);
  pthread_mutex_unlock(&first);
  return NULL;
}

static void *backward(void *arg) {
  (void)arg;
  pthread_barrier_wait(&start);
  pthread_mutex_lock(&second);
  pthread_mutex_lock(&first);
  pthread_mutex_unlock(&first);
  pthread_mutex_unlock(&second);
  return NULL;
}

int main(void) {
  pthread_t a, b;
  pthread_barrier_init(&start, NULL, 2);
  pthread_create(&a, NULL, forward, NULL);
  pthread_create(&b, NULL, backward, NULL);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  puts("done");
  return 0;
}
