/* An rwlock writer in a cycle: T1 'writer' write-locks R, then locks M;
 * T2 holds M, then locks R: argv[1] "write" (default) with wrlock, "read"
 * with rdlock. Prints "R 0x…", "M 0x…", "ready". */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "attach_common.h"

static pthread_rwlock_t index_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;
static int reader_mode;

static void *writer(void *arg) {
  pthread_setname_np(pthread_self(), "writer");
  pthread_rwlock_wrlock(&index_lock);
  pthread_barrier_wait(&both_hold);
  pthread_mutex_lock(&table);
  return arg;
}

static void *other(void *arg) {
  pthread_setname_np(pthread_self(), "other");
  pthread_mutex_lock(&table);
  pthread_barrier_wait(&both_hold);
  if (reader_mode)
    pthread_rwlock_rdlock(&index_lock);
  else
    pthread_rwlock_wrlock(&index_lock);
  return arg;
}

int main(int argc, char **argv) {
  reader_mode = argc > 1 && strcmp(argv[1], "read") == 0;
  pthread_barrier_init(&both_hold, NULL, 2);
  printf("R %p\nM %p\n", (void *)&index_lock, (void *)&table);
  pthread_t t1, t2;
  pthread_create(&t1, NULL, writer, NULL);
  pthread_create(&t2, NULL, other, NULL);
  attach_ready();
  attach_wait_for_go();
  return 0;
}
