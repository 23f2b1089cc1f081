/* An ABBA deadlock where one side's lock lies deeper than the shim's held
 * list (16 entries) reaches: T1 (deep) takes argv[1]-1 other mutexes first
 * (default 17 in all), then A; T2 (shallow) takes B. Then T1 wants B and
 * T2 wants A. glibc's owner field of A names T1 however deep A lies. main
 * sleeps argv[2] ms (default 1500) and returns: the exit report sees the
 * deadlock if live detection did not end the process first.
 * Prints "A <addr>", "B <addr>" and "formed <ms>" before each blocking
 * lock. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_DEPTH 64
static pthread_mutex_t others[MAX_DEPTH];
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static atomic_int holding;
static int depth = 17;

static void nap_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&pause, &pause) != 0)
    continue;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void wait_for_both(void) {
  atomic_fetch_add(&holding, 1);
  while (atomic_load(&holding) < 2)
    nap_ms(1);
}

static void *deep(void *arg) {
  for (int i = 0; i < depth - 1; i++)
    pthread_mutex_lock(&others[i]);
  pthread_mutex_lock(&a);
  wait_for_both();
  printf("formed %ld\n", now_ms());
  fflush(stdout);
  pthread_mutex_lock(&b);
  return arg;
}

static void *shallow(void *arg) {
  pthread_mutex_lock(&b);
  wait_for_both();
  printf("formed %ld\n", now_ms());
  fflush(stdout);
  pthread_mutex_lock(&a);
  return arg;
}

int main(int argc, char **argv) {
  if (argc > 1)
    depth = atoi(argv[1]);
  if (depth < 1 || depth > MAX_DEPTH)
    return 2;
  long linger_ms = argc > 2 ? atol(argv[2]) : 1500;
  for (int i = 0; i < MAX_DEPTH; i++)
    pthread_mutex_init(&others[i], NULL);
  printf("A %p\nB %p\n", (void *)&a, (void *)&b);
  fflush(stdout);
  pthread_t t1, t2;
  pthread_create(&t1, NULL, deep, NULL);
  pthread_create(&t2, NULL, shallow, NULL);
  nap_ms(linger_ms);
  return 0;
}
