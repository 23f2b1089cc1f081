/*
 * lockorder.h - lock-order inversions: a potential deadlock the first time
 * two code paths take the same locks in conflicting orders, even if no run
 * deadlocks.
 *
 * Every nested acquisition "holding A, take B" is an edge A -> B of a global
 * graph. A thread remembers the edges it has already sent in a small cache
 * in its own record, so a known edge costs a lookup there and only a new
 * edge takes the graph's lock. A new edge that closes a cycle is reported
 * (once per cycle), with, for each edge, the thread, the stack where the
 * first lock was held and the stack where the second was taken.
 */
#ifndef LW_LOCKORDER_H
#define LW_LOCKORDER_H

#include "registry.h"

/* `self` has just taken (or is about to block taking) `object` with call
 * site `site`; entries [0, count) of its held list were held before. No-op
 * when lock_order=0. */
void lw_order_acquire(lw_thread *self, uint32_t count, const void *object, uintptr_t site);

/* A lock at `object` was destroyed or (re)initialised: forget its edges, so
 * a new lock at the same address starts with none. */
void lw_order_forget(const void *object);

/* Lock class mode: remember where the lock at `object` was initialised. */
void lw_order_note_init(const void *object, uintptr_t init_site);

/* Start-up: read the option. */
void lw_order_init(void);

/* Bytes the graph uses now (for the benchmark). */
size_t lw_order_memory(void);

#endif
