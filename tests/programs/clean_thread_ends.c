/* Threads end in every way, and each is joined: returning from the start
 * routine, pthread_exit from a nested call, thrd_exit in a C11 thread, and
 * pthread_cancel (one thread cancelled while blocked in sem_wait, one while
 * sleeping in a nanosleep loop). main prints what each join returned.
 * leakwatch must report nothing and keep status 0; output identical with
 * and without it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <threads.h>
#include <time.h>

static sem_t never;

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
}

static void *returns(void *arg) { return arg; }

static __attribute__((noinline)) void leave_early(long value) { pthread_exit((void *)value); }

static void *exits(void *arg) {
  leave_early((long)arg + 1);
  return NULL; /* not reached */
}

static int c11_exits(void *arg) { thrd_exit((int)(long)arg); }

static void *blocked_in_sem(void *arg) {
  (void)arg;
  sem_wait(&never);
  return NULL;
}

static void *sleeping_loop(void *arg) {
  (void)arg;
  for (;;)
    sleep_ms(1);
  return NULL;
}

static const char *describe(void *result) {
  return result == PTHREAD_CANCELED ? "canceled" : "not canceled";
}

int main(void) {
  sem_init(&never, 0, 0);
  pthread_t t;
  void *result;

  pthread_create(&t, NULL, returns, (void *)11L);
  pthread_join(t, &result);
  printf("return: %ld\n", (long)result);

  pthread_create(&t, NULL, exits, (void *)21L);
  pthread_join(t, &result);
  printf("pthread_exit: %ld\n", (long)result);

  thrd_t c11;
  int c11_result = 0;
  thrd_create(&c11, c11_exits, (void *)31L);
  thrd_join(c11, &c11_result);
  printf("thrd_exit: %d\n", c11_result);

  pthread_create(&t, NULL, blocked_in_sem, NULL);
  sleep_ms(20);
  printf("cancel rc %d\n", pthread_cancel(t));
  pthread_join(t, &result);
  printf("cancelled in sem_wait: %s\n", describe(result));

  pthread_create(&t, NULL, sleeping_loop, NULL);
  sleep_ms(20);
  printf("cancel rc %d\n", pthread_cancel(t));
  pthread_join(t, &result);
  printf("cancelled in nanosleep: %s\n", describe(result));
  return 0;
}
