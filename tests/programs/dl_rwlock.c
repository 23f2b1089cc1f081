/* Deadlocks through rwlocks. argv[1] picks:
 *   writer:  T1 (writer) holds mutex M and wrlocks R; T2 (reader) holds R
 *            read-locked and locks M. The writer waits on a reader that
 *            waits on the writer. Prints "M <addr>", "R <addr>".
 *   readers: T1 (writer) holds R write-locked and wrlocks Q; T2 and T3
 *            (readers) hold Q read-locked and rdlock R. Readers wait on the
 *            writer, which waits on them. Prints "R <addr>", "Q <addr>".
 * A barrier makes sure every first lock is held before the second one;
 * each thread prints "formed <ms>" (CLOCK_MONOTONIC) just before blocking.
 * Main sleeps. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t table_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t index_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t stats_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t ready;
static volatile int work;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void formed(void) { printf("formed %ld\n", now_ms()); }

/* mode "writer" */
static __attribute__((noinline)) void lock_table(void) {
  pthread_mutex_lock(&table_mutex);
  work++;
}

static __attribute__((noinline)) void read_index(void) {
  pthread_rwlock_rdlock(&index_lock);
  work++;
}

static void *writer_thread(void *arg) {
  lock_table();
  pthread_barrier_wait(&ready);
  formed();
  pthread_rwlock_wrlock(&index_lock);
  work++;
  return arg;
}

static void *reader_thread(void *arg) {
  read_index();
  pthread_barrier_wait(&ready);
  formed();
  pthread_mutex_lock(&table_mutex);
  work++;
  return arg;
}

/* mode "readers" */
static __attribute__((noinline)) void write_index(void) {
  pthread_rwlock_wrlock(&index_lock);
  work++;
}

static __attribute__((noinline)) void read_stats(void) {
  pthread_rwlock_rdlock(&stats_lock);
  work++;
}

static void *rebuilder(void *arg) {
  write_index();
  pthread_barrier_wait(&ready);
  formed();
  pthread_rwlock_wrlock(&stats_lock);
  work++;
  return arg;
}

static void *lookup(void *arg) {
  read_stats();
  pthread_barrier_wait(&ready);
  formed();
  pthread_rwlock_rdlock(&index_lock);
  work++;
  return arg;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_t threads[3];
  if (argc > 1 && strcmp(argv[1], "writer") == 0) {
    printf("M %p\nR %p\n", (void *)&table_mutex, (void *)&index_lock);
    pthread_barrier_init(&ready, NULL, 2);
    pthread_create(&threads[0], NULL, writer_thread, NULL);
    pthread_create(&threads[1], NULL, reader_thread, NULL);
  } else if (argc > 1 && strcmp(argv[1], "readers") == 0) {
    printf("R %p\nQ %p\n", (void *)&index_lock, (void *)&stats_lock);
    pthread_barrier_init(&ready, NULL, 3);
    pthread_create(&threads[0], NULL, rebuilder, NULL);
    pthread_create(&threads[1], NULL, lookup, NULL);
    pthread_create(&threads[2], NULL, lookup, NULL);
  } else {
    fprintf(stderr, "usage: %s writer|readers\n", argv[0]);
    return 2;
  }
  for (int i = 0; i < 30; i++)
    usleep(100 * 1000);
  printf("main done\n");
  return 0;
}
