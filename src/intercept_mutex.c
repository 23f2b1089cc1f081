/*
 * intercept_mutex.c - pthread mutexes and C11 mtx_t.
 *
 * Shape of every lock wrapper: try first; if the try takes the lock, it is
 * recorded in the thread's held list and the call returns (the fast path).
 * If the lock is busy, the thread is about to block: publish the wait, make
 * the real blocking call, end the wait, record the lock if it was acquired.
 * Return codes are the real call's, untouched: EOWNERDEAD (acquired),
 * EDEADLK, ETIMEDOUT, EAGAIN, ENOTRECOVERABLE...
 *
 * pthread_mutex_lock, the hottest call of all, does not try first: glibc's
 * trylock costs twice its lock (measured: 12.3 vs 7.8 ns a pair through a
 * bare forwarding shim). It looks at the mutex instead. A free normal mutex
 * (lock word and kind both 0) is recorded as held and locked with the real
 * call as a tail call: glibc's lock of a normal mutex has no error return
 * (nptl/pthread_mutex_lock.c), so there is no return code to check. Every
 * other kind (recursive, error-checking, robust, PI, shared, adaptive, or
 * destroyed) takes mutex_lock_other, which checks. A mutex taken in the instant between the
 * look and the lock makes the thread block with a held entry it does not
 * own yet: snapshot.c recognises that "hidden" wait by the mutex's owner
 * field, which glibc keeps for every mutex kind.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "lockorder.h"
#include "misuse.h"
#include "wait.h"

/* Codes that mean "the caller now holds the mutex". */
static inline bool mutex_acquired(int rc) { return rc == 0 || rc == EOWNERDEAD; }

/* lw_real's lock entries are never NULL: before resolution they succeed
 * trivially (interpose.c). The timed ones are resolved before any second
 * thread can exist. */

static LW_NOINLINE int mutex_lock_blocking(lw_thread *self, pthread_mutex_t *mutex,
                                           enum lw_call call, const struct timespec *abstime,
                                           clockid_t clock, uintptr_t site) {
  bool began = lw_wait_begin(self, call, mutex, NULL, abstime != NULL, LW_NO_THREAD);
  int rc;
  if (call == LW_CALL_pthread_mutex_lock)
    rc = lw_real.pthread_mutex_lock(mutex);
  else if (call == LW_CALL_pthread_mutex_timedlock)
    rc = lw_real.pthread_mutex_timedlock(mutex, abstime);
  else
    rc = lw_real.pthread_mutex_clocklock(mutex, clock, abstime);
  lw_wait_end(self, began);
  if (mutex_acquired(rc))
    lw_held_push(self, mutex, site);
  return rc;
}

/* The try did not take the mutex: `rc` says why. */
static LW_NOINLINE int mutex_lock_not_taken(lw_thread *self, pthread_mutex_t *mutex, int rc,
                                            enum lw_call call, const struct timespec *abstime,
                                            clockid_t clock, uintptr_t site) {
  if (rc == EBUSY)
    return mutex_lock_blocking(self, mutex, call, abstime, clock, site);
  if (rc == EOWNERDEAD)
    lw_held_push(self, mutex, site);
  return rc;
}

/* Free, with a lock that cannot fail (see the file comment). The look
 * first asks for the cache line for writing (PREFETCHW, a no-op where the
 * CPU lacks it): under contention a plain load would fetch the line shared
 * and glibc's compare-and-swap then fetch it again exclusive, one more
 * transfer between cores per lock (measured: 1.23-1.29x -> 1.15-1.23x on
 * mutex_contended, same runs; the uncontended pair is unchanged). */
static LW_ALWAYS_INLINE bool mutex_free_and_normal(const pthread_mutex_t *mutex) {
  __asm__ volatile("prefetchw %0" : : "m"(*(const char *)mutex));
  return (__atomic_load_n(&mutex->__data.__lock, __ATOMIC_RELAXED) | mutex->__data.__kind) == 0;
}

/* A thread not met yet, inside the shim, a nested lock (the lock-order
 * graph hears of it, before the thread may block), a mutex that is not
 * normal, or one that looked taken: try, and publish a wait if it is. */
