/* Threads that name themselves, then block forever in sem_wait on "sem":
 *   T1 (self_named) calls pthread_setname_np(pthread_self(), "self-named");
 *   T2 (prctl_named) calls prctl(PR_SET_NAME, "prctl-named").
 * leakwatch must report two thread_leak findings whose threads carry
 * those names ("name" in the JSON, 'name' in the text); exit status 66. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

static sem_t sem;

static void *self_named(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "self-named");
  sem_wait(&sem);
  return NULL;
}

static void *prctl_named(void *arg) {
  (void)arg;
  prctl(PR_SET_NAME, "prctl-named", 0, 0, 0);
  sem_wait(&sem);
  return NULL;
}

static __attribute__((noinline)) void start_thread(void *(*routine)(void *)) {
  pthread_t thread;
  pthread_create(&thread, NULL, routine, NULL);
}

int main(void) {
  sem_init(&sem, 0, 0);
  start_thread(self_named);
  start_thread(prctl_named);
  usleep(50 * 1000);
  char name[16];
  pthread_getname_np(pthread_self(), name, sizeof name);
  printf("main is still '%s'\n", name);
  return 0;
}
