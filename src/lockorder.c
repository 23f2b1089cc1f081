/*
 * lockorder.c - the lock-order graph (see lockorder.h).
 *
 * Choices, after lockdep and ThreadSanitizer:
 *  - an edge goes from the lock taken last before this one (the top of the
 *    held list) to this one; longer orders follow by transitivity;
 *  - a trylock adds no edge into the lock it tries (it cannot block), and a
 *    recursive relock adds none;
 *  - a read lock taken while holding a read lock adds no edge: readers do
 *    not wait for readers. Any order involving a write lock counts;
 *  - a cycle whose edges were all made while holding one common "gate" lock
 *    (the outermost lock held, the same for every edge, outside the cycle)
 *    cannot deadlock and is not reported;
 *  - a cycle made by a single thread is reported: the same code can run in
 *    two threads at once, as lockdep assumes;
 *  - destroying or re-initialising a lock forgets its edges. Memory freed
 *    without a destroy and reused for another lock keeps the old lock's
 *    edges (the hard case of address-keyed graphs): use lock_order=class.
 */
#define _GNU_SOURCE
#include "lockorder.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "interpose.h"
#include "mem.h"
#include "once.h"
#include "options.h"
#include "reporting.h"
#include "stack.h"
#include "symbols.h"
#include "uthash_config.h"
#include "watcher.h"

#define LW_FILTER_WORDS 4096 /* 256 Ki bits: "might be a node" */

typedef struct edge edge;
typedef struct {
  edge **items;
  uint32_t count, capacity;
} edge_list;

typedef struct node {
  const void *key; /* lock address, or class site in class mode */
  edge_list out, in;
  uint32_t visit;
  edge *via; /* DFS: the edge we came by */
  UT_hash_handle hh;
} node;

typedef struct edge_key {
  const void *from, *to;
} edge_key;

struct edge {
  edge_key key;
  node *from, *to;
  const void *from_object, *to_object; /* the locks (key differs in class mode) */
  const void *gate;                    /* outermost other lock held when seen; NULL if none */
  bool gate_mixed;                     /* seen with different gates: not gated */
  uint32_t thread_id;
  uint8_t from_kind, to_kind;
  uintptr_t from_site;
  uint32_t depth;   /* the stack where `to` was taken */
  uintptr_t *stack; /* in the depot */
  uint32_t anchor;  /* the frame of that stack where `from` was taken, or UINT32_MAX */
  UT_hash_handle hh;
};

typedef struct class_entry {
  const void *object;
  uintptr_t site;
  UT_hash_handle hh;
} class_entry;

typedef struct depot_entry {
  uint64_t hash;
  uint32_t depth;
  uintptr_t *pcs;
  UT_hash_handle hh;
} depot_entry;

static lw_lock order_lock = LW_LOCK_INIT;
_Atomic uint32_t lw_order_generation; /* 0 until lw_order_init turns checking on */
static _Atomic uint64_t filter[LW_FILTER_WORDS];
static node *nodes;
static edge *edges;
static class_entry *classes;
static depot_entry *depot;
static uint32_t visit_generation;
static size_t memory_used;

/* Cycles found on a lock path wait here for the helper thread (or the exit
 * report): symbolizing them there could run inside a signal handler that
 * locks, or in the middle of the program's hottest loop. */
#define LW_PENDING_MAX 16
typedef struct cycle_edge cycle_edge;
static struct {
  cycle_edge *edges;
  uint32_t count;
} pending[LW_PENDING_MAX];
static unsigned npending;

static void *order_alloc(size_t size) {
  memory_used += size;
  return lw_mem_alloc(size);
}

static void order_free(void *p, size_t size) {
  memory_used -= size;
  lw_mem_free(p, size);
}

size_t lw_order_memory(void) { return memory_used; }

void lw_order_init(void) {
  atomic_store(&lw_order_generation, lw_opt.lock_order == LW_LOCK_ORDER_OFF ? 0 : 1);
}

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

static void filter_add(const void *object) {
  uint64_t h = mix((uintptr_t)object);
  atomic_fetch_or(&filter[(h >> 6) % LW_FILTER_WORDS], 1ull << (h & 63));
}

