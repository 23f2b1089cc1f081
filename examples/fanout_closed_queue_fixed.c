/*
 * fanout_closed_queue_fixed.c - fanout_closed_queue.c with a closable queue.
 *
 * The bug was: the consumer took the first answer and stopped reading, so
 * the workers still pushing blocked on "queue full" for ever (leakwatch:
 * thread_leak x3, blocked in pthread_cond_wait on results.not_full).
 *
 * The fix: queue_close() marks the queue closed and broadcasts not_full, so
 * every blocked or late push gives up; the consumer then joins every worker.
 * (Draining the queue until all workers are done works too, but wastes the
 * wait for the slowest replica that "first answer wins" exists to avoid.)
 * leakwatch reports nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>

#define REPLICAS 6
#define QUEUE_CAP 2

struct queue {
  pthread_mutex_t mu;
  pthread_cond_t not_full;  /* signalled when an item is taken or on close */
  pthread_cond_t not_empty; /* signalled when an item is added */
  int items[QUEUE_CAP];     /* a stack: the order of answers does not matter */
  int count;
  int closed; /* set by queue_close(); pushes are dropped */
};

static struct queue results = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0,
};

/* Returns 0 when queued, -1 when the queue was closed (value dropped). */
static int queue_push(struct queue *q, int value) {
  pthread_mutex_lock(&q->mu);
  while (q->count == QUEUE_CAP && !q->closed)
    pthread_cond_wait(&q->not_full, &q->mu);
  int rc = q->closed ? -1 : 0;
  if (rc == 0) {
    q->items[q->count++] = value;
    pthread_cond_signal(&q->not_empty);
  }
  pthread_mutex_unlock(&q->mu);
  return rc;
}

static int queue_pop(struct queue *q) {
  pthread_mutex_lock(&q->mu);
  while (q->count == 0)
    pthread_cond_wait(&q->not_empty, &q->mu);
  int value = q->items[--q->count];
  pthread_cond_signal(&q->not_full);
  pthread_mutex_unlock(&q->mu);
  return value;
}

static void queue_close(struct queue *q) {
  pthread_mutex_lock(&q->mu);
  q->closed = 1;
  pthread_cond_broadcast(&q->not_full); /* every blocked pusher must see it */
  pthread_mutex_unlock(&q->mu);
}

static void *replica_worker(void *arg) {
  (void)arg;
  queue_push(&results, 42); /* a dropped answer is fine: we have one */
  return NULL;
}

int main(void) {
  pthread_t workers[REPLICAS];

  for (int i = 0; i < REPLICAS; i++)
    pthread_create(&workers[i], NULL, replica_worker, NULL);

  int answer = queue_pop(&results);
  queue_close(&results);
  for (int i = 0; i < REPLICAS; i++)
    pthread_join(workers[i], NULL);
  printf("fanout_closed_queue: first answer %d of %d replicas\n", answer, REPLICAS);
  return 0;
}
