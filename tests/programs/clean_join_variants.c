/* Threads ended and reaped through every entry point: pthread_join,
 * pthread_tryjoin_np (retried until the thread has finished),
 * pthread_timedjoin_np, pthread_clockjoin_np, thrd_join, and, for threads
 * that finish before exit, pthread_detach and thrd_detach. Each worker
 * sleeps 10 ms (so the joins really wait) and returns a value that main
 * prints. leakwatch must report nothing and keep the status 0; the output
 * is the same with and without it. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <threads.h>
#include <time.h>

static sem_t finished;

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
}

static void *work(void *arg) {
  sleep_ms(10);
  return (void *)((long)arg * 3);
}

static void *work_then_post(void *arg) {
  sleep_ms(10);
  sem_post(&finished);
  return arg;
}

static int c11_work(void *arg) {
  sleep_ms(10);
  return (int)(long)arg * 3;
}

static int c11_work_then_post(void *arg) {
  sleep_ms(10);
  sem_post(&finished);
  return (int)(long)arg;
}

static struct timespec in_seconds(clockid_t clock, int seconds) {
  struct timespec t;
  clock_gettime(clock, &t);
  t.tv_sec += seconds;
  return t;
}

int main(void) {
  sem_init(&finished, 0, 0);
  pthread_t t;
  void *result;

  pthread_create(&t, NULL, work, (void *)1L);
  int rc = pthread_join(t, &result);
  printf("pthread_join rc %d result %ld\n", rc, (long)result);

  pthread_create(&t, NULL, work, (void *)2L);
  while ((rc = pthread_tryjoin_np(t, &result)) == EBUSY)
    sleep_ms(1);
  printf("pthread_tryjoin_np rc %d result %ld\n", rc, (long)result);

  pthread_create(&t, NULL, work, (void *)3L);
  struct timespec deadline = in_seconds(CLOCK_REALTIME, 10);
  rc = pthread_timedjoin_np(t, &result, &deadline);
  printf("pthread_timedjoin_np rc %d result %ld\n", rc, (long)result);

  pthread_create(&t, NULL, work, (void *)4L);
  deadline = in_seconds(CLOCK_MONOTONIC, 10);
  rc = pthread_clockjoin_np(t, &result, CLOCK_MONOTONIC, &deadline);
  printf("pthread_clockjoin_np rc %d result %ld\n", rc, (long)result);

  thrd_t c11;
  int c11_result = 0;
  thrd_create(&c11, c11_work, (void *)5L);
  rc = thrd_join(c11, &c11_result);
  printf("thrd_join %s result %d\n", rc == thrd_success ? "success" : "error", c11_result);

  pthread_create(&t, NULL, work_then_post, NULL);
  printf("pthread_detach rc %d\n", pthread_detach(t));
  thrd_create(&c11, c11_work_then_post, NULL);
  printf("thrd_detach %s\n", thrd_detach(c11) == thrd_success ? "success" : "error");
  sem_wait(&finished);
  sem_wait(&finished);
  printf("detached threads finished\n");
  return 0;
}
