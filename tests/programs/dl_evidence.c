/* Evidence for waits without an owner. T1 waits on `never`, which no
 * thread ever signals; T3 waits on `once`, which T2 signalled (with
 * nobody waiting yet) before it exited and was joined; T4 waits on a
 * semaphore main posted twice and T4 consumed. All three leak. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER, once = PTHREAD_COND_INITIALIZER;
static sem_t tokens;

static void *wait_never(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  for (;;)
    pthread_cond_wait(&never, &lock);
  return NULL;
}

static void *signal_once(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  pthread_cond_signal(&once);
  pthread_mutex_unlock(&lock);
  return NULL;
}

static void *wait_once(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  for (;;)
    pthread_cond_wait(&once, &lock);
  return NULL;
}

static void *take_tokens(void *arg) {
  (void)arg;
  for (;;)
    sem_wait(&tokens);
  return NULL;
}

int main(void) {
  sem_init(&tokens, 0, 0);
  printf("never %p\nonce %p\ntokens %p\n", (void *)&never, (void *)&once, (void *)&tokens);
  fflush(stdout);
  pthread_t t1, t2, t3, t4;
  pthread_create(&t1, NULL, wait_never, NULL);
  pthread_create(&t2, NULL, signal_once, NULL);
  pthread_join(t2, NULL);
  pthread_create(&t3, NULL, wait_once, NULL);
  pthread_create(&t4, NULL, take_tokens, NULL);
  sem_post(&tokens);
  sem_post(&tokens);
  usleep(100 * 1000);
  return 0;
}
