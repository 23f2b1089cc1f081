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
 * pthread_mutex_lock, the hottest call of all, has two fast paths, chosen
 * by the floor of the thread's held list (registry.h):
 *  - Alone (the process has had no second thread): glibc's lock of a
 *    private mutex is then a plain store, its trylock still an atomic
 *    compare-and-swap, twice the cost (12.3 vs 7.8 ns a pair, measured
 *    through a bare forwarding shim). So it looks at the mutex instead: a
 *    free normal mutex (lock word and kind both 0) is recorded as held and
 *    locked with the real call as a tail call. glibc's lock of a normal
 *    mutex has no error return (nptl/pthread_mutex_lock.c), so there is no
 *    return code to check, and no other thread can take it in between (a
 *    thread the shim did not see created ends "alone" when it is met).
 *    Every other kind, or a taken mutex, goes to mutex_lock_other.
 *  - Shared (any other time): glibc's lock and trylock are then the same
 *    compare-and-swap (69 and 71 instructions a pair), so it tries first,
 *    like every other wrapper. A look before the compare-and-swap would
 *    cost a contended lock one more transfer of the mutex's cache line
 *    between cores (mutex_contended: 1.23 -> 1.07 in one run, bench/), and
 *    a mutex taken between the look and the lock would block with no wait
 *    published. The entry is pushed before the try, so nothing is kept
 *    across the call; a failed try takes it back (mutex_lock_try_failed).
 */
#define _GNU_SOURCE
#include <errno.h>

#include "lockorder.h"
#include "misuse.h"
#include "wait.h"

/* Codes that mean "the caller now holds the mutex". */
static inline bool mutex_acquired(int rc) { return rc == 0 || rc == EOWNERDEAD; }

/* Every lw_real entry is callable at every moment (interpose.h). */

/* Blocks in the real call behind a published wait; on success the mutex
 * is listed. `order`: tell the lock-order graph after the mutex is taken
 * (a kind that cannot be tried first, see mutex_try_differs). */
static LW_NOINLINE int mutex_lock_blocking(lw_thread *self, pthread_mutex_t *mutex,
                                           enum lw_call call, const struct timespec *abstime,
                                           clockid_t clock, uintptr_t site, bool order) {
  bool began = lw_wait_begin(self, call, mutex, NULL, abstime != NULL, LW_NO_THREAD);
  int rc;
  if (call == LW_CALL_pthread_mutex_lock)
    rc = lw_real.pthread_mutex_lock(mutex);
  else if (call == LW_CALL_pthread_mutex_timedlock)
    rc = lw_real.pthread_mutex_timedlock(mutex, abstime);
  else
    rc = lw_real.pthread_mutex_clocklock(mutex, clock, abstime);
  lw_wait_end(self, began);
  if (mutex_acquired(rc)) {
    if (order && lw_holds_listed(self))
      lw_lockorder_acquire(self, mutex, site);
    lw_held_push(self, mutex, site);
  }
  return rc;
}

/*
 * The kinds whose trylock and lock disagree: robust (a not-recoverable
 * robust mutex's trylock returns ENOTRECOVERABLE but leaves the lock word
 * taken, so the lock after it would hang where glibc's lock alone returns
 * at once), priority-inheritance and priority-protect (the try and the
 * lock check the ceiling and the scheduler differently). These go
 * straight to the real lock, behind a published wait. glibc keeps the
 * kind in __kind: PTHREAD_MUTEX_ROBUST_NORMAL_NP (16),
 * PTHREAD_MUTEX_PRIO_INHERIT_NP (32), PTHREAD_MUTEX_PRIO_PROTECT_NP (64).
 * A statically initialised mutex is never one of them.
 */
#define LW_MUTEX_KINDS_TRY_DIFFERS (16 | 32 | 64)
static LW_ALWAYS_INLINE bool mutex_try_differs(const pthread_mutex_t *mutex) {
  return mutex->__data.__kind & LW_MUTEX_KINDS_TRY_DIFFERS;
}

/* The try did not take the mutex (`rc`, not EOWNERDEAD: no robust mutex
 * is tried): the real lock decides, behind a published wait. EBUSY
 * blocks; the rare codes (EINVAL, EAGAIN, EDEADLK) come back from the
 * lock itself, so the caller sees exactly what glibc's lock says. Only
 * now, with the thread about to block, does the lock-order graph hear of
 * the edge: before a try that succeeds, the work would widen the window
 * between two acquisitions (a latent ABBA would become a certain one). */
