/*
 * symbolize_bench.c - how long the exit report takes for many leaked threads
 * with deep stacks. A benchmark, not a test; run_symbolize_bench.py drives it.
 *
 * usage: symbolize_bench [THREADS]   (default 1000)
 *
 * Starts THREADS threads from 10 creation sites (site_0 .. site_9, each with
 * its own start routine). Thread i recurses 5..30 levels through rec_a ->
 * rec_b -> rec_c -> rec_a ... and then blocks in pthread_cond_wait on one
 * condition variable that is never signalled, so with the start routine,
 * start_thread and clone the deepest stacks have more than 32 frames. Once
 * every thread has parked, main prints
 *     main_returns_ns=<CLOCK_MONOTONIC in ns>
 * flushes, and returns 0. Everything from there to the end of the process is
 * the exit: without the shim, the kernel tearing the threads down; with it,
 * also the shim's exit grace, snapshot, symbolization and writing the report.
 * CLOCK_MONOTONIC is system-wide, so the driver subtracts this from its own
 * reading when the process has ended.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SITES 10
#define MIN_DEPTH 5
#define MAX_DEPTH 30

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER; /* never signalled */
static pthread_cond_t parked_cond = PTHREAD_COND_INITIALIZER;
static int parked;
static volatile long sink;

/* The leaf: count in, then wait for good. */
static __attribute__((noinline, noclone)) void park(int depth) {
  pthread_mutex_lock(&mutex);
  parked++;
  pthread_cond_signal(&parked_cond);
  for (;;)
    pthread_cond_wait(&never, &mutex);
  sink += depth; /* not reached */
}

/* Mutual recursion; the work after each call keeps the frames (no tail
 * calls even at -O2). */
static void rec_b(int depth);
static void rec_c(int depth);

static __attribute__((noinline, noclone)) void rec_a(int depth) {
  if (depth <= 0)
    park(depth);
  else
    rec_b(depth - 1);
  sink += depth;
}

static __attribute__((noinline, noclone)) void rec_b(int depth) {
  if (depth <= 0)
    park(depth);
  else
    rec_c(depth - 1);
  sink += depth * 2;
}

static __attribute__((noinline, noclone)) void rec_c(int depth) {
  if (depth <= 0)
    park(depth);
  else
    rec_a(depth - 1);
  sink += depth * 3;
}

static pthread_attr_t attr;

/* One start routine and one creating function per site, so the creation
 * stacks and the bottoms of the blocking stacks differ by site. */
#define SITE(k)                                                                                    \
  static __attribute__((noinline, noclone)) void *start_##k(void *arg) {                           \
    rec_a((int)(long)arg);                                                                         \
    sink += k;                                                                                     \
    return NULL;                                                                                   \
  }                                                                                                \
  static __attribute__((noinline, noclone)) int site_##k(pthread_t *t, int depth) {                \
    int rc = pthread_create(t, &attr, start_##k, (void *)(long)depth);                             \
    sink += k;                                                                                     \
    return rc;                                                                                     \
  }
SITE(0)
SITE(1)
SITE(2)
SITE(3)
SITE(4)
SITE(5)
SITE(6)
SITE(7)
SITE(8)
SITE(9)

typedef int (*site_fn)(pthread_t *, int);
static const site_fn sites[SITES] = {site_0, site_1, site_2, site_3, site_4,
                                     site_5, site_6, site_7, site_8, site_9};

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1000;
  if (threads <= 0) {
    fprintf(stderr, "usage: %s [THREADS]\n", argv[0]);
    return 2;
  }
  pthread_t *ids = calloc((size_t)threads, sizeof *ids);
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (int i = 0; i < threads; i++) {
    int depth = MIN_DEPTH + (i * 7) % (MAX_DEPTH - MIN_DEPTH + 1);
    int rc = sites[i % SITES](&ids[i], depth);
    if (rc != 0) {
      fprintf(stderr, "pthread_create %d: %s\n", i, strerror(rc));
      return 1;
    }
  }
  pthread_mutex_lock(&mutex);
  while (parked < threads)
    pthread_cond_wait(&parked_cond, &mutex);
  pthread_mutex_unlock(&mutex);
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  printf("threads=%d main_returns_ns=%lld\n", threads,
         (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
  fflush(stdout);
  return 0;
}