static LW_NOINLINE int mutex_lock_other(pthread_mutex_t *mutex, uintptr_t site) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.pthread_mutex_lock(mutex);
  if (lw_holds_listed(self))
    lw_order_acquire(self, mutex, site);
  lw_held *top = self->held_top;
  if (lw_held_has_room(self, top) &&
      __atomic_load_n(&mutex->__data.__lock, __ATOMIC_RELAXED) == 0) {
    lw_held_push_above(self, top, mutex, site);
    int rc = lw_real.pthread_mutex_lock(mutex);
    if (rc != 0 && rc != EOWNERDEAD) /* EDEADLK, EINVAL, EAGAIN, ENOTRECOVERABLE */
      lw_held_pop(self, mutex);
    return rc;
  }
  /* Taken (or ours, for a recursive or error-checking relock): publish a
   * wait and let glibc decide; a relock's "wait" ends at once. */
  return mutex_lock_blocking(self, mutex, LW_CALL_pthread_mutex_lock, NULL, 0, site);
}

LW_EXPORT int pthread_mutex_lock(pthread_mutex_t *mutex) {
  lw_thread *self = lw_self;
  lw_held *top = self->held_top;
  uintptr_t site = lw_held_site(LW_CALLER_PC(), LW_LOCK_MUTEX);
  /* Nested: fast only for an edge this thread has already sent. */
  if (LW_UNLIKELY(top != &self->held_slots[0]) &&
      (!lw_held_has_room(self, top) || !lw_order_known(self, top, mutex)))
    return mutex_lock_other(mutex, site);
  if (LW_UNLIKELY(!mutex_free_and_normal(mutex)))
    return mutex_lock_other(mutex, site);
  lw_held_push_above(self, top, mutex, site);
  return lw_real.pthread_mutex_lock(mutex);
}

LW_EXPORT int pthread_mutex_trylock(pthread_mutex_t *mutex) {
  lw_thread *self = lw_thread_enter();
  int rc = lw_real.pthread_mutex_trylock(mutex);
  if (self && mutex_acquired(rc))
    lw_held_push(self, mutex, lw_held_site(LW_CALLER_PC(), LW_LOCK_MUTEX));
  return rc;
}

/* The timed calls: try, and on success record. */
static LW_ALWAYS_INLINE int mutex_lock_timed(pthread_mutex_t *mutex, enum lw_call call,
                                             clockid_t clock, const struct timespec *abstime,
                                             uintptr_t call_pc) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return call == LW_CALL_pthread_mutex_timedlock
               ? lw_real.pthread_mutex_timedlock(mutex, abstime)
               : lw_real.pthread_mutex_clocklock(mutex, clock, abstime);
  uintptr_t site = lw_held_site(call_pc, LW_LOCK_MUTEX);
  lw_order_acquire(self, mutex, site);
  int rc = lw_real.pthread_mutex_trylock(mutex);
  if (rc != 0)
    return mutex_lock_not_taken(self, mutex, rc, call, abstime, clock, site);
  lw_held_push(self, mutex, site);
  return 0;
}

LW_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *mutex, const struct timespec *abstime) {
  return mutex_lock_timed(mutex, LW_CALL_pthread_mutex_timedlock, CLOCK_REALTIME, abstime,
                          LW_CALLER_PC());
}

LW_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *mutex, clockid_t clock,
                                      const struct timespec *abstime) {
  return mutex_lock_timed(mutex, LW_CALL_pthread_mutex_clocklock, clock, abstime, LW_CALLER_PC());
}

/* The unlock of a mutex that is not the top entry (or of an untracked
 * thread): the search, then the real call, as one tail call so the fast
 * path below keeps nothing across calls. */
static LW_NOINLINE int mutex_unlock_other(pthread_mutex_t *mutex, uintptr_t call_pc) {
  lw_misuse_unlock_not_on_top(mutex, LW_LOCK_MUTEX, call_pc);
  return lw_real.pthread_mutex_unlock(mutex);
}

LW_EXPORT int pthread_mutex_unlock(pthread_mutex_t *mutex) {
  /* Pop before unlocking: the next owner may take it at once. */
  if (LW_UNLIKELY(!lw_held_pop_top(lw_self, mutex)))
    return mutex_unlock_other(mutex, LW_CALLER_PC());
  return lw_real.pthread_mutex_unlock(mutex);
}

/* ---- C11: glibc implements mtx_* on the pthread functions internally,
 *      without the PLT, so they are wrapped in their own right. An mtx_t
 *      starts with its pthread_mutex_t: the same address names both. ---- */

