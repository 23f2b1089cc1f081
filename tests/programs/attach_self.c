/* A thread locks a normal (non-recursive) mutex it already holds: it waits
 * for itself. Prints "M 0x…", "ready". */
#define _GNU_SOURCE
#include <pthread.h>

#include "attach_common.h"

static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;

static __attribute__((noinline)) void update_table(void) {
  pthread_mutex_lock(&table); /* the caller holds it already */
}

static void *relocker(void *arg) {
  pthread_setname_np(pthread_self(), "relocker");
  pthread_mutex_lock(&table);
  update_table();
  return arg;
}

int main(void) {
  printf("M %p\n", (void *)&table);
  pthread_t t;
  pthread_create(&t, NULL, relocker, NULL);
  attach_ready();
  attach_wait_for_go();
  return 0;
}