static bool filter_may_have(const void *object) {
  uint64_t h = mix((uintptr_t)object);
  return atomic_load_explicit(&filter[(h >> 6) % LW_FILTER_WORDS], memory_order_relaxed) &
         (1ull << (h & 63));
}

/* ---- graph (order lock held) ---- */

static bool list_add(edge_list *list, edge *e) {
  if (list->count == list->capacity) {
    uint32_t capacity = list->capacity ? list->capacity * 2 : 4;
    edge **items = order_alloc(capacity * sizeof *items);
    if (!items)
      return false;
    if (list->items) {
      memcpy(items, list->items, list->count * sizeof *items);
      order_free(list->items, list->capacity * sizeof *items);
    }
    list->items = items;
    list->capacity = capacity;
  }
  list->items[list->count++] = e;
  return true;
}

static void list_remove(edge_list *list, edge *e) {
  for (uint32_t i = 0; i < list->count; i++)
    if (list->items[i] == e) {
      list->items[i] = list->items[--list->count];
      return;
    }
}

static node *node_of(const void *key, bool create) {
  node *n = NULL;
  HASH_FIND_PTR(nodes, &key, n);
  if (n || !create)
    return n;
  n = order_alloc(sizeof *n);
  if (!n)
    return NULL;
  n->key = key;
  HASH_ADD_PTR(nodes, key, n);
  return n;
}

static void delete_edge(edge *e) {
  list_remove(&e->from->out, e);
  list_remove(&e->to->in, e);
  HASH_DEL(edges, e);
  order_free(e, sizeof *e);
}

static void delete_node(node *n) {
  while (n->out.count)
    delete_edge(n->out.items[0]);
  while (n->in.count)
    delete_edge(n->in.items[0]);
  if (n->out.items)
    order_free(n->out.items, n->out.capacity * sizeof *n->out.items);
  if (n->in.items)
    order_free(n->in.items, n->in.capacity * sizeof *n->in.items);
  HASH_DEL(nodes, n);
  order_free(n, sizeof *n);
}

/* Stacks are shared between edges: the same code path makes many edges. */
static uintptr_t *depot_put(const uintptr_t *pcs, uint32_t depth) {
  uint64_t hash = depth;
  for (uint32_t i = 0; i < depth; i++)
    hash = mix(hash ^ pcs[i]);
  depot_entry *entry = NULL;
  HASH_FIND(hh, depot, &hash, sizeof hash, entry);
  if (entry && entry->depth == depth && memcmp(entry->pcs, pcs, depth * sizeof *pcs) == 0)
    return entry->pcs;
  if (entry)
    return NULL; /* a collision: keep the old one, lose this stack */
  entry = order_alloc(sizeof *entry);
  uintptr_t *copy = depth ? order_alloc(depth * sizeof *copy) : NULL;
  if (!entry || (depth && !copy))
    return NULL;
  if (depth)
    memcpy(copy, pcs, depth * sizeof *copy);
  entry->hash = hash;
  entry->depth = depth;
  entry->pcs = copy;
  HASH_ADD(hh, depot, hash, sizeof entry->hash, entry);
  return copy;
}

/* Is there a path from `start` to `goal`? Marks the path in node->via. */
static bool reaches(node *start, node *goal) {
  uint32_t generation = ++visit_generation;
  uint32_t capacity = 64, depth = 0;
  node **stack = lw_mem_alloc(capacity * sizeof *stack);
  if (!stack)
    return false;
  bool found = false;
  start->visit = generation;
  start->via = NULL;
  stack[depth++] = start;
  while (depth && !found) {
    node *n = stack[--depth];
    for (uint32_t i = 0; i < n->out.count; i++) {
      edge *e = n->out.items[i];
      node *next = e->to;
      if (next->visit == generation)
        continue;
      next->visit = generation;
      next->via = e;
      if (next == goal) {
        found = true;
        break;
      }
      if (depth == capacity) {
        node **bigger = lw_mem_alloc(capacity * 2 * sizeof *bigger);
        if (!bigger)
          break;
        memcpy(bigger, stack, depth * sizeof *stack);
        lw_mem_free(stack, capacity * sizeof *stack);
        stack = bigger;
        capacity *= 2;
      }
      stack[depth++] = next;
    }
  }
  lw_mem_free(stack, capacity * sizeof *stack);
  return found;
}