static LW_NOINLINE int mutex_lock_not_taken(lw_thread *self, pthread_mutex_t *mutex,
                                            enum lw_call call, const struct timespec *abstime,
                                            clockid_t clock, uintptr_t site) {
  if (lw_holds_listed(self))
    lw_lockorder_acquire(self, mutex, site);
  return mutex_lock_blocking(self, mutex, call, abstime, clock, site, false);
}

/* The alone path's look (see the file comment): free and normal. */
static LW_ALWAYS_INLINE bool mutex_free_and_normal(const pthread_mutex_t *mutex) {
  return (__atomic_load_n(&mutex->__data.__lock, __ATOMIC_RELAXED) | mutex->__data.__kind) == 0;
}

/* The try took nothing: the entry the shared path pushed is still on top
 * (a signal handler in between leaves the list as it found it). Take it
 * back, and let the real lock decide. */
static LW_NOINLINE int mutex_lock_try_failed(void) {
  lw_thread *self = lw_self;
  lw_held entry = *self->held_top;
  pthread_mutex_t *mutex = (pthread_mutex_t *)entry.object;
  lw_held_pop(self, mutex);
  return mutex_lock_not_taken(self, mutex, LW_CALL_pthread_mutex_lock, NULL, 0, entry.site);
}

static LW_NOINLINE int mutex_lock_other(pthread_mutex_t *mutex, uintptr_t site);

/* The shared path: push, try; out of line, so that the alone path, which
 * tail-calls, keeps no registers to save. The kind is read from the line
 * the try is about to take anyway. */
static LW_NOINLINE int mutex_lock_try_first(pthread_mutex_t *mutex, uintptr_t site, lw_thread *self,
                                            lw_held *top) {
  if (LW_UNLIKELY(mutex_try_differs(mutex)))
    return mutex_lock_other(mutex, site);
  lw_held_push_above(self, top, mutex, site);
  int rc = lw_real.pthread_mutex_trylock(mutex);
  if (LW_UNLIKELY(rc != 0))
    return mutex_lock_try_failed();
  return rc;
}

/* A thread not met yet, inside the shim, a nested lock the fast path
 * cannot take (the lock-order graph hears of it), a full list, a kind that
 * cannot be tried first, or, alone, a mutex that is not normal or looked
 * taken: try, and publish a wait if the mutex is busy. */
static LW_NOINLINE int mutex_lock_other(pthread_mutex_t *mutex, uintptr_t site) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.pthread_mutex_lock(mutex);
  if (mutex_try_differs(mutex))
    return mutex_lock_blocking(self, mutex, LW_CALL_pthread_mutex_lock, NULL, 0, site, true);
  int rc = lw_real.pthread_mutex_trylock(mutex);
  if (rc != 0) /* taken, ours (a relock), or an error */
    return mutex_lock_not_taken(self, mutex, LW_CALL_pthread_mutex_lock, NULL, 0, site);
  if (lw_holds_listed(self))
    lw_lockorder_acquire(self, mutex, site);
  lw_held_push(self, mutex, site);
  return rc;
}

