/*
 * misuse.c - pthread API misuse (see misuse.h).
 */
#define _GNU_SOURCE
#include "misuse.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "reporting.h"
#include "stack.h"
#include "symbols.h"
#include "wait.h"

#define LW_MISUSE_SITES 256
static lw_lock misuse_lock = LW_LOCK_INIT;
static uintptr_t reported_sites[LW_MISUSE_SITES];
static unsigned nreported_sites;

/* Handles of threads joined lately: a second join of one is misuse (the
 * record itself is gone by then). */
#define LW_JOINED_RING 256
static pthread_t joined_ring[LW_JOINED_RING];
static unsigned joined_next;

/* Once per call site and kind of mistake. */
static bool first_time(uintptr_t call_pc, unsigned what) {
  uintptr_t key = call_pc * 8 + what;
  bool fresh = true;
  lw_lock_acquire(&misuse_lock);
  for (unsigned i = 0; i < nreported_sites && i < LW_MISUSE_SITES; i++)
    fresh &= reported_sites[i] != key;
  if (fresh)
    reported_sites[nreported_sites++ % LW_MISUSE_SITES] = key;
  lw_lock_release(&misuse_lock);
  return fresh;
}

/* The id of the thread whose kernel tid is `tid`, or LW_NO_THREAD. */
static uint32_t id_of_tid(int tid) {
  uint32_t id = LW_NO_THREAD;
  lw_registry_lock();
  for (lw_thread *t = lw_registry_first(); t; t = lw_registry_next(t))
    if (atomic_load(&t->tid) == tid && !(atomic_load(&t->flags) & LW_THREAD_ENDED))
      id = t->id;
  lw_registry_unlock();
  return id;
}

/* The site where thread `holder` took `object`, if it lists it. */
static uintptr_t held_site_of(uint32_t holder, const void *object) {
  uintptr_t site = 0;
  lw_registry_lock();
  for (lw_thread *t = lw_registry_first(); t && !site; t = lw_registry_next(t)) {
    if (t->id != holder)
      continue;
    const lw_held *held = lw_held_list(t);
    uint32_t listed = lw_held_listed(t);
    for (uint32_t i = 0; i < listed; i++)
      if (held[i].object == object)
        site = lw_held_pc(&held[i]);
  }
  lw_registry_unlock();
  return site;
}

/* Report: the message, the offending call's stack, the earlier event. */
static void report(lw_thread *self, const char *message, const char *earlier_label,
                   uintptr_t earlier_site, uint32_t other) {
  lw_thread *inside = lw_shim_enter();
  uintptr_t pcs[LW_STACK_MAX];
  uint32_t depth = lw_stack_capture_here(pcs, LW_STACK_MAX);
  lw_buf details = {0};
  lw_buf_puts(&details, "  the call:\n");
  lw_report_write_pcs(&details, pcs, depth, "    ");
  if (earlier_label && earlier_site) {
    lw_buf_printf(&details, "  %s:\n", earlier_label);
    lw_report_write_pcs(&details, &earlier_site, 1, "    ");
  }
  uint32_t ids[2] = {self->id, other};
  uintptr_t all[LW_STACK_MAX + 1];
  memcpy(all, pcs, depth * sizeof *pcs);
  uint32_t nall = depth;
  if (earlier_site)
    all[nall++] = earlier_site;
  lw_report_event("misuse", message, details.data, ids,
                  other != LW_NO_THREAD && other != self->id ? 2 : 1, all, nall);
  lw_buf_free(&details);
  lw_shim_leave(inside);
}

static void unlock_not_held(lw_thread *self, const void *object, enum lw_lock_kind kind,
                            uintptr_t call_pc) {
  int tid = atomic_load(&self->tid);
  int owner_tid = 0;
  const char *noun = kind == LW_LOCK_MTX ? "mtx_t" : kind == LW_LOCK_MUTEX ? "mutex" : "rwlock";
  if (kind == LW_LOCK_MUTEX || kind == LW_LOCK_MTX) {
    owner_tid = ((const pthread_mutex_t *)object)->__data.__owner;
    if (owner_tid == tid)
      return; /* ours, taken where the shim did not track it */
  } else {
    const pthread_rwlock_t *lock = object;
    owner_tid = lock->__data.__cur_writer;
    if (owner_tid == tid || (owner_tid == 0 && lock->__data.__readers >> 3))
      return; /* ours, or a reader's: readers are not tracked by glibc */
  }
  if (!first_time(call_pc, 0))
    return;
  uint32_t owner = owner_tid ? id_of_tid(owner_tid) : LW_NO_THREAD;
  char message[256];
  if (owner != LW_NO_THREAD)
    snprintf(message, sizeof message, "T%u unlocks %s 0x%" PRIxPTR " held by T%u", self->id, noun,
             (uintptr_t)object, owner);
  else
    snprintf(message, sizeof message,
             "T%u unlocks %s 0x%" PRIxPTR " that it does not hold (nobody holds it)", self->id,
             noun, (uintptr_t)object);
  report(self, message, "where the holder took it",
         owner != LW_NO_THREAD ? held_site_of(owner, object) : 0, owner);
}

