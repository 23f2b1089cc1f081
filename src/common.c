/*
 * common.c - the shim's private lock, futex helpers and diagnostics.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <poll.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "options.h"
#include "userfile.h"

/*
 * The shim's own system calls go straight to the kernel, not through libc's
 * syscall(): the shim interposes that (intercept_syscall.c), so its own
 * futex words would be recorded as the program's wake-ups and waits, and
 * libc's syscall() sets errno, which is the program's. Returns the result
 * or -errno.
 */
long lw_syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6) {
#if defined(__x86_64__)
  register long r10 __asm__("r10") = a4;
  register long r8 __asm__("r8") = a5;
  register long r9 __asm__("r9") = a6;
  long rc;
  __asm__ volatile("syscall"
                   : "=a"(rc)
                   : "0"(number), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return rc;
#else
  int saved_errno = errno;
  long rc = syscall(number, a1, a2, a3, a4, a5, a6);
  rc = rc < 0 ? -errno : rc;
  errno = saved_errno;
  return rc;
#endif
}

static long futex_call(_Atomic uint32_t *word, int op, uint32_t value,
                       const struct timespec *timeout) {
  return lw_syscall(SYS_futex, (long)word, op, (long)value, (long)timeout, 0, 0);
}

int lw_futex_wait(_Atomic uint32_t *word, uint32_t expected, const struct timespec *rel_timeout) {
  return (int)futex_call(word, FUTEX_WAIT_PRIVATE, expected, rel_timeout);
}

void lw_futex_wake(_Atomic uint32_t *word, int count) {
  futex_call(word, FUTEX_WAKE_PRIVATE, (uint32_t)count, NULL);
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

int lw_gettid(void) { return (int)lw_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0); }

bool lw_write_all(int fd, const void *buf, size_t len) {
  /* A report written into a closed pipe must not kill the program with
   * SIGPIPE: block it for the write, and take back one we caused. write and
   * poll are cancellation points: the shim's own output must not act on a
   * cancel the program has pending. */
  int cancel_state;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  sigset_t pending;
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  const char *p = buf;
  bool ok = true;
  uint64_t stalled_since = 0;
  while (len > 0) {
    ssize_t wrote = write(fd, p, len);
    if (wrote < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN) {
        /* A descriptor opened O_NONBLOCK (a FIFO, a terminal): wait for
         * room, but never forever for a reader that stopped reading. */
        uint64_t now = lw_now_ns();
        if (!stalled_since)
          stalled_since = now;
        if (now - stalled_since >= (uint64_t)LW_WRITE_STALL_MS * 1000000u) {
          errno = ETIMEDOUT;
          ok = false;
          break;
        }
        struct pollfd pfd = {fd, POLLOUT, 0};
        poll(&pfd, 1, 100);
        continue;
      }
      ok = false;
      break;
    }
    stalled_since = 0;
    p += wrote;
    len -= (size_t)wrote;
  }
  int saved_errno = errno;
  if (!ok && saved_errno == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_only, NULL, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_setcancelstate(cancel_state, NULL);
  errno = saved_errno;
  return ok;
}

static void vwarn(const char *fmt, va_list args) {
  int saved_errno = errno;
  char body[1024], line[1100];
  vsnprintf(body, sizeof body, fmt, args);
  /* Paths and rules quoted from the user: no control character reaches the
   * terminal raw (C0 and DEL as \xNN). */
  size_t len = (size_t)snprintf(line, sizeof line, "leakwatch: ");
  for (const unsigned char *p = (const unsigned char *)body; *p && len < sizeof line - 6; p++) {
    if (*p < 0x20 || *p == 0x7f)
      len += (size_t)snprintf(line + len, sizeof line - len, "\\x%02x", *p);
    else
      line[len++] = (char)*p;
  }
  line[len++] = '\n';
  /* fd 2 may have become the program's own file since start-up. */
  if (lw_userfile_std_intact(STDERR_FILENO))
    lw_write_all(STDERR_FILENO, line, len);
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

void lw_warn_budgeted(lw_warn_budget *budget, const char *fmt, ...) {
  if (budget->count++ >= LW_WARN_FIRST)
    return;
  va_list args;
  va_start(args, fmt);
  vwarn(fmt, args);
  va_end(args);
}

void lw_warn_budget_end(lw_warn_budget *budget, const char *where) {
  if (budget->count > LW_WARN_FIRST)
    lw_warn("... and %u more problems in %s (only the first %d are shown)",
            budget->count - LW_WARN_FIRST, where, LW_WARN_FIRST);
  budget->count = 0;
}
