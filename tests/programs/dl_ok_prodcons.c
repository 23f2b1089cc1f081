/* No deadlock: a bounded queue (8 slots) with two condition variables;
 * 2 producers push 200000 items each (with an occasional short sleep so
 * the consumers also block for a while), 2 consumers pop until they see
 * the end marker. Prints "sum <n>". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define SLOTS 8
#define ITEMS 200000L

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static long queue[SLOTS];
static int head, count;
static long sum;

static void push(long item) {
  pthread_mutex_lock(&lock);
  while (count == SLOTS)
    pthread_cond_wait(&not_full, &lock);
  queue[(head + count++) % SLOTS] = item;
  pthread_cond_signal(&not_empty);
  pthread_mutex_unlock(&lock);
}

static long pop(void) {
  pthread_mutex_lock(&lock);
  while (count == 0)
    pthread_cond_wait(&not_empty, &lock);
  long item = queue[head];
  head = (head + 1) % SLOTS;
  count--;
  pthread_cond_signal(&not_full);
  pthread_mutex_unlock(&lock);
  return item;
}

static void *producer(void *arg) {
  (void)arg;
  for (long i = 1; i <= ITEMS; i++) {
    push(i);
    if (i % 20000 == 0)
      usleep(50 * 1000);
  }
  return NULL;
}

static void *consumer(void *arg) {
  long local = 0;
  for (;;) {
    long item = pop();
    if (item < 0)
      break;
    local += item;
  }
  pthread_mutex_lock(&lock);
  sum += local;
  pthread_mutex_unlock(&lock);
  return arg;
}

int main(void) {
  pthread_t producers[2], consumers[2];
  for (int i = 0; i < 2; i++)
    pthread_create(&consumers[i], NULL, consumer, NULL);
  for (int i = 0; i < 2; i++)
    pthread_create(&producers[i], NULL, producer, NULL);
  for (int i = 0; i < 2; i++)
    pthread_join(producers[i], NULL);
  push(-1);
  push(-1);
  for (int i = 0; i < 2; i++)
    pthread_join(consumers[i], NULL);
  printf("sum %ld\n", sum);
  return 0;
}
