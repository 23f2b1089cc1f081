/* ABBA with C11 threads: two thrd_create threads take two mtx_plain
 * mutexes in opposite orders. An atomic rendezvous (spinning with
 * thrd_yield) makes sure each holds its first before taking the second.
 * Prints "A <addr>", "B <addr>", one "formed <ms>" (CLOCK_MONOTONIC) per
 * thread; main sleeps with thrd_sleep. */
#include <stdatomic.h>
#include <stdio.h>
#include <threads.h>
#include <time.h>

static mtx_t account_a, account_b;
static atomic_int holding;
static volatile int balance;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void rendezvous(void) {
  atomic_fetch_add(&holding, 1);
  while (atomic_load(&holding) < 2)
    thrd_yield();
}

static __attribute__((noinline)) void debit(mtx_t *from) {
  mtx_lock(from);
  balance--;
}

static __attribute__((noinline)) void credit(mtx_t *to) {
  printf("formed %ld\n", now_ms());
  mtx_lock(to);
  balance++;
}

static int transfer_ab(void *arg) {
  debit(&account_a);
  rendezvous();
  credit(&account_b);
  mtx_unlock(&account_b);
  mtx_unlock(&account_a);
  return arg != NULL;
}

static int transfer_ba(void *arg) {
  debit(&account_b);
  rendezvous();
  credit(&account_a);
  mtx_unlock(&account_a);
  mtx_unlock(&account_b);
  return arg != NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  mtx_init(&account_a, mtx_plain);
  mtx_init(&account_b, mtx_plain);
  printf("A %p\nB %p\n", (void *)&account_a, (void *)&account_b);
  thrd_t t1, t2;
  thrd_create(&t1, transfer_ab, NULL);
  thrd_create(&t2, transfer_ba, NULL);
  struct timespec tenth = {0, 100 * 1000 * 1000};
  for (int i = 0; i < 30; i++)
    thrd_sleep(&tenth, NULL);
  printf("main done\n");
  return 0;
}
