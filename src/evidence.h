/*
 * evidence.h - who last signalled, broadcast or posted an object that has no
 * owner (condition variables, semaphores, futex words), how, and from where.
 *
 * For a thread blocked on one, "no thread has ever signalled cond 0x…" or
 * "last signalled by T4, which has exited" is the strongest hint a native
 * program can give that the wait is forever; "T0 last signalled it once,
 * with pthread_cond_signal at pool.c:88, while 3 threads waited" points at
 * a signal that should have been a broadcast.
 *
 * The table is direct-mapped and lock-free: a wake-up costs a hash and a
 * few stores into the object's slot (the signaller, the call, the waiters
 * glibc counts in the object, a count, the call site); a collision forgets
 * the older object, and a report then says nothing rather than something
 * wrong. Concurrent wake-ups of one object may leave a mix of their fields:
 * a report reads it when the waiters have been stuck for a while.
 *
 * The stack of a wake-up is not captured per call (pthread_cond_signal is
 * a hot path): the call site's stack is captured once, the first time a
 * tracked thread wakes something from that return address, into a small
 * table of sites (evidence.c). A report shows that stack: the call site is
 * exact, its callers are those of the first wake-up from there.
 */
#ifndef LW_EVIDENCE_H
#define LW_EVIDENCE_H

#include <stdint.h>

#include "common.h"

#define LW_EVIDENCE_SLOTS 4096   /* power of two */
#define LW_EVIDENCE_STACK_MAX 32 /* frames kept of a call site's stack */

/* The call that woke an object, for reports. X(name) */
#define LW_EVIDENCE_CALLS(X)                                                                       \
  X(pthread_cond_signal)                                                                           \
  X(pthread_cond_broadcast)                                                                        \
  X(cnd_signal)                                                                                    \
  X(cnd_broadcast)                                                                                 \
  X(sem_post)

#define LW_EVIDENCE_CALL_ENUM(name) LW_EVIDENCE_CALL_##name,
/* 0: a wake-up whose call is not recorded (a futex wake). */
enum lw_evidence_call { LW_EVIDENCE_CALL_NONE, LW_EVIDENCE_CALLS(LW_EVIDENCE_CALL_ENUM) };
#undef LW_EVIDENCE_CALL_ENUM

/* Three words a wake-up writes, and the object last (release): a reader
 * that sees the object sees the rest of that wake-up or a later one's. */
typedef struct lw_evidence_slot {
  _Atomic(const void *) object;
  _Atomic uintptr_t site; /* return address of the waking call; 0 if unknown */
  /* The waking thread (low half) and the wake-ups of `object` seen (high
   * half; a racy count: one lost to a concurrent wake-up is no harm). */
  _Atomic uint64_t who;
  /* enum lw_evidence_call (low 4 bits), and above them the threads
   * waiting on `object` then, as glibc counts them. */
  _Atomic uint32_t how;
} lw_evidence_slot;

extern lw_evidence_slot lw_evidence_table[LW_EVIDENCE_SLOTS];

static inline lw_evidence_slot *lw_evidence_slot_of(const void *object) {
  uintptr_t key = (uintptr_t)object;
  key ^= key >> 17;
  key *= 0x9e3779b97f4a7c15ull;
  return &lw_evidence_table[(key >> 52) & (LW_EVIDENCE_SLOTS - 1)];
}

/* Fill `slot` for a wake-up of `object`; true when the slot held another
 * call site (or object) before: the caller learns of a site it may not
 * know. */
static LW_ALWAYS_INLINE bool lw_evidence_fill(lw_evidence_slot *slot, const void *object,
                                              uint32_t thread_id, enum lw_evidence_call call,
                                              uint32_t waiters, uintptr_t site) {
  bool same = atomic_load_explicit(&slot->object, memory_order_relaxed) == object;
  uint64_t count = same ? (atomic_load_explicit(&slot->who, memory_order_relaxed) >> 32) + 1 : 1;
  atomic_store_explicit(&slot->who, count << 32 | thread_id, memory_order_relaxed);
  atomic_store_explicit(&slot->how, waiters << 4 | (uint32_t)call, memory_order_relaxed);
  bool new_site = !same || atomic_load_explicit(&slot->site, memory_order_relaxed) != site;
  if (new_site)
    atomic_store_explicit(&slot->site, site, memory_order_relaxed);
  atomic_store_explicit(&slot->object, object, memory_order_release);
  return new_site;
}

/* The same without the count and the test of the site (counted 0: not
 * known), for sem_post, a hot path that keeps no stack. */
static LW_ALWAYS_INLINE void lw_evidence_fill_uncounted(lw_evidence_slot *slot, const void *object,
                                                        uint32_t thread_id,
                                                        enum lw_evidence_call call,
                                                        uint32_t waiters, uintptr_t site) {
  atomic_store_explicit(&slot->who, thread_id, memory_order_relaxed);
  atomic_store_explicit(&slot->how, waiters << 4 | (uint32_t)call, memory_order_relaxed);
  atomic_store_explicit(&slot->site, site, memory_order_relaxed);
  atomic_store_explicit(&slot->object, object, memory_order_release);
}

/* `thread_id` woke `object` by a call the table does not name (a futex
 * wake): who, and no more. */
static LW_ALWAYS_INLINE void lw_evidence_note(const void *object, uint32_t thread_id) {
  lw_evidence_fill(lw_evidence_slot_of(object), object, thread_id, LW_EVIDENCE_CALL_NONE, 0, 0);
}

enum lw_evidence { LW_EVIDENCE_UNKNOWN, LW_EVIDENCE_NEVER, LW_EVIDENCE_LAST };

/* What is known of `object`: never signalled, or the last signaller. */
enum lw_evidence lw_evidence_lookup(const void *object, uint32_t *thread_id);

/* The last wake-up of an object, for a report. */
typedef struct lw_evidence_wake {
  uint32_t thread_id;
  const char *call; /* "pthread_cond_signal"...; NULL if not recorded */
  uint32_t waiters; /* threads waiting on the object then */
  uint32_t count;   /* wake-ups seen in all; 0 if not counted (sem_post) */
  uint32_t depth;   /* of pcs: the call site's stack (return addresses), or the site alone */
  uintptr_t pcs[LW_EVIDENCE_STACK_MAX];
} lw_evidence_wake;

/* As lw_evidence_lookup, with the whole last wake-up when there is one. */
enum lw_evidence lw_evidence_lookup_wake(const void *object, lw_evidence_wake *out);

#endif
