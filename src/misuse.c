/*
 * misuse.c - pthread API misuse (see misuse.h).
 */
#define _GNU_SOURCE
#include "misuse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "once.h"
#include "reporting.h"
#include "stack.h"
#include "symbols.h"
#include "wait.h"

static lw_lock misuse_lock = LW_LOCK_INIT;

/* Handles of threads joined lately: a second join of one is misuse (the
 * record itself is gone by then). */
#define LW_JOINED_RING 256
/* Not LW_COLD: every thread created or joined looks at it. */
static pthread_t joined_ring[LW_JOINED_RING];
static unsigned joined_next;

/* "Once per call site" means once per call stack: three mistakes made
 * through one shared helper are three findings. A few frames tell the
 * callers apart; more would split a loop unrolled by the compiler. */
#define LW_MISUSE_KEY_FRAMES 4

/* The offending call, from the moment a mistake is seen to its report:
 * the thread runs inside the shim (wrappers pass straight through), with
 * cancellation disabled (the report writes, and libunwind may: a pending
 * cancel must not end the thread inside the shim and swallow the report),
 * and the program's errno put back after. */
typedef struct misuse_call {
  lw_thread *inside;
  int cancel_state;
  int saved_errno;
  uint32_t depth;
  uintptr_t pcs[LW_STACK_MAX];
} misuse_call;

static void misuse_leave(misuse_call *call) {
  pthread_setcancelstate(call->cancel_state, NULL);
  lw_shim_leave(call->inside);
  errno = call->saved_errno;
}

/* Capture the call's stack; true the first time this stack makes mistake
 * `what` (then report() must follow, and leaves the shim), false after
 * (and the shim is left). */
static bool first_time(misuse_call *call, uintptr_t call_pc, unsigned what) {
  call->saved_errno = errno;
  call->inside = lw_shim_enter();
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &call->cancel_state);
  call->depth = lw_stack_capture_here(call->pcs, LW_STACK_MAX);
  uintptr_t key_pcs[1 + LW_MISUSE_KEY_FRAMES] = {call_pc};
  uint32_t n = 1;
  for (uint32_t i = 0; i < call->depth && n <= LW_MISUSE_KEY_FRAMES; i++)
    key_pcs[n++] = call->pcs[i];
  if (lw_once_first(LW_ONCE_MISUSE, lw_once_key_of_pcs(key_pcs, n) * 8 + what))
    return true;
  misuse_leave(call);
  return false;
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

/* What made a call a misuse, when the shim knows: who did it (or
 * LW_NO_THREAD), where (a call site), in words. */
typedef struct misuse_earlier {
  const char *label;
  uint32_t thread;
  uintptr_t site;
} misuse_earlier;

static const misuse_earlier no_earlier = {NULL, LW_NO_THREAD, 0};

/* Report: the message, the offending call (`call_name` on `object`) with
 * its stack, the earlier event. Leaves the shim (first_time entered it). */
static void report(misuse_call *call, lw_thread *self, const char *message, const char *call_name,
                   const void *object, const char *object_kind, misuse_earlier earlier,
                   uint32_t other) {
  lw_reporting_evidence evidence[2] = {
      {.role = LW_EVENT_CALL,
       .thread = self->id,
       .call = call_name,
       .object = object,
       .object_kind = object_kind,
       .pcs = call->pcs,
       .depth = call->depth},
      {.role = LW_EVENT_EARLIER,
       .thread = earlier.thread, /* LW_NO_THREAD is LW_REPORT_NO_THREAD */
       .object = object,
       .object_kind = object_kind,
       .label = earlier.label,
       .pcs = &earlier.site,
       .depth = 1},
  };
  uint32_t ids[2] = {self->id, other};
  lw_reporting_event(LW_FINDING_MISUSE, message, ids,
                     other != LW_NO_THREAD && other != self->id ? 2 : 1, evidence,
                     earlier.label && earlier.site ? 2 : 1);
  misuse_leave(call);
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
  misuse_call call;
  if (!first_time(&call, call_pc, 0))
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
  const char *call_name = kind == LW_LOCK_MTX     ? "mtx_unlock"
                          : kind == LW_LOCK_MUTEX ? "pthread_mutex_unlock"
                                                  : "pthread_rwlock_unlock";
  misuse_earlier earlier = {"where the holder took it", owner,
                            owner != LW_NO_THREAD ? held_site_of(owner, object) : 0};
  report(&call, self, message, call_name, object, noun, earlier, owner);
}