static LW_NOINLINE int mtx_lock_blocking(lw_thread *self, mtx_t *mutex, enum lw_call call,
                                         const struct timespec *abstime, uintptr_t site) {
  bool began = lw_wait_begin(self, call, mutex, NULL, abstime != NULL, LW_NO_THREAD);
  int rc = abstime ? lw_real.mtx_timedlock(mutex, abstime) : lw_real.mtx_lock(mutex);
  lw_wait_end(self, began);
  if (rc == thrd_success)
    lw_held_push(self, mutex, site);
  return rc;
}

static LW_ALWAYS_INLINE int mtx_lock_tracked(lw_thread *self, mtx_t *mutex, enum lw_call call,
                                             const struct timespec *abstime, uintptr_t site) {
  if (lw_holds_listed(self))
    lw_order_acquire(self, mutex, site);
  int rc = lw_real.mtx_trylock(mutex);
  if (LW_LIKELY(rc == thrd_success)) {
    lw_held_push(self, mutex, site);
    return rc;
  }
  if (rc == thrd_busy)
    return mtx_lock_blocking(self, mutex, call, abstime, site);
  return rc;
}

LW_EXPORT int mtx_lock(mtx_t *mutex) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.mtx_lock ? lw_real.mtx_lock(mutex) : thrd_success;
  return mtx_lock_tracked(self, mutex, LW_CALL_mtx_lock, NULL,
                          lw_held_site(LW_CALLER_PC(), LW_LOCK_MTX));
}

LW_EXPORT int mtx_timedlock(mtx_t *__restrict mutex, const struct timespec *__restrict abstime) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.mtx_timedlock ? lw_real.mtx_timedlock(mutex, abstime) : thrd_success;
  return mtx_lock_tracked(self, mutex, LW_CALL_mtx_timedlock, abstime,
                          lw_held_site(LW_CALLER_PC(), LW_LOCK_MTX));
}

LW_EXPORT int mtx_trylock(mtx_t *mutex) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.mtx_trylock ? lw_real.mtx_trylock(mutex) : thrd_success;
  int rc = lw_real.mtx_trylock(mutex);
  if (rc == thrd_success)
    lw_held_push(self, mutex, lw_held_site(LW_CALLER_PC(), LW_LOCK_MTX));
  return rc;
}

LW_EXPORT int mtx_unlock(mtx_t *mutex) {
  if (LW_UNLIKELY(!lw_held_pop_top(lw_self, mutex)))
    lw_misuse_unlock_not_on_top(mutex, LW_LOCK_MTX, LW_CALLER_PC());
  return lw_real.mtx_unlock ? lw_real.mtx_unlock(mutex) : thrd_success;
}

/* ---- life and death of a mutex: a new one at an old address must not
 *      inherit the old one's lock-order edges ---- */

LW_EXPORT int pthread_mutex_init(pthread_mutex_t *mutex, const pthread_mutexattr_t *attr) {
  int rc = lw_real.pthread_mutex_init ? lw_real.pthread_mutex_init(mutex, attr) : 0;
  if (rc == 0)
    lw_order_lock_initialised(mutex, LW_CALLER_PC());
  return rc;
}

LW_EXPORT int pthread_mutex_destroy(pthread_mutex_t *mutex) {
  lw_thread *self = lw_thread_enter();
  if (self)
    lw_misuse_destroy(self, mutex, LW_DESTROYED_MUTEX, "pthread_mutex_destroy", LW_CALLER_PC());
  int rc = lw_real.pthread_mutex_destroy(mutex);
  if (rc == 0)
    lw_order_lock_destroyed(mutex);
  return rc;
}

LW_EXPORT int mtx_init(mtx_t *mutex, int type) {
  int rc = lw_real.mtx_init(mutex, type);
  if (rc == thrd_success)
    lw_order_lock_initialised(mutex, LW_CALLER_PC());
  return rc;
}

LW_EXPORT void mtx_destroy(mtx_t *mutex) {
  lw_thread *self = lw_thread_enter();
  if (self)
    lw_misuse_destroy(self, mutex, LW_DESTROYED_MUTEX, "mtx_destroy", LW_CALLER_PC());
  lw_real.mtx_destroy(mutex);
  lw_order_lock_destroyed(mutex);
}
