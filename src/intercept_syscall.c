/*
 * intercept_syscall.c - futex waits and wakes made through libc's syscall().
 *
 * Much modern code never calls a pthread wait: libstdc++'s C++20 latch,
 * barrier, counting_semaphore and atomic::wait, GLib's GMutex, GCond and
 * GAsyncQueue, Rust's standard library, Abseil and folly wait on a futex
 * through syscall(SYS_futex, ...). Such a wait is published like a
 * condition variable wait (call "futex", object the futex word), and a wake
 * is noted as a signal of the word (evidence.h), so a thread blocked there
 * is "blocked", not "running", and the report can say who last woke it.
 *
 * syscall() is variadic, but the x86-64 calling convention passes its
 * integer arguments exactly as it would to a function of seven longs (six
 * in registers, the seventh on the stack), and no system call takes a
 * floating-point argument. So the wrapper is declared with seven longs, and
 * every other number costs one compare and a tail call that forwards all
 * of them unchanged (the seventh is read from the caller's stack slot,
 * which always exists, whatever the caller passed). This file must not see
 * <unistd.h>'s variadic prototype.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "evidence.h"
#include "wait.h"

/* FUTEX_LOCK_PI2 (Linux 5.14) is missing from older headers. */
#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif

static long forward(long number, long a1, long a2, long a3, long a4, long a5, long a6) {
  return lw_real.syscall(number, a1, a2, a3, a4, a5, a6);
}

/* A wait the thread may block in: publish it around the real call. */
static LW_NOINLINE long futex_wait(enum lw_call call, const void *word, bool timed, long number,
                                   long a1, long a2, long a3, long a4, long a5, long a6) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return forward(number, a1, a2, a3, a4, a5, a6);
  bool began = lw_wait_begin(self, call, word, NULL, timed, LW_NO_THREAD);
  long rc = forward(number, a1, a2, a3, a4, a5, a6);
  int saved_errno = errno;
  lw_wait_end(self, began);
  errno = saved_errno;
  return rc;
}

static LW_NOINLINE long futex_call(long a1, long a2, long a3, long a4, long a5, long a6) {
  const void *word = (const void *)a1;
  const void *timeout = (const void *)a4;
  switch (a2 & FUTEX_CMD_MASK) {
  case FUTEX_WAIT:
  case FUTEX_WAIT_BITSET:
  case FUTEX_WAIT_REQUEUE_PI:
    return futex_wait(LW_CALL_futex, word, timeout != NULL, SYS_futex, a1, a2, a3, a4, a5, a6);
  case FUTEX_LOCK_PI:
  case FUTEX_LOCK_PI2:
    return futex_wait(LW_CALL_futex_lock_pi, word, timeout != NULL, SYS_futex, a1, a2, a3, a4, a5,
                      a6);
  case FUTEX_WAKE:
  case FUTEX_WAKE_BITSET:
  case FUTEX_WAKE_OP:
  case FUTEX_REQUEUE:
  case FUTEX_CMP_REQUEUE:
  case FUTEX_CMP_REQUEUE_PI:
  case FUTEX_UNLOCK_PI:
    /* An untracked thread notes LW_NO_THREAD: "woken by someone". */
    lw_evidence_note(word, lw_self->id);
    break;
  default:
    break;
  }
  return forward(SYS_futex, a1, a2, a3, a4, a5, a6);
}

#ifdef SYS_futex_waitv
/* futex_waitv(waiters, count, flags, timeout, clock): the first word
 * stands for the wait. */
static LW_NOINLINE long futex_waitv_call(long a1, long a2, long a3, long a4, long a5, long a6) {
  const struct futex_waitv *waiters = (const struct futex_waitv *)a1;
  const void *word = waiters && a2 > 0 ? (const void *)(uintptr_t)waiters[0].uaddr : NULL;
  return futex_wait(LW_CALL_futex_waitv, word, a4 != 0, SYS_futex_waitv, a1, a2, a3, a4, a5, a6);
}
#endif

LW_EXPORT long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6) {
  if (LW_UNLIKELY(number == SYS_futex))
    return futex_call(a1, a2, a3, a4, a5, a6);
#ifdef SYS_futex_waitv
  if (LW_UNLIKELY(number == SYS_futex_waitv))
    return futex_waitv_call(a1, a2, a3, a4, a5, a6);
#endif
  return lw_real.syscall(number, a1, a2, a3, a4, a5, a6);
}
