/* Condition variables used correctly: a queue with two consumers woken by
 * pthread_cond_signal per item and a broadcast at shutdown, a C11 pair,
 * and signals nobody waits for. Every thread is joined: no finding.
 * Prints "done <sum>". */
#include <pthread.h>
#include <stdio.h>
#include <threads.h>

#define ITEMS 2000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nonempty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
static int queue[64], head, tail, closed;
static long sum;

static void *consumer(void *arg) {
  pthread_mutex_lock(&lock);
  for (;;) {
    while (head == tail && !closed)
      pthread_cond_wait(&nonempty, &lock);
    if (head == tail)
      break;
    sum += queue[head++ % 64];
    pthread_cond_signal(&idle);
  }
  pthread_mutex_unlock(&lock);
  return arg;
}

static mtx_t c11_lock;
static cnd_t c11_cv;
static int c11_turn;

static int c11_partner(void *arg) {
  (void)arg;
  mtx_lock(&c11_lock);
  while (!c11_turn)
    cnd_wait(&c11_cv, &c11_lock);
  mtx_unlock(&c11_lock);
  return 0;
}

int main(void) {
  pthread_t consumers[2];
  for (int i = 0; i < 2; i++)
    pthread_create(&consumers[i], NULL, consumer, NULL);
  pthread_cond_signal(&idle); /* nobody waits: harmless */
  for (int i = 1; i <= ITEMS; i++) {
    pthread_mutex_lock(&lock);
    while (tail - head == 64)
      pthread_cond_wait(&idle, &lock);
    queue[tail++ % 64] = i;
    pthread_cond_signal(&nonempty);
    pthread_mutex_unlock(&lock);
  }
  pthread_mutex_lock(&lock);
  closed = 1;
  pthread_cond_broadcast(&nonempty);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < 2; i++)
    pthread_join(consumers[i], NULL);

  mtx_init(&c11_lock, mtx_plain);
  cnd_init(&c11_cv);
  thrd_t partner;
  thrd_create(&partner, c11_partner, NULL);
  mtx_lock(&c11_lock);
  c11_turn = 1;
  cnd_broadcast(&c11_cv);
  cnd_signal(&c11_cv);
  mtx_unlock(&c11_lock);
  thrd_join(partner, NULL);
  cnd_destroy(&c11_cv);
  mtx_destroy(&c11_lock);
  printf("done %ld\n", sum);
  return 0;
}
