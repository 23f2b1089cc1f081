/* The libraries the shim loads when first needed, not at start:
 *  - libunwind, when a thread has captured many stacks (loaded by the
 *    helper thread, off the program's threads) or a report needs it;
 *  - libdw (and libelf, libz, liblzma, libbz2 behind it), when a report
 *    needs symbols.
 * Prints which are mapped after a clean thread's life, after main has
 * created 100 threads (100 creation stacks: libunwind is wanted from the
 * 64th), and after a live report (leakwatch_report). */
#include <fcntl.h>
#include <leakwatch.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "maps_common.h"

static void show(const char *when) {
  printf("%s: libunwind %s, libdw %s\n", when, maps_has("/libunwind") ? "mapped" : "not mapped",
         maps_has("/libdw") ? "mapped" : "not mapped");
}

static void *work(void *arg) { return arg; }

int main(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, work, NULL);
  pthread_join(thread, NULL);
  show("after one thread");
  for (int i = 0; i < 100; i++) {
    pthread_create(&thread, NULL, work, NULL);
    pthread_join(thread, NULL);
  }
  /* The helper loads it when it wakes next: up to 5 s on a loaded machine. */
  for (int waited = 0; waited < 500 && !maps_has("/libunwind"); waited++) {
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  show("after 100 threads");
  int null_fd = open("/dev/null", O_WRONLY);
  leakwatch_report(null_fd);
  close(null_fd);
  show("after a report");
  return 0;
}
