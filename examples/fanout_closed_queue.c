/*
 * fanout_closed_queue.c - fan-out workers stuck on a queue nobody reads.
 *
 * The story: a "first answer wins" query asks 6 replicas at once. Each
 * replica runs in a worker that pushes its answer into a bounded results
 * queue (capacity 2). The consumer takes the first answer and stops reading.
 * At most 2 more answers fit in the queue; the other 3 workers block in
 * queue_push on "queue full" for ever, and nobody joins any of them.
 *
 * leakwatch reports a thread_leak, once with a count of 3: replica_worker
 * threads (created by T0 in main) blocked in pthread_cond_wait on
 * results.not_full, waiting inside queue_push. The 3 that pushed and
 * returned were never joined; leakwatch reports those as unjoined_thread.
 *
 * The fix (fanout_closed_queue_fixed.c): when the consumer is done it closes
 * the queue, which broadcasts not_full; queue_push on a closed queue drops
 * the answer and returns, and the consumer joins every worker.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>

#define REPLICAS 6
#define QUEUE_CAP 2

struct queue {
  pthread_mutex_t mu;
  pthread_cond_t not_full;  /* signalled when an item is taken */
  pthread_cond_t not_empty; /* signalled when an item is added */
  int items[QUEUE_CAP];     /* a stack: the order of answers does not matter */
  int count;
};

static struct queue results = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0,
};

static void queue_push(struct queue *q, int value) {
  pthread_mutex_lock(&q->mu);
  while (q->count == QUEUE_CAP)
    pthread_cond_wait(&q->not_full, &q->mu); /* BUG: no reader ever comes */
  q->items[q->count++] = value;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->mu);
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

static void *replica_worker(void *arg) {
  (void)arg;
  queue_push(&results, 42); /* stands in for asking one replica */
  return NULL;
}

int main(void) {
  pthread_t workers[REPLICAS];

  for (int i = 0; i < REPLICAS; i++)
    pthread_create(&workers[i], NULL, replica_worker, NULL);

  int answer = queue_pop(&results);
  /* BUG: returns without closing the queue or joining the workers. */
  printf("fanout_closed_queue: first answer %d of %d replicas\n", answer, REPLICAS);
  return 0;
}
