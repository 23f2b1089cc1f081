/* A worker ends the process with exit(5) while two other workers are
 * blocked and main is blocked joining the exiting worker:
 *   T1 (cond_blocked): pthread_cond_wait on "cond" (mutex "mutex");
 *   T2 (sem_blocked): sem_wait on "sem";
 *   T3 (quitter): prints "quitter calls exit(5)" and calls exit(5).
 * leakwatch must still write its report (exit from a thread other than
 * main) with two thread_leak findings, for T1 and T2 only: neither the
 * exiting worker T3 nor main T0 is reported. Exit status 66, or 5 with
 * exitcode=0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static int go;

static void *cond_blocked(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mutex);
  while (!go)
    pthread_cond_wait(&cond, &mutex);
  pthread_mutex_unlock(&mutex);
  return NULL;
}

static void *sem_blocked(void *arg) {
  (void)arg;
  sem_wait(&sem);
  return NULL;
}

static void *quitter(void *arg) {
  (void)arg;
  usleep(50 * 1000);
  printf("quitter calls exit(5)\n");
  exit(5);
}

static __attribute__((noinline)) pthread_t start_thread(void *(*routine)(void *)) {
  pthread_t thread;
  pthread_create(&thread, NULL, routine, NULL);
  return thread;
}

int main(void) {
  sem_init(&sem, 0, 0);
  start_thread(cond_blocked);
  start_thread(sem_blocked);
  pthread_t quitting = start_thread(quitter);
  printf("cond %p\nsem %p\n", (void *)&cond, (void *)&sem);
  pthread_join(quitting, NULL); /* never returns: the quitter exits */
  printf("not reached\n");
  return 0;
}