void lw_misuse_unlock_not_on_top(const void *object, enum lw_lock_kind kind, uintptr_t call_pc) {
  lw_thread *self = lw_self_tracked();
  if (self && !lw_held_remove_slow(self, object))
    unlock_not_held(self, object, kind, call_pc);
}

/* Threads blocked in a wait on `object` now. */
static uint32_t waiters_on(const void *object, uint32_t *first) {
  uint32_t count = 0;
  lw_registry_lock();
  for (lw_thread *t = lw_registry_first(); t; t = lw_registry_next(t))
    if (atomic_load(&t->wait.state) != LW_WAIT_IDLE && t->wait.object == object) {
      if (!count)
        *first = t->id;
      count++;
    }
  lw_registry_unlock();
  return count;
}

void lw_misuse_destroy(lw_thread *self, const void *object, enum lw_destroyed kind,
                       const char *what, uintptr_t call_pc) {
  char message[256];
  uint32_t other = LW_NO_THREAD;
  bool bad = false;
  if (kind == LW_DESTROYED_MUTEX) {
    const pthread_mutex_t *mutex = object;
    if (mutex->__data.__lock != 0) {
      int owner_tid = mutex->__data.__owner;
      other = owner_tid ? id_of_tid(owner_tid) : LW_NO_THREAD;
      if (other != LW_NO_THREAD)
        snprintf(message, sizeof message, "T%u destroys mutex 0x%" PRIxPTR " while T%u holds it",
                 self->id, (uintptr_t)object, other);
      else
        snprintf(message, sizeof message, "T%u destroys mutex 0x%" PRIxPTR " while it is locked",
                 self->id, (uintptr_t)object);
      bad = true;
    }
  } else if (kind == LW_DESTROYED_RWLOCK) {
    const pthread_rwlock_t *lock = object;
    if (lock->__data.__cur_writer || (lock->__data.__readers >> 3)) {
      snprintf(message, sizeof message, "T%u destroys rwlock 0x%" PRIxPTR " while it is held",
               self->id, (uintptr_t)object);
      other = lock->__data.__cur_writer ? id_of_tid(lock->__data.__cur_writer) : LW_NO_THREAD;
      bad = true;
    }
  } else {
    uint32_t count = waiters_on(object, &other);
    if (count) {
      snprintf(message, sizeof message,
               "T%u calls %s on 0x%" PRIxPTR " while %u thread%s wait%s on it", self->id, what,
               (uintptr_t)object, count, count == 1 ? "" : "s", count == 1 ? "s" : "");
      bad = true;
    }
  }
  if (bad && first_time(call_pc, 1))
    report(self, message, other != LW_NO_THREAD ? "where the holder took it" : NULL,
           other != LW_NO_THREAD ? held_site_of(other, object) : 0, other);
}

/* Which mutex the waiters on a condition variable use: a direct-mapped
 * table, so the check costs no lock; a slot taken by another condition
 * variable with waiters means no check for this one. */
#define LW_COND_SLOTS 1024
static struct {
  _Atomic(const void *) cond;
  _Atomic(const void *) mutex;
  _Atomic uint32_t waiters;
  _Atomic uint32_t thread_id;
} cond_slots[LW_COND_SLOTS];

static unsigned cond_slot(const void *cond) {
  uintptr_t key = (uintptr_t)cond;
  return (unsigned)(((key >> 4) ^ (key >> 14)) % LW_COND_SLOTS);
}

bool lw_misuse_cond_wait(lw_thread *self, const void *cond, const void *mutex, bool holds_mutex,
                         uintptr_t call_pc) {
  if (!holds_mutex) {
    int owner_tid = ((const pthread_mutex_t *)mutex)->__data.__owner;
    if (owner_tid != atomic_load(&self->tid) && first_time(call_pc, 2)) {
      char message[256];
      snprintf(message, sizeof message,
               "T%u waits on condition variable 0x%" PRIxPTR
               " without holding its mutex 0x%" PRIxPTR,
               self->id, (uintptr_t)cond, (uintptr_t)mutex);
      report(self, message, NULL, 0, LW_NO_THREAD);
    }
  }
  unsigned slot = cond_slot(cond);
  const void *seen = atomic_load(&cond_slots[slot].cond);
  if (seen != cond) {
    if (atomic_load(&cond_slots[slot].waiters) != 0)
      return false; /* another condition variable's: no check */
    atomic_store(&cond_slots[slot].cond, cond);
  } else if (atomic_load(&cond_slots[slot].waiters) != 0 &&
             atomic_load(&cond_slots[slot].mutex) != mutex && first_time(call_pc, 3)) {
    uint32_t other = atomic_load(&cond_slots[slot].thread_id);
    char message[256];
    snprintf(message, sizeof message,
             "T%u waits on condition variable 0x%" PRIxPTR " with mutex 0x%" PRIxPTR
             " while T%u waits on it with another mutex",
             self->id, (uintptr_t)cond, (uintptr_t)mutex, other);
    report(self, message, NULL, 0, other);
  }
  atomic_store(&cond_slots[slot].mutex, mutex);
  atomic_store(&cond_slots[slot].thread_id, self->id);
  atomic_fetch_add(&cond_slots[slot].waiters, 1);
  return true;
}

