/* Threads that end holding a mutex, one after the other (each joined
 * before the next starts):
 *   T1 (returner) returns from its start routine holding M1, taken in
 *      take_and_return;
 *   T2 (exiter) calls pthread_exit holding M2, taken in take_and_exit;
 *   T3 (cancelled) is cancelled in pthread_cond_wait on C with M3 (taken
 *      in wait_for_work); its cleanup handler forgets to unlock M3, which
 *      the cancelled wait re-acquired.
 * Prints "M1 <addr>", "M2 <addr>", "M3 <addr>" and "done". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t m1 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t m2 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t m3 = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cond = PTHREAD_COND_INITIALIZER;
static atomic_int waiting;
static volatile int work, cleanups;

static __attribute__((noinline)) void take_and_return(void) {
  pthread_mutex_lock(&m1);
  work++;
}

static void *returner(void *arg) {
  take_and_return();
  return arg; /* still holds m1 */
}

static __attribute__((noinline)) void take_and_exit(void) {
  pthread_mutex_lock(&m2);
  work++;
  pthread_exit(NULL); /* still holds m2 */
}

static void *exiter(void *arg) {
  take_and_exit();
  return arg;
}

static void forget_to_unlock(void *arg) {
  (void)arg;
  cleanups++; /* should have unlocked m3 */
}

static __attribute__((noinline)) void wait_for_work(void) {
  pthread_mutex_lock(&m3);
  pthread_cleanup_push(forget_to_unlock, NULL);
  atomic_store(&waiting, 1);
  for (;;)
    pthread_cond_wait(&work_cond, &m3);
  pthread_cleanup_pop(1);
}

static void *cancelled(void *arg) {
  wait_for_work();
  return arg;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("M1 %p\nM2 %p\nM3 %p\n", (void *)&m1, (void *)&m2, (void *)&m3);
  pthread_t t;
  pthread_create(&t, NULL, returner, NULL);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, exiter, NULL);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, cancelled, NULL);
  while (!atomic_load(&waiting))
    usleep(1000);
  usleep(20 * 1000);
  pthread_cancel(t);
  pthread_join(t, NULL);
  printf("done\n");
  return 0;
}
