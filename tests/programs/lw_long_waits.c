/* Long waits, for hang_ms (run with hang_ms=300 or 500).
 *
 * argv[1] = once: T1 (stuck) waits on a condition variable for ~3 s; meanwhile
 *   three more threads, one after the other (T2, T3, T4: late), each wait
 *   ~600 ms at another site, so the helper checks for long waits three more
 *   times while T1 is still stuck. Then main releases T1 and joins all.
 * argv[1] = group: four pool workers (T1..T4) wait together at one site for
 *   ~1.5 s, then main releases and joins them.
 * Prints "done". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stuck_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t late_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t start;
static int stuck_released, late_released, pool_released;

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&pause, &pause) != 0)
    ;
}

static void *stuck(void *arg) {
  pthread_mutex_lock(&lock);
  while (!stuck_released)
    pthread_cond_wait(&stuck_cv, &lock);
  pthread_mutex_unlock(&lock);
  return arg;
}

static void *late(void *arg) {
  pthread_mutex_lock(&lock);
  while (!late_released)
    pthread_cond_wait(&late_cv, &lock);
  pthread_mutex_unlock(&lock);
  return arg;
}

static void *pool_worker(void *arg) {
  pthread_barrier_wait(&start);
  pthread_mutex_lock(&lock);
  while (!pool_released)
    pthread_cond_wait(&pool_cv, &lock);
  pthread_mutex_unlock(&lock);
  return arg;
}

static void release(int *flag, pthread_cond_t *cv) {
  pthread_mutex_lock(&lock);
  *flag = 1;
  pthread_cond_broadcast(cv);
  pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *mode = argc > 1 ? argv[1] : "once";
  if (strcmp(mode, "group") == 0) {
    pthread_t workers[4];
    pthread_barrier_init(&start, NULL, 4);
    for (int i = 0; i < 4; i++)
      pthread_create(&workers[i], NULL, pool_worker, NULL);
    sleep_ms(1500);
    release(&pool_released, &pool_cv);
    for (int i = 0; i < 4; i++)
      pthread_join(workers[i], NULL);
  } else {
    pthread_t t1, t;
    pthread_create(&t1, NULL, stuck, NULL);
    sleep_ms(400);
    for (int i = 0; i < 3; i++) {
      late_released = 0;
      pthread_create(&t, NULL, late, NULL);
      sleep_ms(600);
      release(&late_released, &late_cv);
      pthread_join(t, NULL);
      sleep_ms(150);
    }
    release(&stuck_released, &stuck_cv);
    pthread_join(t1, NULL);
  }
  printf("done\n");
  return 0;
}