void lw_misuse_unlock_not_on_top(const void *object, enum lw_lock_kind kind, uintptr_t call_pc) {
  lw_thread *self = lw_self_tracked();
  if (self && !lw_held_remove_slow(self, object))
    unlock_not_held(self, object, kind, call_pc);
}

/* Which mutex the waiters on a condition variable use, and how many of
 * them a signal or broadcast has woken: a direct-mapped table, so the
 * check costs no lock; a slot taken by another condition variable with
 * waiters means no check for this one. `counts` packs the waiters (low
 * half) and, of them, the woken (high half), so the two change together. */
#define LW_COND_SLOTS 1024
static struct {
  _Atomic(const void *) cond;
  _Atomic(const void *) mutex;
  _Atomic uint64_t counts;
  _Atomic uint32_t thread_id;
} cond_slots[LW_COND_SLOTS] LW_COLD;

#define LW_WAITERS(counts) ((uint32_t)(counts))
#define LW_WOKEN(counts) ((uint32_t)((counts) >> 32))
#define LW_COUNTS(waiters, woken) ((uint64_t)(woken) << 32 | (waiters))

static unsigned cond_slot(const void *cond) {
  uintptr_t key = (uintptr_t)cond;
  return (unsigned)(((key >> 4) ^ (key >> 14)) % LW_COND_SLOTS);
}

/* Of the waiters on `cond`, how many were woken and have not left yet
 * (0 when the slot is another condition variable's). */
static uint32_t cond_woken(const void *cond) {
  unsigned slot = cond_slot(cond);
  uint64_t counts = atomic_load(&cond_slots[slot].counts);
  return atomic_load(&cond_slots[slot].cond) == cond ? LW_WOKEN(counts) : 0;
}

void lw_misuse_cond_woken(const void *cond, bool all) {
  unsigned slot = cond_slot(cond);
  uint64_t counts = atomic_load_explicit(&cond_slots[slot].counts, memory_order_relaxed);
  if (LW_WAITERS(counts) == 0 || atomic_load(&cond_slots[slot].cond) != cond)
    return; /* nobody to wake (the common case: one load) */
  uint64_t updated;
  do {
    uint32_t waiters = LW_WAITERS(counts), woken = LW_WOKEN(counts);
    if (woken >= waiters)
      return;
    updated = LW_COUNTS(waiters, all ? waiters : woken + 1);
  } while (!atomic_compare_exchange_weak(&cond_slots[slot].counts, &counts, updated));
}

/* Barrier threads not yet released, as glibc counts them: arrivals `in`
 * beyond `current_round` (glibc 2.36's struct pthread_barrier: in,
 * current_round, count, shared, out). Those of a round the last arrival
 * completed are released, whether or not they have returned yet. */
static uint32_t barrier_blocked(const void *barrier) {
  const unsigned *fields = barrier;
  unsigned in = __atomic_load_n(&fields[0], __ATOMIC_ACQUIRE);
  unsigned current_round = __atomic_load_n(&fields[1], __ATOMIC_ACQUIRE);
  unsigned count = fields[2];
  return in > current_round && in - current_round < count ? in - current_round : 0;
}

static bool is_cond_wait(uint16_t call) { return lw_calls_object(call) == LW_OBJECT_COND; }

/* Threads blocked on `object` now: waiting in a call on it, and not woken.
 * POSIX lets a condition variable be destroyed once no thread is blocked
 * on it, and glibc's destroy waits for the woken to leave: a waiter that a
 * signal or broadcast woke, or a barrier's last arrival released, no
 * longer counts, though it has not returned yet. */
static uint32_t blocked_on(const void *object, uint32_t *first) {
  /* The woken first: a waiter leaves the registry's count before it leaves
   * the slot's, so a waiter leaving meanwhile is not counted blocked. */
  uint32_t woken = cond_woken(object);
  uint32_t count = 0;
  bool cond = false, barrier = false;
  lw_registry_lock();
  for (lw_thread *t = lw_registry_first(); t; t = lw_registry_next(t))
    if (atomic_load(&t->wait.state) != LW_WAIT_IDLE && t->wait.object == object) {
      if (!count)
        *first = t->id;
      count++;
      cond |= is_cond_wait(t->wait.call);
      barrier |= lw_calls_object(t->wait.call) == LW_OBJECT_BARRIER;
    }
  lw_registry_unlock();
  if (cond)
    count = count > woken ? count - woken : 0;
  if (barrier) {
    uint32_t blocked = barrier_blocked(object);
    count = blocked < count ? blocked : count;
  }
  return count;
}

