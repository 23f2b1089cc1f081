/* Every thread asleep: main waits on a condition variable nobody signals,
 * the worker waits on a semaphore nobody posts. No signal handlers. Prints
 * "cond <addr>", "sem <addr>", and "formed <ms>" (CLOCK_MONOTONIC) once the
 * worker is waiting, just before main's own wait. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static sem_t job_ready;
static int done;
static atomic_int worker_started;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void *worker(void *arg) {
  atomic_store(&worker_started, 1);
  sem_wait(&job_ready); /* nobody posts */
  pthread_mutex_lock(&lock);
  done = 1;
  pthread_cond_signal(&done_cond);
  pthread_mutex_unlock(&lock);
  return arg;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  sem_init(&job_ready, 0, 0);
  printf("cond %p\nsem %p\n", (void *)&done_cond, (void *)&job_ready);
  pthread_t thread;
  pthread_create(&thread, NULL, worker, NULL);
  while (!atomic_load(&worker_started))
    usleep(1000);
  usleep(10 * 1000); /* the worker is in sem_wait by now */
  printf("formed %ld\n", now_ms());
  pthread_mutex_lock(&lock);
  while (!done)
    pthread_cond_wait(&done_cond, &lock);
  pthread_mutex_unlock(&lock);
  pthread_join(thread, NULL);
  printf("main done\n");
  return 0;
}