void lw_misuse_cond_wait_end(const void *cond) {
  atomic_fetch_sub(&cond_slots[cond_slot(cond)].waiters, 1);
}

void lw_misuse_note_created(pthread_t thread) {
  /* glibc reuses a joined thread's handle for a new thread. */
  lw_lock_acquire(&misuse_lock);
  for (unsigned i = 0; i < LW_JOINED_RING; i++)
    if (pthread_equal(joined_ring[i], thread))
      joined_ring[i] = 0;
  lw_lock_release(&misuse_lock);
}

void lw_misuse_note_joined(pthread_t thread) {
  lw_lock_acquire(&misuse_lock);
  joined_ring[joined_next++ % LW_JOINED_RING] = thread;
  lw_lock_release(&misuse_lock);
}

static bool joined_before(pthread_t thread) {
  bool found = false;
  lw_lock_acquire(&misuse_lock);
  for (unsigned i = 0; i < LW_JOINED_RING && i < joined_next; i++)
    found |= pthread_equal(joined_ring[i], thread);
  lw_lock_release(&misuse_lock);
  return found;
}

void lw_misuse_join(lw_thread *self, pthread_t thread, const char *call, uintptr_t call_pc) {
  char message[256];
  uintptr_t earlier = 0;
  const char *earlier_label = NULL;
  uint32_t other = LW_NO_THREAD;
  if (pthread_equal(thread, pthread_self())) {
    snprintf(message, sizeof message, "T%u calls %s on itself", self->id, call);
  } else {
    lw_registry_lock();
    lw_thread *target = lw_registry_find(thread);
    uint32_t flags = target ? atomic_load(&target->flags) : 0;
    if (target) {
      other = target->id;
      earlier = target->detach_site;
    }
    lw_registry_unlock();
    if (target && (flags & LW_THREAD_DETACHED)) {
      snprintf(message, sizeof message, "T%u calls %s on T%u, which is detached", self->id, call,
               other);
      earlier_label = earlier ? "where it was detached" : NULL;
    } else {
      /* A second join is judged after the call (lw_misuse_join_failed): a
       * joined thread's handle is soon another thread's. */
      return;
    }
  }
  if (first_time(call_pc, 4))
    report(self, message, earlier_label, earlier, other);
}

void lw_misuse_join_failed(lw_thread *self, pthread_t thread, const char *call, uintptr_t call_pc) {
  /* A handle that is no longer a thread (glibc said so) and that a join
   * consumed lately: a second join. Judged after the call, because a handle
   * of a joined thread is soon another thread's. */
  if (!joined_before(thread) || !first_time(call_pc, 4))
    return;
  char message[256];
  snprintf(message, sizeof message, "T%u calls %s on a thread that was already joined", self->id,
           call);
  report(self, message, NULL, 0, LW_NO_THREAD);
}

void lw_misuse_detach(lw_thread *self, pthread_t thread, uintptr_t call_pc) {
  lw_registry_lock();
  lw_thread *target = lw_registry_find(thread);
  uint32_t flags = target ? atomic_load(&target->flags) : 0;
  uint32_t other = target ? target->id : LW_NO_THREAD;
  uintptr_t earlier = target ? target->detach_site : 0;
  if (target && !(flags & LW_THREAD_DETACHED))
    target->detach_site = call_pc;
  lw_registry_unlock();
  if (!target || !(flags & LW_THREAD_DETACHED) || !first_time(call_pc, 5))
    return;
  char message[256];
  snprintf(message, sizeof message, "T%u detaches T%u, which is already detached", self->id, other);
  report(self, message, earlier ? "where it was detached first" : NULL, earlier, other);
}

void lw_misuse_fork_prepare(void) { lw_lock_acquire(&misuse_lock); }
void lw_misuse_fork_parent(void) { lw_lock_release(&misuse_lock); }
void lw_misuse_fork_child(void) { misuse_lock.word = 0; }
