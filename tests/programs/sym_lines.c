/* Symbols with exact file:line (tests/test_symbols.py). The lines the test
 * checks carry a marker comment; the test reads the line numbers from this
 * file, so edit freely but keep each marked call on its marked line.
 *
 * main creates three threads, waits until each is parked, prints
 * "main returns" and returns 0; leakwatch must report three thread_leaks
 * (status 66):
 *   T1 cond_worker: blocked in pthread_cond_wait (WAIT_LINE), created at
 *      CREATE_COND_LINE in main; holds nothing.
 *   T2 lock_holder: took held_mutex (LOCK_LINE), then parks in sem_wait
 *      (PARK_LINE); created at CREATE_HOLDER_LINE.
 *   T3 chain_start -> chain_outer -> chain_middle -> chain_inner, blocked
 *      in sem_wait (CHAIN_WAIT_LINE); each caller's frame is at its marked
 *      call line; created at CREATE_CHAIN_LINE.
 * The same source is built at test time without debug info (-g0) and the
 * CMake build is stripped, for the fallbacks. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t held_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static sem_t ready, never, chain_sem;
static volatile int go;
static volatile int sink;

static void *cond_worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mutex);
  sem_post(&ready);
  while (!go)
    pthread_cond_wait(&cond, &mutex); /* WAIT_LINE */
  pthread_mutex_unlock(&mutex);
  return NULL;
}

static void *lock_holder(void *arg) {
  (void)arg;
  pthread_mutex_lock(&held_mutex); /* LOCK_LINE */
  sem_post(&ready);
  sem_wait(&never); /* PARK_LINE */
  pthread_mutex_unlock(&held_mutex);
  return NULL;
}

static __attribute__((noinline)) void chain_inner(int n) {
  sem_post(&ready);
  sem_wait(&chain_sem); /* CHAIN_WAIT_LINE */
  sink += n;
}

static __attribute__((noinline)) void chain_middle(int n) {
  chain_inner(n + 1); /* CHAIN_MIDDLE_LINE */
  sink += n;
}

static __attribute__((noinline)) void chain_outer(int n) {
  chain_middle(n + 1); /* CHAIN_OUTER_LINE */
  sink += n;
}

static void *chain_start(void *arg) {
  chain_outer((int)(long)arg); /* CHAIN_START_LINE */
  sink++;
  return NULL;
}

int main(void) {
  sem_init(&ready, 0, 0);
  sem_init(&never, 0, 0);
  sem_init(&chain_sem, 0, 0);
  pthread_t threads[3];
  pthread_create(&threads[0], NULL, cond_worker, NULL); /* CREATE_COND_LINE */
  sem_wait(&ready);
  pthread_create(&threads[1], NULL, lock_holder, NULL); /* CREATE_HOLDER_LINE */
  sem_wait(&ready);
  pthread_create(&threads[2], NULL, chain_start, (void *)1L); /* CREATE_CHAIN_LINE */
  sem_wait(&ready);
  struct timespec pause = {0, 50 * 1000000L};
  nanosleep(&pause, NULL);
  printf("main returns\n");
  fflush(stdout);
  return 0;
}
