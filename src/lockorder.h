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
 *
 * The graph keeps a topological order, so a new edge costs a search of the
 * few locks whose order it changes, not of the graph (lockorder.c). Its
 * memory, measured as RSS: about 300 bytes an edge where locks nest in
 * chains (100,000 nested pairs under one lock: 200,000 edges, 60 MB; 400
 * bytes before), about 670 bytes for an edge with two locks of its own
 * (lock_pairs: a 128-byte edge, two 128-byte nodes, two 64-byte components
 * and two edge lists). LEAKWATCH_OPTIONS=verbosity=1 prints the graph's
 * size at exit.
 */
#ifndef LW_LOCKORDER_H
#define LW_LOCKORDER_H

#include "registry.h"

/* `self` is about to take (or block taking) `object` with call site
 * `site`, holding what its held list lists. No-op when lock_order=0. */
void lw_lockorder_acquire(lw_thread *self, const void *object, uintptr_t site);

/* The graph's generation: 0 while lock-order checking is off; from 1,
 * bumped (never back to 0) when the graph forgets a lock, which empties
 * every thread's cache. One word, so the nested-lock fast path reads one
 * global for both questions. */
extern _Atomic uint32_t lw_lockorder_generation;

/* Which set of the thread's cache an edge lives in. Fibonacci hashing: the
 * multiply carries the low 32 bits of the pair (where a process's locks
 * differ) into the top four, which pick one of the 16 sets. Two ways a
 * set, so that two hot edges meeting in one set both stay (with one way,
 * such a pair evicted each other at every lock, and each nested lock took
 * the graph's lock: ~8x slower in the runs where the addresses fell that
 * way). */
static inline uint32_t lw_lockorder_set(const void *from, const void *to) {
  uint32_t key = (uint32_t)(uintptr_t)from ^ (uint32_t)((uintptr_t)to >> 4);
  return (key * 0x9e3779b1u) >> 28;
}

/* The cache keys an edge by its two locks and the oldest lock held (`from`
 * itself when it is the only one): the graph keeps an edge per gate (the
 * oldest lock when two or more are held, else none). One key stands for
 * two gates only when the oldest lock was relocked on top ([A, B, A], then
 * A -> C under gate A, against A -> C alone); sending only one of them
 * loses nothing, since the graph never counts as a gate one of the edge's
 * own locks (lockorder.c, add_edge). */
static inline bool lw_lockorder_edge_is(const lw_lockorder_edge *edge, const void *from,
                                        const void *to, const void *oldest) {
  return edge->from == from && edge->to == to && edge->oldest == oldest;
}

/* True when the thread's cache holds the edge. The caller has checked the
 * generation. */
static inline bool lw_lockorder_cached(const lw_thread *self, const void *from, const void *to,
                                       const void *oldest) {
  const lw_lockorder_edge *ways = self->order_cache[lw_lockorder_set(from, to)];
  /* Likely in the first way: a set's newer edge, and the only one of most
   * sets. Written as three hinted compares so that GCC lays the first
   * way's hit out straight and the second way aside: with one hint on the
   * whole test it did the opposite, and nested4 ran 1.52 instead of 1.38
   * (bench/README.md). */
  if (LW_LIKELY(ways[0].from == from) && LW_LIKELY(ways[0].to == to) &&
      LW_LIKELY(ways[0].oldest == oldest))
    return true;
  return lw_lockorder_edge_is(&ways[1], from, to, oldest);
}

/* True when taking `object` holding the list up to `top` (not the floor)
 * adds nothing new: the thread has sent this edge already (or checking is
 * off). Inline: the nested lock's fast path. */
static inline bool lw_lockorder_known(const lw_thread *self, const lw_held *top,
                                      const void *object) {
  uint32_t generation = atomic_load_explicit(&lw_lockorder_generation, memory_order_relaxed);
  if (!generation)
    return true;
  return self->order_generation == generation &&
         lw_lockorder_cached(self, top->object, object, self->held_slots[1].object);
}

/* A lock at `object` was (re)initialised at `init_site`, or destroyed: its
 * edges are forgotten, so a new lock at the same address starts with none;
 * in class mode an initialised lock's class is where it was initialised.
 * Nothing before start-up is done. */
void lw_lockorder_lock_initialised(const void *object, uintptr_t init_site);
void lw_lockorder_lock_destroyed(const void *object);

/* Report the cycles found since the last call (the helper thread, the exit
 * report). Takes the report lock: call without it. */
void lw_lockorder_report_pending(void);
/* The same, with the report lock held. */
void lw_lockorder_report_pending_locked(void);

/* Start-up: read the option. */
void lw_lockorder_init(void);

/* fork: hold the graph's lock across it (lifecycle.c orders all locks). */
void lw_lockorder_fork_prepare(void);
void lw_lockorder_fork_parent(void);
void lw_lockorder_fork_child(void);

/* Bytes the graph uses now (for the benchmark). */
size_t lw_lockorder_memory(void);

#endif
