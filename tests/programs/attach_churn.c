/* Threads come and go all the time: T1 'spawner' creates short-lived
 * detached threads in a loop while main waits for "go"; dumps land while
 * threads are being created and are ending. Prints "ready", then after
 * "go" "spawned more: yes". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>

#include "attach_common.h"

static atomic_int stop, spawned;

static void *short_lived(void *arg) {
  spawned++;
  return arg;
}

static void *spawner(void *arg) {
  pthread_setname_np(pthread_self(), "spawner");
  while (!stop) {
    pthread_t t;
    if (pthread_create(&t, NULL, short_lived, NULL) == 0)
      pthread_detach(t);
  }
  return arg;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, spawner, NULL);
  attach_ready();
  int before = spawned;
  attach_wait_for_go();
  usleep(50 * 1000);
  printf("spawned more: %s\n", spawned > before ? "yes" : "no");
  stop = 1;
  pthread_join(t, NULL);
  return 0;
}
