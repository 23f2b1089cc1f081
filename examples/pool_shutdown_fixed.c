/*
 * pool_shutdown_fixed.c - pool_shutdown.c with a shutdown that wakes workers.
 *
 * The bug was: pool_shutdown() set 'stopping' but never broadcast
 * 'has_work', so the 4 idle workers slept on and were still blocked in
 * pthread_cond_wait when main() returned (leakwatch: thread_leak x4).
 *
 * The fix: after setting the flag, broadcast - every worker must wake, not
 * just one, so pthread_cond_signal would not do - then join them all.
 * leakwatch reports nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>

#define WORKERS 4
#define TASKS 8

struct pool {
  pthread_mutex_t mu;
  pthread_cond_t has_work; /* for idle workers: new tasks or shutdown */
  pthread_cond_t progress; /* signalled when a worker starts or ends a task */
  int queued, taken, done; /* tasks are just the numbers 1..TASKS */
  int started;             /* workers that reached their loop */
  long sum;                /* the tasks' combined result */
  int stopping;
  pthread_t threads[WORKERS];
};

static struct pool pool = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .has_work = PTHREAD_COND_INITIALIZER,
    .progress = PTHREAD_COND_INITIALIZER,
};

static void *pool_worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&pool.mu);
  pool.started++;
  pthread_cond_signal(&pool.progress);
  for (;;) {
    while (pool.taken == pool.queued && !pool.stopping)
      pthread_cond_wait(&pool.has_work, &pool.mu);
    if (pool.taken == pool.queued) /* stopping and nothing left */
      break;
    int n = ++pool.taken;
    pthread_mutex_unlock(&pool.mu);
    long square = (long)n * n; /* the "work" */
    pthread_mutex_lock(&pool.mu);
    pool.sum += square;
    pool.done++;
    pthread_cond_signal(&pool.progress);
  }
  pthread_mutex_unlock(&pool.mu);
  return NULL;
}

static void pool_start(void) {
  for (int i = 0; i < WORKERS; i++)
    pthread_create(&pool.threads[i], NULL, pool_worker, NULL);
}

static void pool_shutdown(void) {
  pthread_mutex_lock(&pool.mu);
  pool.stopping = 1;
  pthread_cond_broadcast(&pool.has_work); /* wake every idle worker */
  pthread_mutex_unlock(&pool.mu);
  for (int i = 0; i < WORKERS; i++)
    pthread_join(pool.threads[i], NULL);
}

int main(void) {
  /* The batch is queued before the workers start, so no wakeup is still
   * in flight once the last task is done: all 4 workers are then idle in
   * pthread_cond_wait, and the shutdown below is the only thing they see. */
  pool.queued = TASKS;
  pool_start();

  pthread_mutex_lock(&pool.mu);
  while (pool.done < TASKS || pool.started < WORKERS)
    pthread_cond_wait(&pool.progress, &pool.mu);
  long sum = pool.sum;
  pthread_mutex_unlock(&pool.mu);

  pool_shutdown();
  printf("pool_shutdown: %d tasks done, sum of squares %ld\n", TASKS, sum);
  return 0;
}
