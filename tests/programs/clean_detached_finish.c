/* Detached threads that all finish before the process exits, detached in
 * every way: created with PTHREAD_CREATE_DETACHED, pthread_detach by the
 * creator, pthread_detach(pthread_self()) by the thread itself, and C11
 * thrd_detach. main waits until each has done its work, prints the total
 * and returns 0. leakwatch must report nothing and keep status 0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <threads.h>

static sem_t done;
static atomic_long total;

static void *add(void *arg) {
  atomic_fetch_add(&total, (long)arg);
  sem_post(&done);
  return NULL;
}

static void *add_and_detach_self(void *arg) {
  pthread_detach(pthread_self());
  return add(arg);
}

static int c11_add(void *arg) {
  add(arg);
  return 0;
}

int main(void) {
  sem_init(&done, 0, 0);
  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_create(&thread, &attr, add, (void *)1L);
  pthread_attr_destroy(&attr);

  pthread_create(&thread, NULL, add, (void *)10L);
  pthread_detach(thread);

  pthread_create(&thread, NULL, add_and_detach_self, (void *)100L);

  thrd_t c11;
  thrd_create(&c11, c11_add, (void *)1000L);
  thrd_detach(c11);

  for (int i = 0; i < 4; i++)
    sem_wait(&done);
  printf("4 detached threads added %ld\n", atomic_load(&total));
  return 0;
}
