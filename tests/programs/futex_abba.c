/* Two threads deadlock on two futex locks of their own (the way GLib's
 * GMutex, Rust's Mutex and Abseil's lock wait: syscall(SYS_futex, ...)).
 * A futex has no owner leakwatch can see, so this is "all threads are
 * asleep": main in pthread_join, both workers in futex waits. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct {
  _Atomic int word; /* 0 free, 1 taken, 2 taken with waiters */
} futex_lock;

static void futex_lock_take(futex_lock *lock) {
  int seen = 0;
  if (atomic_compare_exchange_strong(&lock->word, &seen, 1))
    return;
  if (seen != 2)
    seen = atomic_exchange(&lock->word, 2);
  while (seen != 0) {
    syscall(SYS_futex, &lock->word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
    seen = atomic_exchange(&lock->word, 2);
  }
}

static futex_lock first, second;
static pthread_barrier_t both_hold_one;

static void *forward(void *arg) {
  (void)arg;
  futex_lock_take(&first);
  pthread_barrier_wait(&both_hold_one);
  futex_lock_take(&second);
  return NULL;
}

static void *backward(void *arg) {
  (void)arg;
  futex_lock_take(&second);
  pthread_barrier_wait(&both_hold_one);
  futex_lock_take(&first);
  return NULL;
}

int main(void) {
  pthread_t a, b;
  pthread_barrier_init(&both_hold_one, NULL, 2);
  pthread_create(&a, NULL, forward, NULL);
  pthread_create(&b, NULL, backward, NULL);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  return 0;
}
