/*
 * common.c - the shim's private lock, futex helpers and diagnostics.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "options.h"

int lw_futex_wait(_Atomic uint32_t *word, uint32_t expected, const struct timespec *rel_timeout) {
  return (int)syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, rel_timeout, NULL, 0);
}

void lw_futex_wake(_Atomic uint32_t *word, int count) {
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

void lw_lock_acquire(lw_lock *lock) {
  uint32_t expected = 0;
  if (atomic_compare_exchange_strong_explicit(&lock->word, &expected, 1, memory_order_acquire,
                                              memory_order_relaxed))
    return;
  /* Contended: mark "locked with waiters" and sleep until it is free. */
  if (expected != 2)
    expected = atomic_exchange_explicit(&lock->word, 2, memory_order_acquire);
  while (expected != 0) {
    lw_futex_wait(&lock->word, 2, NULL);
    expected = atomic_exchange_explicit(&lock->word, 2, memory_order_acquire);
  }
}

void lw_lock_release(lw_lock *lock) {
  if (atomic_exchange_explicit(&lock->word, 0, memory_order_release) == 2)
    lw_futex_wake(&lock->word, 1);
}

int lw_gettid(void) { return (int)syscall(SYS_gettid); }

bool lw_write_all(int fd, const void *buf, size_t len) {
  /* A report written into a closed pipe must not kill the program with
   * SIGPIPE: block it for the write, and take back one we caused. */
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  sigset_t pending;
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  const char *p = buf;
  bool ok = true;
  while (len > 0) {
    ssize_t wrote = write(fd, p, len);
    if (wrote < 0) {
      if (errno == EINTR)
        continue;
      ok = false;
      break;
    }
    p += wrote;
    len -= (size_t)wrote;
  }
  if (!ok && errno == EPIPE && !was_pending) {
    int saved_errno = errno;
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_only, NULL, &zero);
    errno = saved_errno;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return ok;
}

static void vwarn(const char *fmt, va_list args) {
  int saved_errno = errno;
  char line[1024];
  int len = snprintf(line, sizeof line, "leakwatch: ");
  int body = vsnprintf(line + len, sizeof line - (size_t)len - 1, fmt, args);
  if (body > 0)
    len +=
        body < (int)(sizeof line - (size_t)len - 1) ? body : (int)(sizeof line - (size_t)len - 2);
  line[len++] = '\n';
  lw_write_all(STDERR_FILENO, line, (size_t)len);
  errno = saved_errno;
}

void lw_warn(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vwarn(fmt, args);
  va_end(args);
}

void lw_verbose(int level, const char *fmt, ...) {
  if (lw_opt.verbosity < level)
    return;
  va_list args;
  va_start(args, fmt);
  vwarn(fmt, args);
  va_end(args);
}
