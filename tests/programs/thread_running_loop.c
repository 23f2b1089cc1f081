/* A background polling loop that nobody stops: main returns while the
 * thread sleeps in nanosleep inside poll_loop (no blocking sync call).
 * leakwatch must give it exit_grace_ms (default 200 ms) to finish, then
 * report one thread_leak: T1 (start poll_loop, parent 0, not detached),
 * state "running", no "wait", a current "stack" that contains poll_loop,
 * created by start_poller. Prints "poller started". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static atomic_int stop;
static atomic_long rounds;

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
}

static void *poll_loop(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    sleep_ms(5);
    atomic_fetch_add(&rounds, 1);
  }
  return NULL;
}

static __attribute__((noinline)) void start_poller(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, poll_loop, NULL);
}

int main(void) {
  start_poller();
  sleep_ms(30);
  printf("poller started\n");
  return 0; /* forgets to set stop and join */
}