/* ---- reporting a cycle (order lock not held) ---- */

struct cycle_edge {
  const void *from, *to;
  uint32_t thread_id;
  uintptr_t from_site;
  uint32_t depth, anchor;
  uintptr_t stack[LW_STACK_MAX];
};

static void report_cycle(const cycle_edge *cycle, uint32_t n) {
  lw_buf message = {0}, details = {0};
  lw_buf_printf(&message, "%u locks taken in conflicting orders:", n);
  uint32_t ids[n];
  uint32_t nids = 0;
  for (uint32_t i = 0; i < n; i++) {
    const cycle_edge *e = &cycle[i];
    lw_buf_printf(&message, "%s T%u took 0x%" PRIxPTR " then 0x%" PRIxPTR, i ? ";" : "",
                  e->thread_id, (uintptr_t)e->from, (uintptr_t)e->to);
    bool seen = false;
    for (uint32_t k = 0; k < nids; k++)
      seen |= ids[k] == e->thread_id;
    if (!seen)
      ids[nids++] = e->thread_id;
    lw_buf_printf(&details, "  edge %u of the cycle, in T%u: holding 0x%" PRIxPTR ", taken at:\n",
                  i + 1, e->thread_id, (uintptr_t)e->from);
    uintptr_t from_stack[LW_STACK_MAX];
    uint32_t from_depth = 0;
    from_stack[from_depth++] = e->from_site;
    if (e->anchor != UINT32_MAX)
      for (uint32_t k = e->anchor + 1; k < e->depth && from_depth < LW_STACK_MAX; k++)
        from_stack[from_depth++] = e->stack[k];
    lw_report_write_pcs(&details, from_stack, from_depth, "      ");
    lw_buf_printf(&details, "    took 0x%" PRIxPTR " at:\n", (uintptr_t)e->to);
    lw_report_write_pcs(&details, e->stack, e->depth, "      ");
  }
  lw_buf_puts(&message, "; they can deadlock");
  /* Every edge's stack, for suppressions to match. */
  uint32_t npcs = 0;
  for (uint32_t i = 0; i < n; i++)
    npcs += cycle[i].depth + 1;
  uintptr_t *pcs = lw_mem_alloc((npcs ? npcs : 1) * sizeof *pcs);
  uint32_t used = 0;
  for (uint32_t i = 0; pcs && i < n; i++) {
    pcs[used++] = cycle[i].from_site;
    for (uint32_t k = 0; k < cycle[i].depth; k++)
      pcs[used++] = cycle[i].stack[k];
  }
  lw_report_event_locked("lock_order_inversion", message.data ? message.data : "", details.data,
                         ids, nids, pcs, pcs ? used : 0);
  lw_mem_free(pcs, (npcs ? npcs : 1) * sizeof *pcs);
  lw_buf_free(&message);
  lw_buf_free(&details);
}

/* ---- the entry points ---- */

static const void *key_of(const void *object, uintptr_t site) {
  if (lw_opt.lock_order != LW_LOCK_ORDER_CLASS)
    return object;
  class_entry *c = NULL;
  HASH_FIND_PTR(classes, &object, c);
  if (!c) {
    /* Not initialised through pthread_mutex_init: the class is where it was
     * first locked. */
    c = order_alloc(sizeof *c);
    if (!c)
      return object;
    c->object = object;
    c->site = site & (((uintptr_t)1 << LW_SITE_KIND_SHIFT) - 1);
    HASH_ADD_PTR(classes, object, c);
    filter_add(object);
  }
  return (const void *)c->site;
}

