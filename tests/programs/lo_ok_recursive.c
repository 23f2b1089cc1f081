/* A recursive mutex R relocked while another lock is held: T1 takes R,
 * then A, then R again (a relock: no new order), releases all. Later T2
 * takes R then A again. Were the relock an order A -> R, it would
 * conflict with R -> A. The same with a recursive mtx_t. Prints
 * "R <addr>", "A <addr>", "recursive ok". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <threads.h>

static pthread_mutex_t rec, lock_a = PTHREAD_MUTEX_INITIALIZER;
static mtx_t rec11, a11;
static int depth_ok = 1;

static __attribute__((noinline)) void relock_inside(void) {
  pthread_mutex_lock(&rec);
  pthread_mutex_lock(&lock_a);
  depth_ok &= pthread_mutex_lock(&rec) == 0; /* relock, holding A */
  pthread_mutex_unlock(&rec);
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&rec);
  mtx_lock(&rec11);
  mtx_lock(&a11);
  depth_ok &= mtx_lock(&rec11) == thrd_success;
  mtx_unlock(&rec11);
  mtx_unlock(&a11);
  mtx_unlock(&rec11);
}

static void *worker(void *arg) {
  relock_inside();
  return arg;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&rec, &attr);
  mtx_init(&rec11, mtx_plain | mtx_recursive);
  mtx_init(&a11, mtx_plain);
  printf("R %p\nA %p\n", (void *)&rec, (void *)&lock_a);
  for (int i = 0; i < 2; i++) {
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
  }
  printf("recursive %s\n", depth_ok ? "ok" : "failed");
  return 0;
}
