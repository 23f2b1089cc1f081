/* Two detached threads still alive at exit: detached threads leak too.
 *   T1 (parked_by_attr) is created detached (PTHREAD_CREATE_DETACHED) by
 *      start_detached_by_attr and blocks in sem_wait on "sem".
 *   T2 (cond_by_detach) is created joinable by start_then_detach, which
 *      then calls pthread_detach; it blocks in pthread_cond_wait on "cond"
 *      with "mutex".
 * leakwatch must report two thread_leak findings, both with
 * "detached": true, state "blocked", and exit status 66. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

static sem_t sem;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int go;

static void *parked_by_attr(void *arg) {
  (void)arg;
  sem_wait(&sem);
  return NULL;
}

static void *cond_by_detach(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mutex);
  while (!go)
    pthread_cond_wait(&cond, &mutex);
  pthread_mutex_unlock(&mutex);
  return NULL;
}

static __attribute__((noinline)) void start_detached_by_attr(void) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  pthread_create(&thread, &attr, parked_by_attr, NULL);
  pthread_attr_destroy(&attr);
}

static __attribute__((noinline)) void start_then_detach(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, cond_by_detach, NULL);
  pthread_detach(thread);
}

int main(void) {
  sem_init(&sem, 0, 0);
  start_detached_by_attr();
  start_then_detach();
  printf("sem %p\ncond %p\nmutex %p\n", (void *)&sem, (void *)&cond, (void *)&mutex);
  usleep(50 * 1000);
  return 0;
}