/* A new edge: add it, and report the cycle it closes. */
static LW_NOINLINE void add_edge(lw_thread *self, const lw_held *from_entry, const void *to,
                                 uintptr_t to_site, const void *gate) {
  uintptr_t stack[LW_STACK_MAX];
  lw_thread *inside = lw_shim_enter();
  uint32_t depth = lw_stack_capture_here(stack, (uint32_t)lw_opt.stack_depth);
  uintptr_t from_pc = lw_held_pc(from_entry);
  cycle_edge *cycle = NULL;
  uint32_t ncycle = 0, cycle_length = 1;

  lw_lock_acquire(&order_lock);
  const void *from_key = key_of(from_entry->object, from_entry->site);
  const void *to_key = key_of(to, to_site);
  if (from_key == to_key)
    goto out; /* class mode: two locks of one class nest; not an inversion */
  edge_key key = {from_key, to_key};
  edge *e = NULL;
  HASH_FIND(hh, edges, &key, sizeof key, e);
  if (e) {
    if (e->gate != gate)
      e->gate_mixed = true;
    goto out;
  }
  e = order_alloc(sizeof *e);
  node *from_node = node_of(from_key, true), *to_node = node_of(to_key, true);
  if (!e || !from_node || !to_node)
    goto out;
  e->key = key;
  e->from = from_node;
  e->to = to_node;
  e->from_object = from_entry->object;
  e->to_object = to;
  e->gate = gate;
  e->thread_id = self->id;
  e->from_kind = (uint8_t)lw_held_kind(from_entry);
  e->to_kind = (uint8_t)(to_site >> LW_SITE_KIND_SHIFT);
  e->from_site = from_pc;
  e->stack = depot_put(stack, depth);
  e->depth = e->stack ? depth : 0;
  lw_registry_remember_thread(self); /* its identity outlives it, for the report */
  e->anchor = UINT32_MAX;
  HASH_ADD(hh, edges, key, sizeof e->key, e);
  list_add(&from_node->out, e);
  list_add(&to_node->in, e);
  filter_add(from_entry->object);
  filter_add(to);

  /* Does to_key lead back to from_key? Then the new edge closes a cycle. */
  if (!reaches(to_node, from_node))
    goto out;
  uint32_t length = 1;
  for (edge *step = from_node->via; step; step = step->from->via)
    length++;
  cycle = lw_mem_alloc(length * sizeof *cycle);
  cycle_length = length;
  if (!cycle)
    goto out;
  /* The new edge, then the path back from `to` to `from` in order (the
   * via links run backwards from `from`). */
  edge **path = lw_mem_alloc(length * sizeof *path);
  if (!path)
    goto out;
  path[0] = e;
  uint32_t back = length;
  for (edge *step = from_node->via; step && back > 1; step = step->from->via)
    path[--back] = step;
  bool gated = gate != NULL;
  uint64_t signature = 0;
  for (uint32_t i = 0; i < length; i++) {
    edge *step = path[i];
    gated = gated && step->gate == gate && !step->gate_mixed && step->from->key != gate &&
            step->to->key != gate;
    signature += mix((uintptr_t)step->key.from * 31 + (uintptr_t)step->key.to);
    cycle_edge *c = &cycle[ncycle++];
    c->from = step->from_object;
    c->to = step->to_object;
    c->thread_id = step->thread_id;
    c->from_site = step->from_site;
    c->depth = step->depth < LW_STACK_MAX ? step->depth : LW_STACK_MAX;
    memcpy(c->stack, step->stack, c->depth * sizeof *c->stack);
    c->anchor = UINT32_MAX;
  }
  lw_mem_free(path, length * sizeof *path);
  if (gated || !lw_once_first(LW_ONCE_LOCK_ORDER, signature))
    ncycle = 0;
out:
  if (ncycle && npending < LW_PENDING_MAX) {
    pending[npending].edges = cycle;
    pending[npending].count = ncycle;
    npending++;
    cycle = NULL; /* the report frees it */
  }
  lw_lock_release(&order_lock);
  if (cycle)
    lw_mem_free(cycle, cycle_length * sizeof *cycle);
  if (ncycle)
    lw_watch_wake();
  lw_shim_leave(inside);
}

void lw_order_report_pending(void) {
  lw_report_lock();
  lw_order_report_pending_locked();
  lw_report_unlock();
}

