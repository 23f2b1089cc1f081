/* The last wake-up of a condition variable, for its stuck waiters.
 *
 * Three pool workers wait on `work_ready` for work that never comes; the
 * producer thread wakes the condition variable once while all three wait
 * (holding the mutex, so glibc counts the three), then ends; main joins
 * the producer and returns: the three workers are leaked, blocked, and the
 * report says who last woke their condition variable, how, from where.
 *
 * argv[1]: signal | broadcast | never | c11signal | c11broadcast
 * (c11*: the same with mtx_t, cnd_t and thrd_t). Prints "line <n>", the
 * line of the waking call, then "ready". */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <threads.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static int waiting, have_work;
static const char *mode;

static mtx_t c11_lock;
static cnd_t c11_ready;

static void *pool_worker(void *arg) {
  pthread_mutex_lock(&lock);
  waiting++;
  while (!have_work)
    pthread_cond_wait(&work_ready, &lock);
  pthread_mutex_unlock(&lock);
  return arg;
}

static int c11_worker(void *arg) {
  (void)arg;
  mtx_lock(&c11_lock);
  waiting++;
  while (!have_work)
    cnd_wait(&c11_ready, &c11_lock);
  mtx_unlock(&c11_lock);
  return 0;
}

/* Waits until the three workers are inside their waits (they count
 * themselves under the mutex, which they give up only in the wait). */
static __attribute__((noinline)) void wake_pool(void) {
  for (;;) {
    pthread_mutex_lock(&lock);
    if (waiting == 3)
      break;
    pthread_mutex_unlock(&lock);
    thrd_yield();
  }
  /* No work is queued: the wake-up is for nothing (a bug's shape). */
  if (strcmp(mode, "signal") == 0) {
    printf("line %d\n", __LINE__ + 1);
    pthread_cond_signal(&work_ready);
  } else if (strcmp(mode, "broadcast") == 0) {
    printf("line %d\n", __LINE__ + 1);
    pthread_cond_broadcast(&work_ready);
  }
  pthread_mutex_unlock(&lock);
}

static __attribute__((noinline)) void c11_wake_pool(void) {
  for (;;) {
    mtx_lock(&c11_lock);
    if (waiting == 3)
      break;
    mtx_unlock(&c11_lock);
    thrd_yield();
  }
  if (strcmp(mode, "c11signal") == 0) {
    printf("line %d\n", __LINE__ + 1);
    cnd_signal(&c11_ready);
  } else {
    printf("line %d\n", __LINE__ + 1);
    cnd_broadcast(&c11_ready);
  }
  mtx_unlock(&c11_lock);
}

static void *producer(void *arg) {
  wake_pool();
  return arg;
}

static int c11_producer(void *arg) {
  (void)arg;
  c11_wake_pool();
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  mode = argc > 1 ? argv[1] : "signal";
  if (strncmp(mode, "c11", 3) == 0) {
    mtx_init(&c11_lock, mtx_plain);
    cnd_init(&c11_ready);
    thrd_t workers[3], wake;
    for (int i = 0; i < 3; i++)
      thrd_create(&workers[i], c11_worker, NULL);
    thrd_create(&wake, c11_producer, NULL);
    thrd_join(wake, NULL);
  } else {
    pthread_t workers[3], wake;
    for (int i = 0; i < 3; i++)
      pthread_create(&workers[i], NULL, pool_worker, NULL);
    pthread_create(&wake, NULL, producer, NULL);
    pthread_join(wake, NULL);
  }
  printf("ready\n");
  return 0;
}
