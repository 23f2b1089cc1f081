/* No deadlock: 4 threads wait on a condition variable with 50 ms timeouts
 * (pthread_cond_timedwait, and pthread_cond_clockwait) for about 2 s;
 * main signals now and then, then stops and joins them. Prints "done". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static int stop;
static long wakeups;

static struct timespec in_ms(clockid_t clock, long ms) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  ts.tv_nsec += ms * 1000000L;
  ts.tv_sec += ts.tv_nsec / 1000000000L;
  ts.tv_nsec %= 1000000000L;
  return ts;
}

static void *waiter(void *arg) {
  long self = (long)arg;
  pthread_mutex_lock(&lock);
  while (!stop) {
    if (self % 2) {
      struct timespec deadline = in_ms(CLOCK_MONOTONIC, 50);
      pthread_cond_timedwait(&cond, &lock, &deadline);
    } else {
      struct timespec deadline = in_ms(CLOCK_REALTIME, 50);
      pthread_cond_clockwait(&cond, &lock, CLOCK_REALTIME, &deadline);
    }
    wakeups++;
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

int main(void) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&cond, &attr);
  pthread_t threads[4];
  for (long i = 0; i < 4; i++)
    pthread_create(&threads[i], NULL, waiter, (void *)i);
  for (int i = 0; i < 10; i++) {
    usleep(200 * 1000);
    pthread_cond_signal(&cond);
  }
  pthread_mutex_lock(&lock);
  stop = 1;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < 4; i++)
    pthread_join(threads[i], NULL);
  printf("done\n");
  return 0;
}
