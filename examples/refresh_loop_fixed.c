/*
 * refresh_loop_fixed.c - refresh_loop.c with a way to stop the refresher.
 *
 * The bug was: the refresh thread looped on `refresh; nanosleep;` with no
 * stop flag, so it was still running when main() returned (leakwatch:
 * thread_leak, running).
 *
 * The fix: the refresher sleeps in pthread_cond_timedwait on a condition
 * variable (on CLOCK_MONOTONIC, so clock changes do not stretch the sleep),
 * and rate_cache_stop() sets 'stopping', broadcasts to cut the sleep short,
 * and joins. leakwatch reports nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <time.h>

struct rate_cache {
  pthread_mutex_t mu;
  pthread_cond_t changed; /* broadcast after a refresh and on stop */
  unsigned refreshes;     /* how many times 'rate' was refreshed */
  int rate;               /* the cached value */
  int stopping;           /* set by rate_cache_stop() */
  pthread_t thread;
};

static struct rate_cache cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Stands in for an expensive read from a file or a server. */
static int read_rate(unsigned n) { return 100 + (int)(n % 7); }

static void *refresher(void *arg) {
  (void)arg;
  pthread_mutex_lock(&cache.mu);
  while (!cache.stopping) {
    struct timespec next;
    cache.rate = read_rate(cache.refreshes);
    cache.refreshes++;
    pthread_cond_broadcast(&cache.changed);

    clock_gettime(CLOCK_MONOTONIC, &next);
    next.tv_nsec += 20 * 1000 * 1000;
    if (next.tv_nsec >= 1000000000) {
      next.tv_sec++;
      next.tv_nsec -= 1000000000;
    }
    /* Wakes at the deadline or on stop; the loop rechecks 'stopping'. */
    pthread_cond_timedwait(&cache.changed, &cache.mu, &next);
  }
  pthread_mutex_unlock(&cache.mu);
  return NULL;
}

static int rate_cache_start(void) {
  pthread_condattr_t attr;

  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&cache.changed, &attr);
  pthread_condattr_destroy(&attr);
  return pthread_create(&cache.thread, NULL, refresher, NULL);
}

static void rate_cache_stop(void) {
  pthread_mutex_lock(&cache.mu);
  cache.stopping = 1;
  pthread_cond_broadcast(&cache.changed);
  pthread_mutex_unlock(&cache.mu);
  pthread_join(cache.thread, NULL);
  pthread_cond_destroy(&cache.changed);
}

int main(void) {
  int rate;

  if (rate_cache_start() != 0)
    return 1;
  pthread_mutex_lock(&cache.mu);
  while (cache.refreshes < 3)
    pthread_cond_wait(&cache.changed, &cache.mu);
  rate = cache.rate;
  pthread_mutex_unlock(&cache.mu);

  rate_cache_stop();
  printf("refresh_loop: rate %d after 3 refreshes\n", rate);
  return 0;
}
