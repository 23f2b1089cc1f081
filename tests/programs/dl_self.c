/* A thread locks a default (non-recursive) mutex it already holds: a cycle
 * of one. Prints "M <addr>" and "formed <ms>" (CLOCK_MONOTONIC) just before
 * the second lock; main sleeps. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int config;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static __attribute__((noinline)) void read_config(void) {
  printf("formed %ld\n", now_ms());
  pthread_mutex_lock(&config_lock); /* already held by update_config */
  config++;
  pthread_mutex_unlock(&config_lock);
}

static __attribute__((noinline)) void update_config(void) {
  pthread_mutex_lock(&config_lock);
  config++;
  read_config();
  pthread_mutex_unlock(&config_lock);
}

static void *updater(void *arg) {
  update_config();
  return arg;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("M %p\n", (void *)&config_lock);
  pthread_t thread;
  pthread_create(&thread, NULL, updater, NULL);
  for (int i = 0; i < 30; i++)
    usleep(100 * 1000);
  printf("main done\n");
  return 0;
}