LW_EXPORT int pthread_mutex_lock(pthread_mutex_t *mutex) {
  lw_thread *self = lw_self;
  lw_held *top = self->held_top;
  uintptr_t site = lw_held_site(LW_CALLER_PC(), LW_LOCK_MUTEX);
  /* Atomic: another thread may turn a floor from alone to shared (registry.c). */
  const void *top_object = __atomic_load_n(&top->object, __ATOMIC_RELAXED);
  bool alone;
  if (LW_LIKELY(top_object == LW_HELD_FLOOR_ALONE)) {
    alone = true;
  } else if (top_object == LW_HELD_FLOOR) {
    alone = false;
  } else {
    /* Nested (or untracked): fast only for an edge this thread has
     * already sent. */
    if (!lw_held_has_room(self, top) || !lw_lockorder_known(self, top, mutex))
      return mutex_lock_other(mutex, site);
    alone = lw_held_alone(self);
  }
  if (!alone)
    return mutex_lock_try_first(mutex, site, self, top);
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
  if (mutex_try_differs(mutex))
    return mutex_lock_blocking(self, mutex, call, abstime, clock, site, true);
  int rc = lw_real.pthread_mutex_trylock(mutex);
  if (rc != 0)
    return mutex_lock_not_taken(self, mutex, call, abstime, clock, site);
  if (lw_holds_listed(self))
    lw_lockorder_acquire(self, mutex, site);
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

/* As for pthread mutexes: try first, and tell the lock-order graph after
 * the try took the lock, or before blocking. An mtx_t is never robust,
 * priority-inheriting or priority-protected. */
static LW_ALWAYS_INLINE int mtx_lock_tracked(lw_thread *self, mtx_t *mutex, enum lw_call call,
                                             const struct timespec *abstime, uintptr_t site) {
  int rc = lw_real.mtx_trylock(mutex);
  if (LW_UNLIKELY(rc != thrd_success)) {
    if (rc != thrd_busy)
      return rc;
    if (lw_holds_listed(self))
      lw_lockorder_acquire(self, mutex, site);
    return mtx_lock_blocking(self, mutex, call, abstime, site);
  }
  if (lw_holds_listed(self))
    lw_lockorder_acquire(self, mutex, site);
  lw_held_push(self, mutex, site);
  return rc;
}

LW_EXPORT int mtx_lock(mtx_t *mutex) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.mtx_lock(mutex);
  return mtx_lock_tracked(self, mutex, LW_CALL_mtx_lock, NULL,
                          lw_held_site(LW_CALLER_PC(), LW_LOCK_MTX));
}

LW_EXPORT int mtx_timedlock(mtx_t *__restrict mutex, const struct timespec *__restrict abstime) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.mtx_timedlock(mutex, abstime);
  return mtx_lock_tracked(self, mutex, LW_CALL_mtx_timedlock, abstime,
                          lw_held_site(LW_CALLER_PC(), LW_LOCK_MTX));
}

LW_EXPORT int mtx_trylock(mtx_t *mutex) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.mtx_trylock(mutex);
  int rc = lw_real.mtx_trylock(mutex);
  if (rc == thrd_success)
    lw_held_push(self, mutex, lw_held_site(LW_CALLER_PC(), LW_LOCK_MTX));
  return rc;
}

LW_EXPORT int mtx_unlock(mtx_t *mutex) {
  if (LW_UNLIKELY(!lw_held_pop_top(lw_self, mutex)))
    lw_misuse_unlock_not_on_top(mutex, LW_LOCK_MTX, LW_CALLER_PC());
  return lw_real.mtx_unlock(mutex);
}

/* ---- life and death of a mutex: a new one at an old address must not
 *      inherit the old one's lock-order edges ---- */

LW_EXPORT int pthread_mutex_init(pthread_mutex_t *mutex, const pthread_mutexattr_t *attr) {
  int rc = lw_real.pthread_mutex_init(mutex, attr);
  if (rc == 0)
    lw_lockorder_lock_initialised(mutex, LW_CALLER_PC());
  return rc;
}

LW_EXPORT int pthread_mutex_destroy(pthread_mutex_t *mutex) {
  lw_thread *self = lw_thread_enter();
  if (self)
    lw_misuse_destroy(self, mutex, LW_DESTROYED_MUTEX, "pthread_mutex_destroy", LW_CALLER_PC());
  int rc = lw_real.pthread_mutex_destroy(mutex);
  if (rc == 0)
    lw_lockorder_lock_destroyed(mutex);
  return rc;
}

LW_EXPORT int mtx_init(mtx_t *mutex, int type) {
  int rc = lw_real.mtx_init(mutex, type);
  if (rc == thrd_success)
    lw_lockorder_lock_initialised(mutex, LW_CALLER_PC());
  return rc;
}

LW_EXPORT void mtx_destroy(mtx_t *mutex) {
  lw_thread *self = lw_thread_enter();
  if (self)
    lw_misuse_destroy(self, mutex, LW_DESTROYED_MUTEX, "mtx_destroy", LW_CALLER_PC());
  lw_real.mtx_destroy(mutex);
  lw_lockorder_lock_destroyed(mutex);
}
