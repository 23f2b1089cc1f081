/*
 * common.h - what every file of the shim shares: attributes, atomics, the
 * clock, the internal lock and diagnostics.
 *
 * The shim lives inside someone else's process. Nothing here allocates or
 * takes a lock that the program could also take: the internal lock is a bare
 * futex word, the clock is the vDSO, diagnostics go straight to write(2).
 */
#ifndef LW_COMMON_H
#define LW_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define LW_EXPORT __attribute__((visibility("default")))
#define LW_LIKELY(x) __builtin_expect(!!(x), 1)
#define LW_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LW_NOINLINE __attribute__((noinline))
#define LW_ALWAYS_INLINE inline __attribute__((always_inline))
#define LW_TLS __thread __attribute__((tls_model("initial-exec")))
#define LW_CACHELINE 64
/* A large static array most processes never touch, or touch one page of:
 * placed after .bss (.lbss, also zero-filled, no file space), so that the
 * small variables every process touches at start share a few pages rather
 * than lying between the arrays (a page of .bss touched is a page fault,
 * 25-30 us on a VM; bench/README.md, "What every process pays"). */
#define LW_COLD __attribute__((section(".lbss.leakwatch")))
#define LW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Monotonic nanoseconds; the vDSO makes this a few loads, no syscall. */
static inline uint64_t lw_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The resolution of CLOCK_MONOTONIC_COARSE (a timer tick), read at start. */
extern uint64_t lw_tick_resolution_ns;

/* A start time whose age lw_age_ns will never overstate: the same clock as
 * of the last timer tick, moved up by one tick, so it is at or after the
 * true time; an age may read up to a tick (a few ms) short. A quarter of
 * lw_now_ns's cost (5 vs 22 ns measured): for the start of every wait. */
static inline uint64_t lw_start_stamp_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + lw_tick_resolution_ns;
}

/* now - start, or 0 when the stamp is still ahead of now. */
static inline uint64_t lw_age_ns(uint64_t now, uint64_t start) {
  return now > start ? now - start : 0;
}

/*
 * lw_lock: the shim's private lock. A three-state futex mutex (0 free,
 * 1 locked, 2 locked with waiters) so it never goes through the program's
 * pthread_mutex_lock (which is our own wrapper) and can be reset in a forked
 * child by storing 0.
 */
typedef struct {
  _Atomic uint32_t word;
} lw_lock;
#define LW_LOCK_INIT                                                                               \
  { 0 }
void lw_lock_acquire(lw_lock *lock);
void lw_lock_release(lw_lock *lock);

/* Futex helpers for the shim's own sleeps and wake-ups: straight to the
 * kernel (not seen as the program's, errno untouched); wait returns 0 or
 * -errno. */
int lw_futex_wait(_Atomic uint32_t *word, uint32_t expected, const struct timespec *rel_timeout);
void lw_futex_wake(_Atomic uint32_t *word, int count);

/* A system call made by the shim for itself: straight to the kernel, the
 * program's errno untouched. Returns the result or -errno. */
long lw_syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

/* Our own kernel thread id, without glibc's caching games. */
int lw_gettid(void);

/* Diagnostics: one line to stderr prefixed "leakwatch: ". Async-signal-safe
 * except for the formatting (vsnprintf into a stack buffer). */
void lw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like lw_warn, printed only when verbosity >= level. */
void lw_verbose(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Warnings about what a user typed (options, suppression rules): the first
 * LW_WARN_FIRST in full, then one line with the count of the rest, so a
 * file of 10,000 bad lines is not 10,000 lines of stderr. */
#define LW_WARN_FIRST 10
typedef struct {
  unsigned count;
} lw_warn_budget;
void lw_warn_budgeted(lw_warn_budget *budget, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The closing line ("... and 42 more problems in <where>"), if any. */
void lw_warn_budget_end(lw_warn_budget *budget, const char *where);

/* Write all of buf to fd, retrying on EINTR and short writes; on a
 * non-blocking fd, waits for room but fails (ETIMEDOUT) after
 * LW_WRITE_STALL_MS without progress. Never a cancellation point. */
#define LW_WRITE_STALL_MS 5000
bool lw_write_all(int fd, const void *buf, size_t len);

#endif
