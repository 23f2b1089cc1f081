/*
 * wait.c - the slow halves of wait.h: adopting a thread, removing a held
 * lock that is not on top, leaving a wait that a report is reading.
 */
#define _GNU_SOURCE
#include "wait.h"

#include <sched.h>

lw_thread *lw_thread_enter_slow(void) {
  if (lw_self_inside)
    return NULL; /* called back from inside the shim: forward only */
  if (!lw_init_ensure())
    return NULL;
  if (lw_self_tracked())
    return lw_self; /* start-up made this thread's record */
  return lw_registry_adopt_current();
}

bool lw_held_remove_slow(lw_thread *self, const void *object) {
  lw_held *list = lw_held_list(self);
  uint32_t listed = lw_held_listed(self);
  for (uint32_t i = listed; i-- > 0;) {
    if (list[i].object != object)
      continue;
    /* Out-of-order unlock (hand-over-hand locking): close the gap. */
    for (uint32_t k = i; k + 1 < listed; k++)
      list[k] = list[k + 1];
    __atomic_store_n(&self->held_top, &self->held_slots[listed - 1], __ATOMIC_RELEASE);
    return true;
  }
  /* Taken while the list was full, inside the shim, by another thread, or
   * never: misuse.c asks glibc who owns it. */
  return false;
}

void lw_wait_end_slow(lw_thread *self) {
  /* A report holds the wait (INSPECTING) while it unwinds our frames; it
   * gives it back as ACTIVE within microseconds. */
  for (;;) {
    uint32_t expected = LW_WAIT_ACTIVE;
    if (atomic_compare_exchange_weak_explicit(&self->wait.state, &expected, LW_WAIT_IDLE,
                                              memory_order_acq_rel, memory_order_relaxed))
      return;
    if (expected == LW_WAIT_IDLE)
      return;
    sched_yield();
  }
}

void lw_wait_end_cleanup(void *self) { lw_wait_end((lw_thread *)self, true); }

void lw_wait_settle_at_exit(lw_thread *t) {
  if (atomic_load(&t->wait.state) != LW_WAIT_IDLE)
    lw_wait_end(t, true);
  if (!t->wait_mutex_saved)
    return;
  t->wait_mutex_saved = false;
  /* glibc records the owner's tid in every mutex it locks. */
  const pthread_mutex_t *mutex = t->wait_mutex_entry.object;
  if (mutex->__data.__owner == atomic_load(&t->tid))
    lw_held_push(t, mutex, t->wait_mutex_entry.site);
}
