/* Two rwlocks in opposite orders, T1 then (after it ended) T2. argv[1]:
 *   write_read: T1 write-locks A (outer_write) then read-locks B
 *               (inner_read); T2 write-locks B (outer_write) then
 *               write-locks A (inner_write): conflicting;
 *   read_write: T1 read A then write B; T2 read B then write A: conflicting
 *               (each reader blocks the other's writer);
 *   read_read:  T1 read A then read B; T2 read B then read A: readers do
 *               not wait for readers, no conflict.
 * Prints "A <addr>", "B <addr>". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_rwlock_t lock_a = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t lock_b = PTHREAD_RWLOCK_INITIALIZER;
static volatile int work;

struct plan {
  pthread_rwlock_t *outer, *inner;
  int outer_write, inner_write;
};

static __attribute__((noinline)) void inner_read(pthread_rwlock_t *l) {
  pthread_rwlock_rdlock(l);
  work++;
  pthread_rwlock_unlock(l);
}

static __attribute__((noinline)) void inner_write(pthread_rwlock_t *l) {
  pthread_rwlock_wrlock(l);
  work++;
  pthread_rwlock_unlock(l);
}

static __attribute__((noinline)) void outer_read(struct plan *p) {
  pthread_rwlock_rdlock(p->outer);
  if (p->inner_write)
    inner_write(p->inner);
  else
    inner_read(p->inner);
  pthread_rwlock_unlock(p->outer);
}

static __attribute__((noinline)) void outer_write(struct plan *p) {
  pthread_rwlock_wrlock(p->outer);
  if (p->inner_write)
    inner_write(p->inner);
  else
    inner_read(p->inner);
  pthread_rwlock_unlock(p->outer);
}

static void *run_plan(void *arg) {
  struct plan *p = arg;
  if (p->outer_write)
    outer_write(p);
  else
    outer_read(p);
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *mode = argc > 1 ? argv[1] : "write_read";
  printf("A %p\nB %p\n", (void *)&lock_a, (void *)&lock_b);
  struct plan first = {&lock_a, &lock_b, 0, 0}, second = {&lock_b, &lock_a, 0, 0};
  if (strcmp(mode, "write_read") == 0) {
    first.outer_write = 1;
    second.outer_write = second.inner_write = 1;
  } else if (strcmp(mode, "read_write") == 0) {
    first.inner_write = second.inner_write = 1;
  }
  pthread_t t;
  pthread_create(&t, NULL, run_plan, &first);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, run_plan, &second);
  pthread_join(t, NULL);
  printf("done %d\n", work);
  return 0;
}
