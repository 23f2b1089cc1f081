/*
 * intercept_mutex.c - pthread mutexes and C11 mtx_t.
 *
 * Shape of every lock wrapper: try first; if the try takes the lock, record
 * it in the thread's held list and return (the fast path). If the lock is
 * busy, the thread is about to block: publish the wait, make the real
 * blocking call, end the wait, record the lock if it was acquired. Return
 * codes are the real call's, untouched: EOWNERDEAD (acquired), EDEADLK,
 * ETIMEDOUT, EAGAIN, ENOTRECOVERABLE...
 */
#define _GNU_SOURCE
#include <errno.h>

#include "wait.h"

/* Codes that mean "the caller now holds the mutex". */
static inline bool mutex_acquired(int rc) { return rc == 0 || rc == EOWNERDEAD; }

/* lw_real's lock entries are never NULL: before resolution they succeed
 * trivially (interpose.c). The timed ones are resolved before any second
 * thread can exist. */

static LW_NOINLINE int mutex_lock_blocking(lw_thread *self, pthread_mutex_t *mutex, enum lw_call call,
                                           const struct timespec *abstime, clockid_t clock,
                                           uintptr_t call_pc, uintptr_t cfa) {
  bool began = lw_wait_begin(self, call, mutex, NULL, abstime != NULL, UINT32_MAX);
  int rc;
  if (call == LW_CALL_pthread_mutex_lock)
    rc = lw_real.pthread_mutex_lock(mutex);
  else if (call == LW_CALL_pthread_mutex_timedlock)
    rc = lw_real.pthread_mutex_timedlock(mutex, abstime);
  else
    rc = lw_real.pthread_mutex_clocklock(mutex, clock, abstime);
  lw_wait_end(self, began);
  if (mutex_acquired(rc))
    lw_held_push(self, mutex, call, LW_LOCK_MUTEX, call_pc, cfa);
  return rc;
}

/* The try did not take the mutex: `rc` says why. */
static LW_NOINLINE int mutex_lock_not_taken(lw_thread *self, pthread_mutex_t *mutex, int rc,
                                            enum lw_call call, const struct timespec *abstime,
                                            clockid_t clock, uintptr_t call_pc, uintptr_t cfa) {
  if (rc == EBUSY)
    return mutex_lock_blocking(self, mutex, call, abstime, clock, call_pc, cfa);
  if (rc == EOWNERDEAD)
    lw_held_push(self, mutex, call, LW_LOCK_MUTEX, call_pc, cfa);
  return rc;
}

/* Try, and on success record: the whole fast path, expanded inside the
 * exported wrapper. The caller's pc and stack pointer are read only after
 * the try, so nothing has to be kept across the call. */
#define LW_MUTEX_LOCK_TRACKED(self, mutex, call, abstime, clock)                                  \
  do {                                                                                            \
    int rc_ = lw_real.pthread_mutex_trylock(mutex);                                               \
    if (LW_UNLIKELY(rc_ != 0))                                                                    \
      return mutex_lock_not_taken(self, mutex, rc_, call, abstime, clock, LW_CALLER_PC(),         \
                                  LW_CALLER_CFA());                                               \
    lw_held_push(self, mutex, call, LW_LOCK_MUTEX, LW_CALLER_PC(), LW_CALLER_CFA());              \
    return 0;                                                                                     \
  } while (0)

static LW_NOINLINE int mutex_lock_untracked(pthread_mutex_t *mutex, uintptr_t call_pc, uintptr_t cfa) {
  lw_thread *self = lw_thread_enter_slow();
  if (!self)
    return lw_real.pthread_mutex_lock(mutex);
  int rc = lw_real.pthread_mutex_trylock(mutex);
  if (rc != 0)
    return mutex_lock_not_taken(self, mutex, rc, LW_CALL_pthread_mutex_lock, NULL, 0, call_pc, cfa);
  lw_held_push(self, mutex, LW_CALL_pthread_mutex_lock, LW_LOCK_MUTEX, call_pc, cfa);
  return 0;
}

LW_EXPORT int pthread_mutex_lock(pthread_mutex_t *mutex) {
  lw_thread *self = lw_self;
  if (LW_UNLIKELY(!self))
    return mutex_lock_untracked(mutex, LW_CALLER_PC(), LW_CALLER_CFA());
  LW_MUTEX_LOCK_TRACKED(self, mutex, LW_CALL_pthread_mutex_lock, NULL, 0);
}

