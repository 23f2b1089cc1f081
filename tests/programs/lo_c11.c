/* C11 threads and mutexes in opposite orders: thread T1 (thrd_create)
 * takes A in debit then B in credit; after thrd_join, T2 takes B in debit
 * then A in credit. Prints "A <addr>", "B <addr>". */
#include <stdio.h>
#include <threads.h>

static mtx_t lock_a, lock_b;
static volatile long total;

static __attribute__((noinline)) void credit(mtx_t *m) {
  mtx_lock(m);
  total++;
  mtx_unlock(m);
}

static __attribute__((noinline)) void debit(mtx_t *first, mtx_t *second) {
  mtx_lock(first);
  total--;
  credit(second);
  mtx_unlock(first);
}

static int transfer_ab(void *arg) {
  debit(&lock_a, &lock_b);
  return arg != NULL;
}

static int transfer_ba(void *arg) {
  debit(&lock_b, &lock_a);
  return arg != NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  mtx_init(&lock_a, mtx_plain);
  mtx_init(&lock_b, mtx_plain);
  printf("A %p\nB %p\n", (void *)&lock_a, (void *)&lock_b);
  thrd_t t;
  thrd_create(&t, transfer_ab, NULL);
  thrd_join(t, NULL);
  thrd_create(&t, transfer_ba, NULL);
  thrd_join(t, NULL);
  printf("done %ld\n", total);
  return 0;
}