void lw_order_report_pending_locked(void) {
  for (;;) {
    lw_lock_acquire(&order_lock);
    cycle_edge *cycle = npending ? pending[npending - 1].edges : NULL;
    uint32_t n = npending ? pending[npending - 1].count : 0;
    if (npending)
      npending--;
    lw_lock_release(&order_lock);
    if (!cycle)
      return;
    /* Anchor each `from` in its edge's stack: the innermost frame of the
     * function that took it. */
    for (uint32_t i = 0; i < n; i++) {
      lw_symbol site, now;
      if (lw_symbols_lookup(cycle[i].from_site, 1, &site, 1) != 1 || !site.function)
        continue;
      for (uint32_t k = 0; k < cycle[i].depth; k++)
        if (lw_symbols_lookup(cycle[i].stack[k], 1, &now, 1) == 1 && now.function &&
            strcmp(now.function, site.function) == 0) {
          cycle[i].anchor = k;
          break;
        }
    }
    report_cycle(cycle, n);
    lw_mem_free(cycle, n * sizeof *cycle);
  }
}

void lw_order_acquire(lw_thread *self, const void *object, uintptr_t site) {
  uint32_t listed = lw_held_listed(self);
  if (lw_opt.lock_order == LW_LOCK_ORDER_OFF || listed == 0)
    return;
  const lw_held *held = lw_held_list(self);
  for (uint32_t i = 0; i < listed; i++)
    if (held[i].object == object)
      return; /* a recursive relock */
  const lw_held *from = &held[listed - 1];
  if (lw_held_kind(from) == LW_LOCK_READ && (site >> LW_SITE_KIND_SHIFT) == LW_LOCK_READ)
    return; /* readers do not wait for readers */
  /* The thread's own cache of edges it has sent since the graph last lost
   * one. */
  uint32_t generation = atomic_load_explicit(&lw_order_generation, memory_order_relaxed);
  if (self->order_generation != generation) {
    memset(self->order_cache, 0, sizeof self->order_cache);
    self->order_generation = generation;
  }
  if (lw_order_cached(self, from->object, object, held[0].object))
    return;
  add_edge(self, from, object, site, listed >= 2 ? held[0].object : NULL);
  lw_order_edge *ways = self->order_cache[lw_order_set(from->object, object)];
  ways[1] = ways[0];
  ways[0] = (lw_order_edge){from->object, object, held[0].object};
}

static void forget(const void *object) {
  if (lw_opt.lock_order == LW_LOCK_ORDER_OFF || !filter_may_have(object))
    return;
  lw_lock_acquire(&order_lock);
  if (lw_opt.lock_order == LW_LOCK_ORDER_CLASS) {
    class_entry *c = NULL;
    HASH_FIND_PTR(classes, &object, c);
    if (c) {
      HASH_DEL(classes, c);
      order_free(c, sizeof *c);
    }
  } else {
    node *n = node_of(object, false);
    if (n)
      delete_node(n);
  }
  uint32_t next = atomic_load(&lw_order_generation) + 1; /* under order_lock */
  atomic_store(&lw_order_generation, next ? next : 1);
  lw_lock_release(&order_lock);
}

static void note_init(const void *object, uintptr_t init_site) {
  if (lw_opt.lock_order != LW_LOCK_ORDER_CLASS)
    return;
  lw_lock_acquire(&order_lock);
  class_entry *c = NULL;
  HASH_FIND_PTR(classes, &object, c);
  if (!c && (c = order_alloc(sizeof *c))) {
    c->object = object;
    HASH_ADD_PTR(classes, object, c);
  }
  if (c)
    c->site = init_site;
  filter_add(object);
  lw_lock_release(&order_lock);
}

void lw_order_lock_initialised(const void *object, uintptr_t init_site) {
  if (lw_init_state != LW_INIT_READY)
    return;
  forget(object);
  note_init(object, init_site);
}

void lw_order_lock_destroyed(const void *object) {
  if (lw_init_state == LW_INIT_READY)
    forget(object);
}

void lw_order_fork_prepare(void) { lw_lock_acquire(&order_lock); }
void lw_order_fork_parent(void) { lw_lock_release(&order_lock); }
void lw_order_fork_child(void) {
  order_lock.word = 0;
  npending = 0; /* cycles the parent found: its findings, not the child's */
}
