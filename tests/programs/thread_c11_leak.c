/* Leaks through C11 threads. main thrd_creates T1 (c11_spawner, from
 * start_c11_spawner); T1 thrd_creates T2 (c11_waiter, from
 * spawn_c11_waiter), then blocks in mtx_lock on "main_mtx", which main
 * holds until exit. T2 blocks in cnd_wait on "cnd" with "cnd_mtx".
 * leakwatch must report two thread_leak findings: T1 blocked in mtx_lock
 * on main_mtx (owner 0, parent 0), T2 blocked in cnd_wait on cnd (mutex
 * cnd_mtx, parent 1); exit status 66. */
#define _GNU_SOURCE
#include <stdio.h>
#include <threads.h>
#include <time.h>

static mtx_t main_mtx, cnd_mtx;
static cnd_t cnd;
static int go;

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  thrd_sleep(&pause, NULL);
}

static int c11_waiter(void *arg) {
  (void)arg;
  mtx_lock(&cnd_mtx);
  while (!go)
    cnd_wait(&cnd, &cnd_mtx);
  mtx_unlock(&cnd_mtx);
  return 0;
}

static __attribute__((noinline)) void spawn_c11_waiter(void) {
  thrd_t thread;
  thrd_create(&thread, c11_waiter, NULL);
}

static int c11_spawner(void *arg) {
  (void)arg;
  spawn_c11_waiter();
  sleep_ms(10);
  mtx_lock(&main_mtx); /* main never lets go */
  mtx_unlock(&main_mtx);
  return 0;
}

static __attribute__((noinline)) void start_c11_spawner(void) {
  thrd_t thread;
  thrd_create(&thread, c11_spawner, NULL);
}

int main(void) {
  mtx_init(&main_mtx, mtx_plain);
  mtx_init(&cnd_mtx, mtx_plain);
  cnd_init(&cnd);
  mtx_lock(&main_mtx);
  start_c11_spawner();
  printf("main_mtx %p\ncnd_mtx %p\ncnd %p\n", (void *)&main_mtx, (void *)&cnd_mtx, (void *)&cnd);
  sleep_ms(50);
  return 0;
}
