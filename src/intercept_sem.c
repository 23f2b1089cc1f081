/*
 * intercept_sem.c - POSIX semaphores and barriers.
 *
 * sem_wait tries first (sem_trywait): only a wait on an empty semaphore
 * blocks and is published. A failed try leaves errno EAGAIN, which the
 * program must not see: errno is restored. A barrier wait always blocks
 * until the last thread arrives.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "misuse.h"
#include "wait.h"

static LW_NOINLINE int sem_wait_blocking(lw_thread *self, sem_t *sem, enum lw_call call,
                                         clockid_t clock, const struct timespec *abstime) {
  bool began = lw_wait_begin(self, call, sem, NULL, abstime != NULL, LW_NO_THREAD);
  int rc;
  pthread_cleanup_push(lw_wait_end_cleanup, self);
  if (call == LW_CALL_sem_wait)
    rc = lw_real.sem_wait(sem);
  else if (call == LW_CALL_sem_timedwait)
    rc = lw_real.sem_timedwait(sem, abstime);
  else
    rc = lw_real.sem_clockwait(sem, clock, abstime);
  pthread_cleanup_pop(0);
  int saved_errno = errno;
  lw_wait_end(self, began);
  errno = saved_errno;
  return rc;
}

static LW_ALWAYS_INLINE int sem_wait_tracked(sem_t *sem, enum lw_call call, clockid_t clock,
                                             const struct timespec *abstime) {
  /* The try is right for any thread, tracked or not: only a thread that
   * would block needs its record. */
  int saved_errno = errno;
  if (lw_real.sem_trywait(sem) == 0)
    return 0;
  if (errno != EAGAIN)
    return -1; /* EINVAL: the program sees what sem_wait would say */
  errno = saved_errno;
  lw_thread *self = lw_thread_enter();
  if (self)
    return sem_wait_blocking(self, sem, call, clock, abstime);
  if (call == LW_CALL_sem_wait)
    return lw_real.sem_wait(sem);
  if (call == LW_CALL_sem_timedwait)
    return lw_real.sem_timedwait(sem, abstime);
  return lw_real.sem_clockwait(sem, clock, abstime);
}

LW_EXPORT int sem_wait(sem_t *sem) { return sem_wait_tracked(sem, LW_CALL_sem_wait, 0, NULL); }

LW_EXPORT int sem_timedwait(sem_t *sem, const struct timespec *abstime) {
  return sem_wait_tracked(sem, LW_CALL_sem_timedwait, CLOCK_REALTIME, abstime);
}

LW_EXPORT int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime) {
  return sem_wait_tracked(sem, LW_CALL_sem_clockwait, clock, abstime);
}

LW_EXPORT int pthread_barrier_wait(pthread_barrier_t *barrier) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.pthread_barrier_wait(barrier);
  bool began =
      lw_wait_begin(self, LW_CALL_pthread_barrier_wait, barrier, NULL, false, LW_NO_THREAD);
  int rc = lw_real.pthread_barrier_wait(barrier);
  lw_wait_end(self, began);
  return rc;
}

LW_EXPORT int sem_destroy(sem_t *sem) {
  lw_thread *self = lw_thread_enter();
  if (self)
    lw_misuse_destroy(self, sem, LW_DESTROYED_WAITED_ON, "sem_destroy", LW_CALLER_PC());
  return lw_real.sem_destroy(sem);
}

LW_EXPORT int pthread_barrier_destroy(pthread_barrier_t *barrier) {
  lw_thread *self = lw_thread_enter();
  if (self)
    lw_misuse_destroy(self, barrier, LW_DESTROYED_WAITED_ON, "pthread_barrier_destroy",
                      LW_CALLER_PC());
  return lw_real.pthread_barrier_destroy(barrier);
}
