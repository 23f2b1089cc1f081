/*
 * intercept_rwlock.c - pthread read-write locks (and C++ std::shared_mutex,
 * which is built on them). Same shape as the mutex wrappers: try, and only
 * publish a wait when the lock is busy.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "lockorder.h"
#include "misuse.h"
#include "wait.h"

/* The blocking call for each rwlock wait kind. */
static int rwlock_block(pthread_rwlock_t *lock, enum lw_call call, clockid_t clock,
                        const struct timespec *abstime) {
  switch (call) {
  case LW_CALL_pthread_rwlock_rdlock:
    return lw_real.pthread_rwlock_rdlock(lock);
  case LW_CALL_pthread_rwlock_wrlock:
    return lw_real.pthread_rwlock_wrlock(lock);
  case LW_CALL_pthread_rwlock_timedrdlock:
    return lw_real.pthread_rwlock_timedrdlock(lock, abstime);
  case LW_CALL_pthread_rwlock_timedwrlock:
    return lw_real.pthread_rwlock_timedwrlock(lock, abstime);
  case LW_CALL_pthread_rwlock_clockrdlock:
    return lw_real.pthread_rwlock_clockrdlock(lock, clock, abstime);
  default:
    return lw_real.pthread_rwlock_clockwrlock(lock, clock, abstime);
  }
}

static LW_NOINLINE int rwlock_lock_blocking(lw_thread *self, pthread_rwlock_t *lock,
                                            enum lw_call call, enum lw_lock_kind kind,
                                            clockid_t clock, const struct timespec *abstime,
                                            uintptr_t call_pc) {
  bool began = lw_wait_begin(self, call, lock, NULL, abstime != NULL, LW_NO_THREAD);
  int rc = rwlock_block(lock, call, clock, abstime);
  lw_wait_end(self, began);
  if (rc == 0)
    lw_held_push(self, lock, lw_held_site(call_pc, kind));
  else if (rc == EDEADLK) /* the caller holds its write lock */
    lw_misuse_rwlock_refused(self, lock, kind, call_pc);
  return rc;
}

static LW_ALWAYS_INLINE int rwlock_try_lock(pthread_rwlock_t *lock, enum lw_lock_kind kind) {
  return kind == LW_LOCK_READ ? lw_real.pthread_rwlock_tryrdlock(lock)
                              : lw_real.pthread_rwlock_trywrlock(lock);
}

/* The try did not take the lock: `rc` says why. Only a thread about to
 * block tells the lock-order graph first (a successful try tells it after:
 * no work between two acquisitions). */
static LW_NOINLINE int rwlock_lock_not_taken(lw_thread *self, pthread_rwlock_t *lock, int rc,
                                             enum lw_call call, enum lw_lock_kind kind,
                                             clockid_t clock, const struct timespec *abstime,
                                             uintptr_t call_pc) {
  if (rc != EBUSY)
    return rc; /* EAGAIN (too many readers), EDEADLK... */
  if (lw_holds_listed(self))
    lw_lockorder_acquire(self, lock, lw_held_site(call_pc, kind));
  return rwlock_lock_blocking(self, lock, call, kind, clock, abstime, call_pc);
}

/* A nested lock (the lock-order graph hears of it) or a thread not
 * tracked now. */
static LW_NOINLINE int rwlock_lock_other(pthread_rwlock_t *lock, enum lw_call call,
                                         enum lw_lock_kind kind, clockid_t clock,
                                         const struct timespec *abstime, uintptr_t call_pc) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return rwlock_block(lock, call, clock, abstime);
  int rc = rwlock_try_lock(lock, kind);
  if (rc != 0)
    return rwlock_lock_not_taken(self, lock, rc, call, kind, clock, abstime, call_pc);
  if (lw_holds_listed(self))
    lw_lockorder_acquire(self, lock, lw_held_site(call_pc, kind));
  lw_held_push(self, lock, lw_held_site(call_pc, kind));
  return 0;
}

/* The fast case: a tracked thread that holds nothing takes a free lock.
 * (lw_untracked's top is not its floor: it goes the other way.) */
