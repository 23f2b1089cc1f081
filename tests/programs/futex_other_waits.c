/* The other futex waits made through syscall(): FUTEX_LOCK_PI on a
 * priority-inheritance futex another thread owns (the word holds the
 * owner's tid), and futex_waitv on one word nobody wakes (Linux 5.16+;
 * "waitv unsupported" is printed where the kernel lacks it). Both threads
 * are left blocked when main returns. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Atomic uint32_t pi_word;    /* owner tid while held */
static _Atomic uint32_t waitv_word; /* stays 0 */

static void *lock_pi_waiter(void *arg) {
  (void)arg;
  syscall(SYS_futex, &pi_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
  return NULL;
}

#ifdef SYS_futex_waitv
static void *waitv_waiter(void *arg) {
  (void)arg;
  struct futex_waitv waiter = {
      .val = 0, .uaddr = (uintptr_t)&waitv_word, .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG};
  if (syscall(SYS_futex_waitv, &waiter, 1, 0, NULL, 0) < 0 && errno == ENOSYS)
    puts("waitv unsupported");
  return NULL;
}
#endif

int main(void) {
  atomic_store(&pi_word, (uint32_t)gettid()); /* main owns the PI futex */
  pthread_t thread;
  pthread_create(&thread, NULL, lock_pi_waiter, NULL);
#ifdef SYS_futex_waitv
  pthread_create(&thread, NULL, waitv_waiter, NULL);
#endif
  usleep(100000);
  puts("returning");
  fflush(stdout);
  return 0;
}
