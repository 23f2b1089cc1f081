/*
 * once.c - the report-once record (see once.h): a ring of keys under a
 * private lock, scanned whole. Findings are rare and a scan of LW_ONCE_MAX
 * words costs less than the report it saves; the lock is a leaf (taken
 * under the lock-order graph's and the report lock, never around either).
 */
#define _GNU_SOURCE
#include "once.h"

#include "common.h"

#define LW_ONCE_MAX 1024

static lw_lock once_lock = LW_LOCK_INIT;
LW_COLD static uint64_t keys[LW_ONCE_MAX];
static unsigned nkeys; /* keys written so far; the ring wraps */

/* One word per (kind, key): the kind in the top bits of a mixed key. 0 is
 * never stored, so a fresh ring matches nothing. */
static uint64_t word_of(enum lw_once_kind kind, uint64_t key) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  uint64_t word = (key >> 3) | ((uint64_t)kind << 61);
  return word ? word : 1;
}

static bool seen_locked(uint64_t word) {
  bool seen = false;
  for (unsigned i = 0; i < nkeys && i < LW_ONCE_MAX; i++)
    seen |= keys[i] == word;
  return seen;
}

bool lw_once_first(enum lw_once_kind kind, uint64_t key) {
  uint64_t word = word_of(kind, key);
  lw_lock_acquire(&once_lock);
  bool fresh = !seen_locked(word);
  if (fresh)
    keys[nkeys++ % LW_ONCE_MAX] = word;
  lw_lock_release(&once_lock);
  return fresh;
}

bool lw_once_seen(enum lw_once_kind kind, uint64_t key) {
  uint64_t word = word_of(kind, key);
  lw_lock_acquire(&once_lock);
  bool seen = seen_locked(word);
  lw_lock_release(&once_lock);
  return seen;
}

uint64_t lw_once_key_of_pcs(const uintptr_t *pcs, uint32_t n) {
  uint64_t key = 0xcbf29ce484222325ull;
  for (uint32_t i = 0; i < n; i++)
    key = (key ^ pcs[i]) * 0x100000001b3ull;
  return key;
}

void lw_once_fork_prepare(void) { lw_lock_acquire(&once_lock); }
void lw_once_fork_parent(void) { lw_lock_release(&once_lock); }

void lw_once_fork_child(void) {
  /* Only this thread exists: nothing to race with. */
  nkeys = 0;
  once_lock.word = 0;
}
