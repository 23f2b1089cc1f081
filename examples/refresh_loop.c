/*
 * refresh_loop.c - a background refresh loop that nothing can stop.
 *
 * The story: a rate cache starts a thread that re-reads the rate every 20 ms
 * and publishes it. The loop is `for (;;) { refresh; nanosleep; }`: there is
 * no stop flag, and a sleeping thread cannot be woken anyway. main() reads
 * the rate once it has been refreshed a few times and returns; the refresher
 * is still looping when the process exits.
 *
 * leakwatch reports a thread_leak: T1 (refresher, created by T0 in
 * rate_cache_start) still alive at exit and running - it sleeps in nanosleep
 * between refreshes, which is not a lock or condition wait, so it is not
 * "blocked" and leakwatch gives it exit_grace_ms to finish first.
 *
 * The fix (refresh_loop_fixed.c): sleep in a timed wait on a condition
 * variable, add a 'stopping' flag, and have rate_cache_stop() set it,
 * broadcast and join.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <time.h>

struct rate_cache {
  pthread_mutex_t mu;
  pthread_cond_t refreshed; /* broadcast after every refresh */
  unsigned refreshes;       /* how many times 'rate' was refreshed */
  int rate;                 /* the cached value */
};

static struct rate_cache cache = {
    PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_COND_INITIALIZER,
    0,
    0,
};

/* Stands in for an expensive read from a file or a server. */
static int read_rate(unsigned n) { return 100 + (int)(n % 7); }

static void *refresher(void *arg) {
  const struct timespec period = {0, 20 * 1000 * 1000};

  (void)arg;
  for (;;) { /* BUG: no way out of this loop */
    pthread_mutex_lock(&cache.mu);
    cache.rate = read_rate(cache.refreshes);
    cache.refreshes++;
    pthread_cond_broadcast(&cache.refreshed);
    pthread_mutex_unlock(&cache.mu);
    nanosleep(&period, NULL);
  }
  return NULL;
}

static int rate_cache_start(void) {
  pthread_t tid;
  return pthread_create(&tid, NULL, refresher, NULL);
}

int main(void) {
  int rate;

  if (rate_cache_start() != 0)
    return 1;
  pthread_mutex_lock(&cache.mu);
  while (cache.refreshes < 3)
    pthread_cond_wait(&cache.refreshed, &cache.mu);
  rate = cache.rate;
  pthread_mutex_unlock(&cache.mu);

  printf("refresh_loop: rate %d after 3 refreshes\n", rate);
  return 0; /* the refresher is still running */
}