/* Who holds rwlock `lock`: its writer, as glibc records it, else a reader
 * that lists it. glibc keeps no readers, only their count, and an unlock by
 * a thread that held nothing (reported as misuse) takes that count below
 * zero: a count that large is the mark of that, not of 2^28 readers. */
static bool rwlock_holder(lw_thread *self, const pthread_rwlock_t *lock, uint32_t *holder) {
  int writer = lock->__data.__cur_writer;
  if (writer) {
    *holder = id_of_tid(writer);
    return true;
  }
  bool found = false;
  lw_registry_lock();
  for (lw_thread *t = lw_registry_first(); t && !found; t = lw_registry_next(t)) {
    if (t == self || (atomic_load(&t->flags) & LW_THREAD_ENDED))
      continue;
    const lw_held *held = lw_held_list(t);
    uint32_t listed = lw_held_listed(t);
    for (uint32_t i = 0; i < listed && !found; i++)
      if (held[i].object == lock) {
        *holder = t->id;
        found = true;
      }
  }
  lw_registry_unlock();
  unsigned readers = lock->__data.__readers >> 3;
  return found || (readers > 0 && readers < (1u << 27));
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
    if (rwlock_holder(self, object, &other)) {
      snprintf(message, sizeof message, "T%u destroys rwlock 0x%" PRIxPTR " while it is held",
               self->id, (uintptr_t)object);
      bad = true;
    }
  } else {
    uint32_t count = blocked_on(object, &other);
    if (count) {
      snprintf(message, sizeof message,
               "T%u calls %s on 0x%" PRIxPTR " while %u thread%s wait%s on it", self->id, what,
               (uintptr_t)object, count, count == 1 ? "" : "s", count == 1 ? "s" : "");
      bad = true;
    }
  }
  misuse_call call;
  if (bad && first_time(&call, call_pc, 1))
    report(&call, self, message, what, object,
           kind == LW_DESTROYED_MUTEX    ? "mutex"
           : kind == LW_DESTROYED_RWLOCK ? "rwlock"
                                         : "condition variable",
           other != LW_NO_THREAD
               ? (misuse_earlier){"where the holder took it", other, held_site_of(other, object)}
               : no_earlier,
           other);
}

bool lw_misuse_cond_wait(lw_thread *self, const void *cond, const void *mutex, bool holds_mutex,
                         uintptr_t call_pc) {
  if (!holds_mutex) {
    int owner_tid = ((const pthread_mutex_t *)mutex)->__data.__owner;
    misuse_call call;
    if (owner_tid != atomic_load(&self->tid) && first_time(&call, call_pc, 2)) {
      char message[256];
      snprintf(message, sizeof message,
               "T%u waits on condition variable 0x%" PRIxPTR
               " without holding its mutex 0x%" PRIxPTR,
               self->id, (uintptr_t)cond, (uintptr_t)mutex);
      report(&call, self, message, NULL, cond, "condition variable", no_earlier, LW_NO_THREAD);
    }
  }
  unsigned slot = cond_slot(cond);
  const void *seen = atomic_load(&cond_slots[slot].cond);
  uint32_t waiters = LW_WAITERS(atomic_load(&cond_slots[slot].counts));
  if (seen != cond) {
    if (waiters != 0)
      return false; /* another condition variable's: no check */
    atomic_store(&cond_slots[slot].cond, cond);
  } else if (waiters != 0 && atomic_load(&cond_slots[slot].mutex) != mutex) {
    uint32_t other = atomic_load(&cond_slots[slot].thread_id);
    misuse_call call;
    if (first_time(&call, call_pc, 3)) {
      char message[256];
      snprintf(message, sizeof message,
               "T%u waits on condition variable 0x%" PRIxPTR " with mutex 0x%" PRIxPTR
               " while T%u waits on it with another mutex",
               self->id, (uintptr_t)cond, (uintptr_t)mutex, other);
      report(&call, self, message, NULL, cond, "condition variable", no_earlier, other);
    }
  }
  atomic_store(&cond_slots[slot].mutex, mutex);
  atomic_store(&cond_slots[slot].thread_id, self->id);
  atomic_fetch_add(&cond_slots[slot].counts, 1);
  return true;
}

