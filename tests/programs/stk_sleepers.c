/* Threads blocked in system calls leakwatch does not wrap, for issue 16
 * item 3: the shim must never signal them (a signal makes sleep and
 * nanosleep return early and epoll_wait, nanosleep and others fail with
 * EINTR), yet still show their stacks.
 *
 * argv[1] = "watchdog": T1 (watchdog) calls sleep(10) from watchdog_wait;
 *   main prints "ready" and returns after 300 ms, so the exit report runs
 *   while T1 sleeps. If the sleep ends early T1 prints "sleep returned
 *   early", then "watchdog timer expired", and calls exit(0) (which
 *   under the real bug ended the process with 0 and no report). Expected:
 *   status 66 (T1 leaked), nothing printed but "ready".
 * argv[1] = "loop": T1 (napper) sleeps 20 ms at a time in nanosleep, from
 *   nap_loop, counting the calls that fail with EINTR; T2 (reader) blocks
 *   in read(2) on stdin, from read_command. main prints "ready" and joins
 *   both. When stdin ends, T2 stops T1, which prints "eintr N" (N must
 *   stay 0 across dumps), and main returns 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;

__attribute__((noinline)) static void watchdog_wait(void) {
  unsigned left = sleep(10);
  if (left) {
    printf("sleep returned early (%u s left)\n", left);
  }
  printf("watchdog timer expired\n");
  fflush(stdout);
  exit(0);
}

static void *watchdog(void *arg) {
  watchdog_wait();
  return arg;
}

__attribute__((noinline)) static void nap_loop(void) {
  int interrupted = 0;
  while (!atomic_load(&stop)) {
    struct timespec nap = {0, 20 * 1000000L};
    if (nanosleep(&nap, NULL) != 0 && errno == EINTR)
      interrupted++;
  }
  printf("eintr %d\n", interrupted);
}

static void *napper(void *arg) {
  nap_loop();
  return arg;
}

__attribute__((noinline)) static void read_command(void) {
  char buf[64];
  while (read(0, buf, sizeof buf) > 0)
    continue;
  atomic_store(&stop, 1);
}

static void *reader(void *arg) {
  read_command();
  return arg;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "watchdog") == 0) {
    pthread_t thread;
    pthread_create(&thread, NULL, watchdog, NULL);
    pthread_setname_np(thread, "watchdog");
    struct timespec pause = {0, 300 * 1000000L};
    nanosleep(&pause, NULL);
    printf("ready\n");
    return 0;
  }
  pthread_t nap_thread, read_thread;
  pthread_create(&nap_thread, NULL, napper, NULL);
  pthread_setname_np(nap_thread, "napper");
  pthread_create(&read_thread, NULL, reader, NULL);
  pthread_setname_np(read_thread, "reader");
  struct timespec settle = {0, 100 * 1000000L};
  nanosleep(&settle, NULL);
  printf("ready\n");
  fflush(stdout);
  pthread_join(read_thread, NULL);
  pthread_join(nap_thread, NULL);
  return 0;
}
