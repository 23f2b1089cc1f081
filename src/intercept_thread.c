/*
 * intercept_thread.c - thread creation, end, join and detach: pthreads and
 * C11 threads (C++ std::thread goes through pthread_create).
 *
 * Every created thread starts in lw_thread_trampoline, which publishes its
 * record in TLS, runs the program's start routine, and marks the record
 * ended when it returns. A thread that leaves by pthread_exit, thrd_exit or
 * cancellation is marked ended by a thread-specific-data destructor instead:
 * glibc runs those on every way out, after the unwinding (a cleanup handler
 * in the trampoline would not do: the forced unwind stops at start_thread's
 * frame, just outside it). glibc's thrd_* call the pthread implementation
 * directly, not through the PLT, so they are wrapped too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lifecycle.h"
#include "misuse.h"
#include "options.h"
#include "stack.h"
#include "wait.h"
#include "watcher.h"

static void mark_ended(void *record) {
  lw_thread *t = record;
  if (atomic_load(&t->flags) & LW_THREAD_ENDED)
    return;
  lw_wait_settle_at_exit(t);
  lw_registry_thread_ended(t);
  lw_watcher_thread_ended();
}

static pthread_key_t end_key;

/* Each destructor round: locks still held are judged at the real end. */
static void end_round(void *value) {
  mark_ended(lw_registry_record_of(value));
  void *again = lw_registry_end_round(value);
  if (again)
    pthread_setspecific(end_key, again);
}

void lw_thread_end_key_init(void) { pthread_key_create(&end_key, end_round); }

static void enter_new_thread(lw_thread *t) {
  atomic_store(&t->tid, lw_gettid());
  lw_self = t;
  pthread_setspecific(end_key, t); /* a low key: no allocation */
  lw_registry_lock();
  t->handle = pthread_self();
  lw_registry_index(t);
  atomic_fetch_or(&t->flags, LW_THREAD_STARTED);
  lw_registry_unlock();
  lw_stack_safe_point(); /* a thread's start is no signal handler */
}

static void *lw_thread_trampoline(void *record) {
  lw_thread *t = record;
  enter_new_thread(t);
  void *result = t->start_routine(t->start_arg);
  mark_ended(t);
  return result;
}

static int lw_c11_trampoline(void *record) {
  lw_thread *t = record;
  enter_new_thread(t);
  int result = t->c11_start(t->start_arg);
  mark_ended(t);
  return result;
}

/* A record for a thread `parent` is about to create, with its creation
 * stack. NULL: create it untracked. */
static lw_thread *prepare_record(lw_thread *parent, bool detached) {
  lw_thread *inside = lw_shim_enter();
  lw_stack_safe_point(); /* pthread_create is never called from a handler */
  lw_thread *t = lw_registry_new_thread(parent);
  if (t) {
    t->create_stack.depth = lw_stack_capture_here(t->create_stack.pc, (uint32_t)lw_opt.stack_depth);
    if (detached)
      atomic_fetch_or(&t->flags, LW_THREAD_DETACHED);
  }
  lw_shim_leave(inside);
  return t;
}

static void created(lw_thread *t, pthread_t handle) {
  lw_misuse_note_created(handle);
  lw_registry_lock();
  t->handle = handle;
  lw_registry_index(t);
  atomic_fetch_or(&t->flags, LW_THREAD_CREATED);
  lw_registry_unlock();
}

/* The program's thread is made (or not): now the helper, if this creation
 * claimed its start (lw_watcher_creating). */
static void after_creation(int helper_claimed, bool made) {
  if (LW_LIKELY(helper_claimed == LW_HELPER_NOT_CLAIMED))
    return;
  lw_thread *inside = lw_shim_enter();
  lw_watcher_created(helper_claimed, made);
  lw_shim_leave(inside);
}

LW_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                             void *arg) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.pthread_create(thread, attr, start, arg);
  int detach_state = PTHREAD_CREATE_JOINABLE;
  if (attr)
    pthread_attr_getdetachstate(attr, &detach_state);
  int helper_claimed = lw_watcher_creating();
  lw_thread *t = prepare_record(self, detach_state == PTHREAD_CREATE_DETACHED);
  int rc;
  if (!t) {
    rc = lw_real.pthread_create(thread, attr, start, arg);
    after_creation(helper_claimed, rc == 0);
    return rc;
  }
  t->start_routine = start;
  t->start_arg = arg;
  rc = lw_real.pthread_create(thread, attr, lw_thread_trampoline, t);
  after_creation(helper_claimed, rc == 0);
  if (rc != 0) {
    lw_registry_discard(t);
    return rc;
  }
  created(t, *thread);
  return rc;
}

LW_EXPORT int thrd_create(thrd_t *thread, thrd_start_t start, void *arg) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return lw_real.thrd_create(thread, start, arg);
  int helper_claimed = lw_watcher_creating();
  lw_thread *t = prepare_record(self, false);
  int rc;
  if (!t) {
    rc = lw_real.thrd_create(thread, start, arg);
    after_creation(helper_claimed, rc == thrd_success);
    return rc;
  }
  t->c11_start = start;
  t->start_arg = arg;
  atomic_fetch_or(&t->flags, LW_THREAD_C11);
  rc = lw_real.thrd_create(thread, lw_c11_trampoline, t);
  after_creation(helper_claimed, rc == thrd_success);
  if (rc != thrd_success) {
    lw_registry_discard(t);
    return rc;
  }
  created(t, (pthread_t)*thread);
  return rc;
}