static LW_ALWAYS_INLINE int rwlock_lock(pthread_rwlock_t *lock, enum lw_call call,
                                        enum lw_lock_kind kind, clockid_t clock,
                                        const struct timespec *abstime, uintptr_t call_pc) {
  lw_thread *self = lw_self;
  lw_held *top = self->held_top;
  if (LW_UNLIKELY(top != &self->held_slots[0]))
    return rwlock_lock_other(lock, call, kind, clock, abstime, call_pc);
  int rc = rwlock_try_lock(lock, kind);
  if (LW_UNLIKELY(rc != 0))
    return rwlock_lock_not_taken(self, lock, rc, call, kind, clock, abstime, call_pc);
  lw_held_push_above(self, top, lock, lw_held_site(call_pc, kind));
  return 0;
}

#define LW_RWLOCK_WRAPPER(name, call, kind, clock, abstime, ...)                                   \
  LW_EXPORT int name(__VA_ARGS__) {                                                                \
    return rwlock_lock(lock, call, kind, clock, abstime, LW_CALLER_PC());                          \
  }

LW_RWLOCK_WRAPPER(pthread_rwlock_rdlock, LW_CALL_pthread_rwlock_rdlock, LW_LOCK_READ, 0, NULL,
                  pthread_rwlock_t *lock)
LW_RWLOCK_WRAPPER(pthread_rwlock_wrlock, LW_CALL_pthread_rwlock_wrlock, LW_LOCK_WRITE, 0, NULL,
                  pthread_rwlock_t *lock)
LW_RWLOCK_WRAPPER(pthread_rwlock_timedrdlock, LW_CALL_pthread_rwlock_timedrdlock, LW_LOCK_READ,
                  CLOCK_REALTIME, abstime, pthread_rwlock_t *lock, const struct timespec *abstime)
LW_RWLOCK_WRAPPER(pthread_rwlock_timedwrlock, LW_CALL_pthread_rwlock_timedwrlock, LW_LOCK_WRITE,
                  CLOCK_REALTIME, abstime, pthread_rwlock_t *lock, const struct timespec *abstime)
LW_RWLOCK_WRAPPER(pthread_rwlock_clockrdlock, LW_CALL_pthread_rwlock_clockrdlock, LW_LOCK_READ,
                  clock, abstime, pthread_rwlock_t *lock, clockid_t clock,
                  const struct timespec *abstime)
LW_RWLOCK_WRAPPER(pthread_rwlock_clockwrlock, LW_CALL_pthread_rwlock_clockwrlock, LW_LOCK_WRITE,
                  clock, abstime, pthread_rwlock_t *lock, clockid_t clock,
                  const struct timespec *abstime)

static LW_ALWAYS_INLINE int rwlock_try(pthread_rwlock_t *lock, enum lw_lock_kind kind,
                                       uintptr_t call_pc) {
  lw_thread *self = lw_thread_enter();
  int rc;
  if (kind == LW_LOCK_READ)
    rc = lw_real.pthread_rwlock_tryrdlock(lock);
  else
    rc = lw_real.pthread_rwlock_trywrlock(lock);
  if (rc == 0 && self)
    lw_held_push(self, lock, lw_held_site(call_pc, kind));
  return rc;
}

LW_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *lock) {
  return rwlock_try(lock, LW_LOCK_READ, LW_CALLER_PC());
}

LW_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *lock) {
  return rwlock_try(lock, LW_LOCK_WRITE, LW_CALLER_PC());
}

LW_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *lock) {
  if (LW_UNLIKELY(!lw_held_pop_top(lw_self, lock)))
    lw_misuse_unlock_not_on_top(lock, LW_LOCK_WRITE, LW_CALLER_PC());
  return lw_real.pthread_rwlock_unlock(lock);
}

LW_EXPORT int pthread_rwlock_init(pthread_rwlock_t *lock, const pthread_rwlockattr_t *attr) {
  int rc = lw_real.pthread_rwlock_init(lock, attr);
  if (rc == 0)
    lw_lockorder_lock_initialised(lock, LW_CALLER_PC());
  return rc;
}

LW_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *lock) {
  lw_thread *self = lw_thread_enter();
  if (self)
    lw_misuse_destroy(self, lock, LW_DESTROYED_RWLOCK, "pthread_rwlock_destroy", LW_CALLER_PC());
  int rc = lw_real.pthread_rwlock_destroy(lock);
  if (rc == 0)
    lw_lockorder_lock_destroyed(lock);
  return rc;
}
