/* main calls pthread_exit while its workers are still working; the process
 * ends (exit(0), run by the last thread to finish) only when every thread
 * has ended, and leakwatch's report must come then.
 *
 *   fault_pthread_exit_main clean|unjoined
 * main starts three workers (each sums its share for ~100 ms under a
 * mutex) and a detached collector that joins the three workers and prints
 * the total; then main calls pthread_exit. In "unjoined" mode main also
 * starts a joinable "straggler" that nobody joins: it ends after ~150 ms.
 * Output: "main calls pthread_exit" then "collector: total 1800". Expected
 * under leakwatch: clean → no findings, status 0; unjoined → one
 * unjoined_thread finding for the straggler, status 66. main (T0) is never
 * a finding. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t total_mutex = PTHREAD_MUTEX_INITIALIZER;
static long total;
static pthread_t workers[3];

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void *worker(void *arg) {
  long share = (long)arg;
  for (int i = 0; i < 10; i++) {
    sleep_ms(10);
    pthread_mutex_lock(&total_mutex);
    total += share;
    pthread_mutex_unlock(&total_mutex);
  }
  return NULL;
}

static void *collector(void *arg) {
  (void)arg;
  for (int i = 0; i < 3; i++)
    pthread_join(workers[i], NULL);
  pthread_mutex_lock(&total_mutex);
  printf("collector: total %ld\n", total);
  pthread_mutex_unlock(&total_mutex);
  fflush(stdout);
  return NULL;
}

static void *straggler(void *arg) {
  sleep_ms(150);
  return arg;
}

int main(int argc, char **argv) {
  if (argc != 2 || (strcmp(argv[1], "clean") != 0 && strcmp(argv[1], "unjoined") != 0)) {
    fprintf(stderr, "usage: %s clean|unjoined\n", argv[0]);
    return 2;
  }
  for (long i = 0; i < 3; i++)
    pthread_create(&workers[i], NULL, worker, (void *)((i + 1) * 30));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  pthread_create(&t, &attr, collector, NULL);
  pthread_attr_destroy(&attr);
  if (strcmp(argv[1], "unjoined") == 0)
    pthread_create(&t, NULL, straggler, NULL);
  printf("main calls pthread_exit\n");
  fflush(stdout);
  pthread_exit(NULL);
}