void lw_misuse_cond_wait_end(const void *cond) {
  /* A waiter that leaves while some are marked woken is taken for one of
   * them (a timeout racing a signal may make that wrong: then fewer are
   * counted woken, never more). */
  unsigned slot = cond_slot(cond);
  uint64_t counts = atomic_load(&cond_slots[slot].counts), updated;
  do {
    uint32_t waiters = LW_WAITERS(counts) - 1, woken = LW_WOKEN(counts);
    woken = woken ? woken - 1 : 0;
    updated = LW_COUNTS(waiters, woken < waiters ? woken : waiters);
  } while (!atomic_compare_exchange_weak(&cond_slots[slot].counts, &counts, updated));
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
  misuse_call site;
  if (first_time(&site, call_pc, 4))
    report(&site, self, message, call, NULL, NULL,
           (misuse_earlier){earlier_label, LW_NO_THREAD, earlier}, other);
}

void lw_misuse_join_failed(lw_thread *self, pthread_t thread, const char *call, uintptr_t call_pc) {
  /* A handle that is no longer a thread (glibc said so) and that a join
   * consumed lately: a second join. Judged after the call, because a handle
   * of a joined thread is soon another thread's. */
  misuse_call site;
  if (!joined_before(thread) || !first_time(&site, call_pc, 4))
    return;
  char message[256];
  snprintf(message, sizeof message, "T%u calls %s on a thread that was already joined", self->id,
           call);
  report(&site, self, message, call, NULL, NULL, no_earlier, LW_NO_THREAD);
}

void lw_misuse_detach(lw_thread *self, pthread_t thread, uintptr_t call_pc) {
  lw_registry_lock();
  lw_thread *target = lw_registry_find(thread);
  uint32_t flags = target ? atomic_load(&target->flags) : 0;
  uint32_t other = target ? target->id : LW_NO_THREAD;
  uintptr_t earlier = target ? target->detach_site : 0;
  if (target && !(flags & (LW_THREAD_DETACHED | LW_THREAD_JOINED)))
    target->detach_site = call_pc;
  lw_registry_unlock();
  char message[256];
  misuse_call call;
  if (target && (flags & LW_THREAD_DETACHED) && !(flags & LW_THREAD_JOINED)) {
    if (!first_time(&call, call_pc, 5))
      return;
    snprintf(message, sizeof message, "T%u detaches T%u, which is already detached", self->id,
             other);
    report(&call, self, message, "pthread_detach", NULL, NULL,
           (misuse_earlier){"where it was detached first", LW_NO_THREAD, earlier}, other);
  } else if ((!target || (flags & LW_THREAD_JOINED)) && joined_before(thread)) {
    /* A dead handle: the join let go of the thread (TSan and DRD say so
     * too). A handle a new thread got since is not in the ring any more. */
    if (!first_time(&call, call_pc, 6))
      return;
    snprintf(message, sizeof message, "T%u detaches a thread that was already joined", self->id);
    report(&call, self, message, "pthread_detach", NULL, NULL, no_earlier, LW_NO_THREAD);
  }
}

void lw_misuse_rwlock_refused(lw_thread *self, const void *lock, enum lw_lock_kind kind,
                              uintptr_t call_pc) {
  /* glibc refuses a lock of a rwlock whose write lock the caller holds
   * (EDEADLK): waiting would be waiting for itself. */
  misuse_call call;
  if (!first_time(&call, call_pc, 7))
    return;
  char message[256];
  snprintf(message, sizeof message,
           "T%u %s-locks rwlock 0x%" PRIxPTR
           " whose write lock it holds: a self-deadlock (glibc refuses it: EDEADLK)",
           self->id, kind == LW_LOCK_READ ? "read" : "write", (uintptr_t)lock);
  report(&call, self, message,
         kind == LW_LOCK_READ ? "pthread_rwlock_rdlock" : "pthread_rwlock_wrlock", lock, "rwlock",
         (misuse_earlier){"where it took the write lock", self->id, held_site_of(self->id, lock)},
         LW_NO_THREAD);
}

void lw_misuse_fork_prepare(void) { lw_lock_acquire(&misuse_lock); }
void lw_misuse_fork_parent(void) { lw_lock_release(&misuse_lock); }

void lw_misuse_fork_child(void) {
  /* Of the parent's threads, only the forking one is here: nobody waits
   * on a condition variable any more. The handles joined in the parent
   * are dead in the child too: they stay. */
  misuse_lock.word = 0;
  memset(cond_slots, 0, sizeof cond_slots);
}
