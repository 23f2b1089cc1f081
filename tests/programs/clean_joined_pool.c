/* A pool of 8 workers that all finish and are joined, plus 1000
 * short-lived threads created and joined one by one: nothing to report. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long total;

static void *work(void *arg) {
  long n = (long)arg;
  for (int i = 0; i < 1000; i++) {
    pthread_mutex_lock(&lock);
    total += n;
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

int main(void) {
  pthread_t pool[8];
  for (long i = 0; i < 8; i++)
    pthread_create(&pool[i], NULL, work, (void *)i);
  for (int i = 0; i < 8; i++)
    pthread_join(pool[i], NULL);
  for (long i = 0; i < 1000; i++) {
    pthread_t t;
    pthread_create(&t, NULL, work, (void *)1);
    pthread_join(t, NULL);
  }
  printf("total %ld\n", total);
  return 0;
}
