/*
 * intercept_cond.c - condition variables: pthread_cond_* (both symbol
 * versions glibc exports) and C11 cnd_*.
 *
 * A wait always blocks, so it is always published. The mutex is released
 * for the wait and re-acquired inside glibc before the call returns, or
 * before cleanup handlers run if the thread is cancelled: the wrapper takes
 * the mutex off the held list for the duration and puts it back (with its
 * original acquisition site) on both ways out.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "misuse.h"
#include "wait.h"

/* What a cond wait must undo on its way out, normal or cancelled. */
typedef struct cond_wait_frame {
  lw_thread *self;
  const void *cond;
  bool began;
  bool counted; /* by misuse.c's waiters table */
  bool was_held;
  lw_held mutex_entry;
} cond_wait_frame;

static void cond_wait_prepare(lw_thread *self, cond_wait_frame *frame, const void *cond,
                              const void *mutex, uintptr_t call_pc) {
  frame->self = self;
  frame->cond = cond;
  frame->was_held = false;
  const lw_held *held = lw_held_list(self);
  for (uint32_t i = lw_held_listed(self); i-- > 0;) {
    if (held[i].object == mutex) {
      frame->mutex_entry = held[i];
      frame->was_held = true;
      break;
    }
  }
  frame->counted = lw_misuse_cond_wait(self, cond, mutex, frame->was_held, call_pc);
  if (frame->was_held) {
    lw_held_pop(self, mutex);
    if (!self->wait_mutex_saved) { /* not a nested wait */
      self->wait_mutex_entry = frame->mutex_entry;
      self->wait_mutex_saved = true;
    }
  }
}

static void cond_wait_finish(void *raw) {
  cond_wait_frame *frame = raw;
  lw_wait_end(frame->self, frame->began);
  if (frame->counted)
    lw_misuse_cond_wait_end(frame->cond);
  if (frame->was_held) {
    frame->self->wait_mutex_saved = false;
    lw_held_push(frame->self, frame->mutex_entry.object, frame->mutex_entry.site);
  }
}

/* Every cond wait wrapper: publish, call inside a cancellation cleanup,
 * undo. Expands inside the exported function (lw_wait_begin saves the
 * registers of this very frame). */
#define LW_COND_WAIT_BODY(call_id, timed, cond, mutex, real_call)                                  \
  lw_thread *self = lw_thread_enter();                                                             \
  if (!self)                                                                                       \
    return real_call;                                                                              \
  cond_wait_frame frame;                                                                           \
  cond_wait_prepare(self, &frame, cond, mutex, LW_CALLER_PC());                                    \
  frame.began = lw_wait_begin(self, call_id, cond, mutex, timed, LW_NO_THREAD);                    \
  int rc;                                                                                          \
  pthread_cleanup_push(cond_wait_finish, &frame);                                                  \
  rc = real_call;                                                                                  \
  pthread_cleanup_pop(1);                                                                          \
  return rc;

/* The current pthread_cond_* (GLIBC_2.3.2), under their public names via
 * .symver; see leakwatch.map. */
LW_EXPORT int lw_pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex) {
  LW_COND_WAIT_BODY(LW_CALL_pthread_cond_wait, false, cond, mutex,
                    lw_real.pthread_cond_wait(cond, mutex))
}
__asm__(".symver lw_pthread_cond_wait, pthread_cond_wait@@GLIBC_2.3.2");

LW_EXPORT int lw_pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                                        const struct timespec *abstime) {
  LW_COND_WAIT_BODY(LW_CALL_pthread_cond_timedwait, true, cond, mutex,
                    lw_real.pthread_cond_timedwait(cond, mutex, abstime))
}
__asm__(".symver lw_pthread_cond_timedwait, pthread_cond_timedwait@@GLIBC_2.3.2");

/* The pre-2003 ABI (GLIBC_2.2.5): forwarded to glibc's compatibility
 * implementation, tracked the same way. */
LW_EXPORT int lw_compat_pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex) {
  LW_COND_WAIT_BODY(LW_CALL_pthread_cond_wait, false, cond, mutex,
                    lw_real.compat_pthread_cond_wait(cond, mutex))
}
__asm__(".symver lw_compat_pthread_cond_wait, pthread_cond_wait@GLIBC_2.2.5");

LW_EXPORT int lw_compat_pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                                               const struct timespec *abstime) {
  LW_COND_WAIT_BODY(LW_CALL_pthread_cond_timedwait, true, cond, mutex,
                    lw_real.compat_pthread_cond_timedwait(cond, mutex, abstime))
}
__asm__(".symver lw_compat_pthread_cond_timedwait, pthread_cond_timedwait@GLIBC_2.2.5");

/* Added in glibc 2.30: one version only. */
LW_EXPORT int pthread_cond_clockwait(pthread_cond_t *cond, pthread_mutex_t *mutex, clockid_t clock,
                                     const struct timespec *abstime){
    LW_COND_WAIT_BODY(LW_CALL_pthread_cond_clockwait, true, cond, mutex,
                      lw_real.pthread_cond_clockwait(cond, mutex, clock, abstime))}

LW_EXPORT int cnd_wait(cnd_t *cond, mtx_t *mutex){
    LW_COND_WAIT_BODY(LW_CALL_cnd_wait, false, cond, mutex, lw_real.cnd_wait(cond, mutex))}

LW_EXPORT int cnd_timedwait(cnd_t *__restrict cond, mtx_t *__restrict mutex,
                            const struct timespec *__restrict abstime){
    LW_COND_WAIT_BODY(LW_CALL_cnd_timedwait, true, cond, mutex,
                      lw_real.cnd_timedwait(cond, mutex, abstime))}

/* Destroying a condition variable with waiters: glibc blocks until they
 * leave, which may be never. Both symbol versions. */
LW_EXPORT int lw_pthread_cond_destroy(pthread_cond_t *cond) {
  lw_thread *self = lw_thread_enter();
  if (self)
    lw_misuse_destroy(self, cond, LW_DESTROYED_WAITED_ON, "pthread_cond_destroy", LW_CALLER_PC());
  return lw_real.pthread_cond_destroy(cond);
}
__asm__(".symver lw_pthread_cond_destroy, pthread_cond_destroy@@GLIBC_2.3.2");

LW_EXPORT int lw_compat_pthread_cond_destroy(pthread_cond_t *cond) {
  lw_thread *self = lw_thread_enter();
  if (self)
    lw_misuse_destroy(self, cond, LW_DESTROYED_WAITED_ON, "pthread_cond_destroy", LW_CALLER_PC());
  return lw_real.compat_pthread_cond_destroy(cond);
}
__asm__(".symver lw_compat_pthread_cond_destroy, pthread_cond_destroy@GLIBC_2.2.5");

LW_EXPORT void cnd_destroy(cnd_t *cond) {
  lw_thread *self = lw_thread_enter();
  if (self)
    lw_misuse_destroy(self, cond, LW_DESTROYED_WAITED_ON, "cnd_destroy", LW_CALLER_PC());
  lw_real.cnd_destroy(cond);
}
