/*
 * evidence.c - the signaller table (see evidence.h), and the wrappers that
 * fill it: pthread_cond_signal/broadcast (both symbol versions), cnd_signal,
 * cnd_broadcast, sem_post. A signal or broadcast also tells misuse.c which
 * waiters it woke (before the real call: a destroy that follows it in the
 * same thread must see them woken).
 */
#define _GNU_SOURCE
#include "evidence.h"

#include "misuse.h"
#include "wait.h"

lw_evidence_slot lw_evidence_table[LW_EVIDENCE_SLOTS];

enum lw_evidence lw_evidence_lookup(const void *object, uint32_t *thread_id) {
  lw_evidence_slot *slot = lw_evidence_slot_of(object);
  const void *seen = atomic_load_explicit(&slot->object, memory_order_acquire);
  if (seen == object) {
    *thread_id = atomic_load_explicit(&slot->thread_id, memory_order_relaxed);
    return *thread_id != LW_NO_THREAD ? LW_EVIDENCE_LAST : LW_EVIDENCE_UNKNOWN;
  }
  return seen == NULL ? LW_EVIDENCE_NEVER : LW_EVIDENCE_UNKNOWN;
}

/* An untracked thread notes LW_NO_THREAD: "signalled by someone". */
static LW_ALWAYS_INLINE void note(const void *object) { lw_evidence_note(object, lw_self->id); }

/* A signal (wakes at most one waiter) or broadcast (all) on `cond`. */
static LW_ALWAYS_INLINE void note_wake(const void *cond, bool all) {
  note(cond);
  lw_misuse_cond_woken(cond, all);
}

LW_EXPORT int lw_pthread_cond_signal(pthread_cond_t *cond) {
  note_wake(cond, false);
  return lw_real.pthread_cond_signal(cond);
}
__asm__(".symver lw_pthread_cond_signal, pthread_cond_signal@@GLIBC_2.3.2");

LW_EXPORT int lw_pthread_cond_broadcast(pthread_cond_t *cond) {
  note_wake(cond, true);
  return lw_real.pthread_cond_broadcast(cond);
}
__asm__(".symver lw_pthread_cond_broadcast, pthread_cond_broadcast@@GLIBC_2.3.2");

LW_EXPORT int lw_compat_pthread_cond_signal(pthread_cond_t *cond) {
  note_wake(cond, false);
  return lw_real.compat_pthread_cond_signal(cond);
}
__asm__(".symver lw_compat_pthread_cond_signal, pthread_cond_signal@GLIBC_2.2.5");

LW_EXPORT int lw_compat_pthread_cond_broadcast(pthread_cond_t *cond) {
  note_wake(cond, true);
  return lw_real.compat_pthread_cond_broadcast(cond);
}
__asm__(".symver lw_compat_pthread_cond_broadcast, pthread_cond_broadcast@GLIBC_2.2.5");

LW_EXPORT int cnd_signal(cnd_t *cond) {
  note_wake(cond, false);
  return lw_real.cnd_signal(cond);
}

LW_EXPORT int cnd_broadcast(cnd_t *cond) {
  note_wake(cond, true);
  return lw_real.cnd_broadcast(cond);
}

LW_EXPORT int sem_post(sem_t *sem) {
  note(sem);
  return lw_real.sem_post(sem);
}
