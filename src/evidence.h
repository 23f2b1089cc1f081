/*
 * evidence.h - who last signalled, broadcast or posted an object that has no
 * owner (condition variables, semaphores).
 *
 * For a thread blocked on one, "no thread has ever signalled cond 0x…" or
 * "last signalled by T4, which has exited" is the strongest hint a native
 * program can give that the wait is forever. The table is direct-mapped and
 * lock-free: a signal costs a hash and two stores; a collision forgets the
 * older object, and a report then says nothing rather than something wrong.
 */
#ifndef LW_EVIDENCE_H
#define LW_EVIDENCE_H

#include <stdint.h>

#include "common.h"

#define LW_EVIDENCE_SLOTS 4096 /* power of two */

typedef struct lw_evidence_slot {
  _Atomic(const void *) object;
  _Atomic uint32_t thread_id;
} lw_evidence_slot;

extern lw_evidence_slot lw_evidence_table[LW_EVIDENCE_SLOTS];

static inline lw_evidence_slot *lw_evidence_slot_of(const void *object) {
  uintptr_t key = (uintptr_t)object;
  key ^= key >> 17;
  key *= 0x9e3779b97f4a7c15ull;
  return &lw_evidence_table[(key >> 52) & (LW_EVIDENCE_SLOTS - 1)];
}

/* `thread_id` signalled, broadcast or posted `object`. */
static LW_ALWAYS_INLINE void lw_evidence_note(const void *object, uint32_t thread_id) {
  lw_evidence_slot *slot = lw_evidence_slot_of(object);
  atomic_store_explicit(&slot->thread_id, thread_id, memory_order_relaxed);
  atomic_store_explicit(&slot->object, object, memory_order_release);
}

enum lw_evidence { LW_EVIDENCE_UNKNOWN, LW_EVIDENCE_NEVER, LW_EVIDENCE_LAST };

/* What is known of `object`: never signalled, or the last signaller. */
enum lw_evidence lw_evidence_lookup(const void *object, uint32_t *thread_id);

#endif
