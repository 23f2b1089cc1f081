/*
 * pool_shutdown.c - a worker pool whose shutdown never wakes its workers.
 *
 * The story: a pool of 4 workers sleeps on 'has_work' until a task arrives.
 * pool_shutdown() sets 'stopping' under the lock and returns, trusting each
 * worker to see the flag - but it never broadcasts 'has_work', so the idle
 * workers are never woken to look at the flag. main() returns with all 4
 * still asleep. (Had pool_shutdown() joined them, the program would hang
 * instead: leakwatch would call that a deadlock, "all threads are asleep".)
 *
 * leakwatch reports a thread_leak, once with a count of 4: pool_worker
 * threads (created by T0 in pool_start) blocked in pthread_cond_wait on
 * pool.has_work, holding no locks.
 *
 * The fix (pool_shutdown_fixed.c): pool_shutdown() broadcasts 'has_work'
 * after setting the flag, then joins every worker.
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
  pool.stopping = 1; /* BUG: no broadcast, so sleeping workers never see it */
  pthread_mutex_unlock(&pool.mu);
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