/* The join family shares one shape: publish the wait, call, record the
 * join if it succeeded. `timed` waits are never "forever". */
#define LW_JOIN_BODY(call_id, timed, real_call, success)                                           \
  lw_thread *self = lw_thread_enter();                                                             \
  if (!self)                                                                                       \
    return real_call;                                                                              \
  lw_misuse_join(self, (pthread_t)thread, lw_calls_name(call_id), LW_CALLER_PC());                 \
  lw_thread_ref target = lw_registry_ref((pthread_t)thread);                                       \
  bool began = lw_wait_begin(self, call_id, (const void *)thread, NULL, timed, target.id);         \
  /* pthread_cleanup_push is a setjmp here (the shim is C without                                  \
   * exceptions): what is used after it lives in memory. */                                        \
  lw_thread *volatile joiner = self;                                                               \
  int rc;                                                                                          \
  pthread_cleanup_push(lw_wait_end_cleanup, joiner);                                               \
  rc = real_call;                                                                                  \
  pthread_cleanup_pop(0);                                                                          \
  lw_wait_end(joiner, began);                                                                      \
  if (rc == (success)) {                                                                           \
    lw_registry_thread_joined(target);                                                             \
    lw_misuse_note_joined((pthread_t)thread);                                                      \
  } else if (rc == ESRCH || rc == EINVAL) {                                                        \
    lw_misuse_join_failed(joiner, (pthread_t)thread, lw_calls_name(call_id), LW_CALLER_PC());      \
  }                                                                                                \
  return rc;

LW_EXPORT int pthread_join(pthread_t thread, void **result){
    LW_JOIN_BODY(LW_CALL_pthread_join, false, lw_real.pthread_join(thread, result), 0)}

LW_EXPORT int pthread_timedjoin_np(pthread_t thread, void **result, const struct timespec *abstime){
    LW_JOIN_BODY(LW_CALL_pthread_timedjoin_np, abstime != NULL,
                 lw_real.pthread_timedjoin_np(thread, result, abstime), 0)}

LW_EXPORT int pthread_clockjoin_np(pthread_t thread, void **result, clockid_t clock,
                                   const struct timespec *abstime){
    LW_JOIN_BODY(LW_CALL_pthread_clockjoin_np, abstime != NULL,
                 lw_real.pthread_clockjoin_np(thread, result, clock, abstime), 0)}

LW_EXPORT int thrd_join(thrd_t thread, int *result){
    LW_JOIN_BODY(LW_CALL_thrd_join, false, lw_real.thrd_join(thread, result), thrd_success)}

LW_EXPORT int pthread_tryjoin_np(pthread_t thread, void **result) {
  /* Never blocks: no wait to publish. */
  lw_thread *self = lw_thread_enter();
  if (self)
    lw_misuse_join(self, thread, "pthread_tryjoin_np", LW_CALLER_PC());
  lw_thread_ref target = self ? lw_registry_ref(thread) : (lw_thread_ref){NULL, 0};
  int rc = lw_real.pthread_tryjoin_np(thread, result);
  if (rc == 0 && self) {
    lw_registry_thread_joined(target);
    lw_misuse_note_joined(thread);
  }
  return rc;
}

LW_EXPORT int pthread_detach(pthread_t thread) {
  lw_thread *self = lw_thread_enter();
  if (self)
    lw_misuse_detach(self, thread, LW_CALLER_PC());
  lw_thread_ref target = self ? lw_registry_ref(thread) : (lw_thread_ref){NULL, 0};
  int rc = lw_real.pthread_detach(thread);
  if (rc == 0 && self)
    lw_registry_thread_detached(target);
  return rc;
}

LW_EXPORT int thrd_detach(thrd_t thread) {
  lw_thread *self = lw_thread_enter();
  if (self)
    lw_misuse_detach(self, (pthread_t)thread, LW_CALLER_PC());
  lw_thread_ref target = self ? lw_registry_ref((pthread_t)thread) : (lw_thread_ref){NULL, 0};
  int rc = lw_real.thrd_detach(thread);
  if (rc == thrd_success && self)
    lw_registry_thread_detached(target);
  return rc;
}

/* A thread that did not start in a trampoline (the main thread, adopted
 * ones) has no end key set yet: set it; the others have theirs. */
static void exiting_without_trampoline(void) {
  lw_thread *self = lw_self_tracked();
  if (!self)
    return;
  /* Ended, and its locks judged, by the end key's destructor, after the
   * cleanup handlers (a low key: no allocation). */
  if (atomic_load(&self->flags) & (LW_THREAD_MAIN | LW_THREAD_ADOPTED))
    pthread_setspecific(end_key, self);
}

LW_EXPORT void pthread_exit(void *result) {
  exiting_without_trampoline();
  lw_real.pthread_exit(result);
  __builtin_unreachable();
}

LW_EXPORT void thrd_exit(int result) {
  exiting_without_trampoline();
  lw_real.thrd_exit(result);
  __builtin_unreachable();
}

LW_EXPORT int pthread_setname_np(pthread_t thread, const char *name) {
  lw_thread *self = lw_thread_enter();
  int rc = lw_real.pthread_setname_np(thread, name);
  if (rc == 0 && self) {
    lw_registry_lock();
    lw_thread *t = lw_registry_find(thread);
    if (t)
      snprintf(t->name, sizeof t->name, "%s", name);
    lw_registry_unlock();
  }
  return rc;
}
