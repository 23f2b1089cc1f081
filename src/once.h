/*
 * once.h - the one record of what has been reported: every finding source
 * (misuse, lock order, abandoned locks, live deadlocks) asks here whether a
 * finding was reported already, so "once per site / per cycle" means one
 * thing, and one reset forgets it all.
 *
 * A forked child starts with an empty record: what its parent reported was
 * the parent's; the child reports what it does itself, even at the same
 * site. A bounded ring: past LW_ONCE_MAX findings the oldest is forgotten
 * (and may be reported again), never memory without bound.
 */
#ifndef LW_ONCE_H
#define LW_ONCE_H

#include <stdbool.h>
#include <stdint.h>

/* What a key identifies; two sources never share a key. */
enum lw_once_kind {
  LW_ONCE_MISUSE,     /* call stack and kind of mistake */
  LW_ONCE_LOCK_ORDER, /* cycle signature */
  LW_ONCE_DEADLOCK,   /* deadlock signature (the helper thread) */
  LW_ONCE_ABANDONED,  /* acquisition site of an abandoned lock */
  LW_ONCE_LONG_WAIT,  /* a thread's wait (its id and the wait's serial number) */
};

/* True the first time (kind, key) is asked; it is remembered then. */
bool lw_once_first(enum lw_once_kind kind, uint64_t key);

/* True if (kind, key) was remembered; remembers nothing. */
bool lw_once_seen(enum lw_once_kind kind, uint64_t key);

/* A key for `n` return addresses (a call stack): the order matters. */
uint64_t lw_once_key_of_pcs(const uintptr_t *pcs, uint32_t n);

/* fork: the lock is held across it; the child forgets everything. */
void lw_once_fork_prepare(void);
void lw_once_fork_parent(void);
void lw_once_fork_child(void);

#endif
