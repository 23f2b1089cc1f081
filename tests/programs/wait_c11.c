/* One C11 thread left blocked at exit; argv[1] picks the call. Threads are
 * created with thrd_create by start_thread(). main prints the object's
 * address, sleeps 50 ms and returns 0. leakwatch must report (status 66):
 *   mtx_lock:  T1 mtx_holder locks "mtx" and parks in cnd_wait on "park";
 *              T2 mtx_waiter is blocked in mtx_lock on mtx, owner 1; T1's
 *              held lists mtx with a stack containing mtx_holder.
 *   cnd_wait:  T1 cnd_waiter is blocked in cnd_wait on "cnd" with "mtx";
 *              it holds nothing while waiting.
 *   thrd_join: T1 join_target parks; T2 joiner is blocked in thrd_join on
 *              "thread" (T1's thrd_t), owner 1. */
#define _GNU_SOURCE
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <threads.h>

static mtx_t mtx, park_mtx;
static cnd_t cnd, park_cnd;
static sem_t ready;
static volatile int go;
static thrd_t target;

static __attribute__((noinline)) void park(void) {
  mtx_lock(&park_mtx);
  while (!go)
    cnd_wait(&park_cnd, &park_mtx);
  mtx_unlock(&park_mtx);
}

static int mtx_holder(void *arg) {
  (void)arg;
  mtx_lock(&mtx);
  sem_post(&ready);
  park();
  mtx_unlock(&mtx);
  return 0;
}

static int mtx_waiter(void *arg) {
  (void)arg;
  mtx_lock(&mtx);
  mtx_unlock(&mtx);
  return 0;
}

static int cnd_waiter(void *arg) {
  (void)arg;
  mtx_lock(&mtx);
  while (!go)
    cnd_wait(&cnd, &mtx);
  mtx_unlock(&mtx);
  return 0;
}

static int join_target(void *arg) {
  (void)arg;
  park();
  return 0;
}

static int joiner(void *arg) {
  (void)arg;
  thrd_join(target, NULL);
  return 0;
}

static __attribute__((noinline)) thrd_t start_thread(thrd_start_t routine) {
  thrd_t thread;
  thrd_create(&thread, routine, NULL);
  return thread;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  mtx_init(&mtx, mtx_plain);
  mtx_init(&park_mtx, mtx_plain);
  cnd_init(&cnd);
  cnd_init(&park_cnd);
  sem_init(&ready, 0, 0);
  if (strcmp(mode, "mtx_lock") == 0) {
    start_thread(mtx_holder);
    sem_wait(&ready);
    start_thread(mtx_waiter);
    printf("mtx %p\n", (void *)&mtx);
  } else if (strcmp(mode, "cnd_wait") == 0) {
    start_thread(cnd_waiter);
    printf("cnd %p\nmtx %p\n", (void *)&cnd, (void *)&mtx);
  } else if (strcmp(mode, "thrd_join") == 0) {
    target = start_thread(join_target);
    start_thread(joiner);
    printf("thread %p\n", (void *)target);
  } else {
    fprintf(stderr, "usage: %s mtx_lock|cnd_wait|thrd_join\n", argv[0]);
    return 2;
  }
  struct timespec pause = {0, 50 * 1000 * 1000};
  thrd_sleep(&pause, NULL);
  printf("%s: main returns\n", mode);
  return 0;
}
