/* Many lock-order edges, for the graph's speed (issue 16 item 7): main
 * (T0) holds `outer` and takes the pairs m[i] then m[i-1] for i = 1..N-1,
 * a chain of N-1 edges m[i] -> m[i-1] (each under the gate `outer`) beside
 * N-1 edges outer -> m[i]. Among them:
 *   - at i = N/4, still under `outer`, m[i-1] then m[i]: a cycle whose
 *     every edge was made under `outer`, so not an inversion;
 *   - at i = N/2, thread T1 (no gate) takes m[i-1] then m[i]: an inversion
 *     against T0's m[i] then m[i-1] (printed as A and B);
 *   - at i = 3N/4, thread T2 does the same again: the same cycle, no
 *     second finding.
 *   argv[1] = N (default 50000);
 *   argv[2] = "ungate": at the end, thread T3 takes the N/4 pair in the
 *             gated order without the gate (printed as GA, GB): the gated
 *             cycle's edge, now made outside the gate, is an inversion.
 * Prints "A <addr>", "B <addr>", "GA <addr>", "GB <addr>" and "many N". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *m;
static volatile long counter;

/* Takes `first`, then `second`. */
static __attribute__((noinline)) void take_pair(pthread_mutex_t *first, pthread_mutex_t *second) {
  pthread_mutex_lock(first);
  pthread_mutex_lock(second);
  counter++;
  pthread_mutex_unlock(second);
  pthread_mutex_unlock(first);
}

static void *plant(void *arg) {
  long k = (long)arg;
  take_pair(&m[k - 1], &m[k]);
  return NULL;
}

static void in_thread(long k) {
  pthread_t t;
  if (pthread_create(&t, NULL, plant, (void *)k) != 0) {
    fprintf(stderr, "pthread_create failed\n");
    exit(2);
  }
  pthread_join(t, NULL);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  long n = argc > 1 ? atol(argv[1]) : 50000;
  int ungate = argc > 2 && strcmp(argv[2], "ungate") == 0;
  if (n < 8) {
    fprintf(stderr, "usage: lo_many N [ungate] (N >= 8)\n");
    return 2;
  }
  m = calloc((size_t)n, sizeof *m);
  if (!m)
    return 2;
  for (long i = 0; i < n; i++)
    pthread_mutex_init(&m[i], NULL);
  long gated = n / 4, planted = n / 2;
  printf("A %p\nB %p\nGA %p\nGB %p\n", (void *)&m[planted - 1], (void *)&m[planted],
         (void *)&m[gated - 1], (void *)&m[gated]);
  pthread_mutex_lock(&outer);
  for (long i = 1; i < n; i++) {
    take_pair(&m[i], &m[i - 1]);
    if (i == gated)
      take_pair(&m[i - 1], &m[i]);
    if (i == planted)
      in_thread(planted);
    if (i == 3 * n / 4)
      in_thread(planted);
  }
  pthread_mutex_unlock(&outer);
  if (ungate)
    in_thread(gated);
  printf("many %ld\n", (long)counter);
  return 0;
}