LW_EXPORT int pthread_mutex_trylock(pthread_mutex_t *mutex) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.pthread_mutex_trylock(mutex);
  int rc = lw_real.pthread_mutex_trylock(mutex);
  if (mutex_acquired(rc))
    lw_held_push(self, mutex, LW_CALL_pthread_mutex_trylock, LW_LOCK_MUTEX, LW_CALLER_PC(),
                 LW_CALLER_CFA());
  return rc;
}

LW_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *mutex, const struct timespec *abstime) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.pthread_mutex_timedlock(mutex, abstime);
  LW_MUTEX_LOCK_TRACKED(self, mutex, LW_CALL_pthread_mutex_timedlock, abstime, CLOCK_REALTIME);
}

LW_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *mutex, clockid_t clock,
                                      const struct timespec *abstime) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.pthread_mutex_clocklock(mutex, clock, abstime);
  LW_MUTEX_LOCK_TRACKED(self, mutex, LW_CALL_pthread_mutex_clocklock, abstime, clock);
}

LW_EXPORT int pthread_mutex_unlock(pthread_mutex_t *mutex) {
  lw_thread *self = lw_self;
  if (LW_LIKELY(self != NULL))
    lw_held_pop(self, mutex); /* before: the next owner may take it at once */
  return lw_real.pthread_mutex_unlock(mutex);
}

/* ---- C11: glibc implements mtx_* on the pthread functions internally,
 *      without the PLT, so they are wrapped in their own right. An mtx_t
 *      starts with its pthread_mutex_t: the same address names both. ---- */

static LW_NOINLINE int mtx_lock_blocking(lw_thread *self, mtx_t *mutex, enum lw_call call,
                                         const struct timespec *abstime, uintptr_t call_pc,
                                         uintptr_t cfa) {
  bool began = lw_wait_begin(self, call, mutex, NULL, abstime != NULL, UINT32_MAX);
  int rc = abstime ? lw_real.mtx_timedlock(mutex, abstime) : lw_real.mtx_lock(mutex);
  lw_wait_end(self, began);
  if (rc == thrd_success)
    lw_held_push(self, mutex, call, LW_LOCK_MUTEX, call_pc, cfa);
  return rc;
}

static LW_ALWAYS_INLINE int mtx_lock_tracked(lw_thread *self, mtx_t *mutex, enum lw_call call,
                                             const struct timespec *abstime, uintptr_t call_pc,
                                             uintptr_t cfa) {
  int rc = lw_real.mtx_trylock(mutex);
  if (LW_LIKELY(rc == thrd_success)) {
    lw_held_push(self, mutex, call, LW_LOCK_MUTEX, call_pc, cfa);
    return rc;
  }
  if (rc == thrd_busy)
    return mtx_lock_blocking(self, mutex, call, abstime, call_pc, cfa);
  return rc;
}

LW_EXPORT int mtx_lock(mtx_t *mutex) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.mtx_lock ? lw_real.mtx_lock(mutex) : thrd_success;
  return mtx_lock_tracked(self, mutex, LW_CALL_mtx_lock, NULL, LW_CALLER_PC(), LW_CALLER_CFA());
}

LW_EXPORT int mtx_timedlock(mtx_t *__restrict mutex, const struct timespec *__restrict abstime) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.mtx_timedlock ? lw_real.mtx_timedlock(mutex, abstime) : thrd_success;
  return mtx_lock_tracked(self, mutex, LW_CALL_mtx_timedlock, abstime, LW_CALLER_PC(),
                          LW_CALLER_CFA());
}

LW_EXPORT int mtx_trylock(mtx_t *mutex) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.mtx_trylock ? lw_real.mtx_trylock(mutex) : thrd_success;
  int rc = lw_real.mtx_trylock(mutex);
  if (rc == thrd_success)
    lw_held_push(self, mutex, LW_CALL_mtx_trylock, LW_LOCK_MUTEX, LW_CALLER_PC(), LW_CALLER_CFA());
  return rc;
}

LW_EXPORT int mtx_unlock(mtx_t *mutex) {
  lw_thread *self = lw_self;
  if (LW_LIKELY(self != NULL))
    lw_held_pop(self, mutex);
  return lw_real.mtx_unlock ? lw_real.mtx_unlock(mutex) : thrd_success;
}
