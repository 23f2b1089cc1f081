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
 *
 * The graph (issue 16 item 7). A new edge once searched everything below
 * it for a path back, under the graph's lock: quadratic (100,000 nested
 * pairs, 114 s on a quiet machine). Now the graph keeps a topological
 * order and searches only where a new edge breaks it (order_place), which
 * for the orders programs take is a few locks:
 *  - locks on one cycle are merged into one component; the components and
 *    the edges between them are acyclic, and labelled in topological order
 *    (an order-maintenance list);
 *  - an edge that closes a cycle, reported or gated, stays in the graph
 *    and merges the components of the cycle. Abseil's GraphCycles refuses
 *    such an edge instead; here that would hide every later cycle through
 *    it (a gated cycle's edge in a cycle outside the gate, or a longer
 *    cycle), so it is kept. Inside a component every new edge closes a
 *    cycle, found by a search of that component alone;
 *  - an edge first made under one gate and later under another, or none,
 *    searches again for the cycle it closes: gated until then, it may not
 *    be any more;
 *  - forgetting a lock leaves its component merged: the order stays
 *    topological when edges go, and the search inside a component finds
 *    which paths are left.
 * Memory (lockorder.h): an edge is 128 bytes, a lock's node 128 and its
 * component 64, each in lw_mem_alloc's class, plus the edge lists (blocks
 * of 8 slots) and the hash tables.
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
typedef struct node node;
typedef struct edge_list {
  edge **items;
  uint32_t count, capacity;
} edge_list;

/* A component: one lock, or the locks of a cycle merged into one. The
 * components and the edges between them form an acyclic graph, kept in a
 * topological order: every edge between two components goes from a lower
 * `label` to a higher one. The order is also a list (prev, next) through a
 * sentinel, so that a component can be put right before or after another
 * (order_insert_after). */
typedef struct component component;
struct component {
  uint64_t label;
  component *prev, *next;
  node *members; /* through node->member_next */
  uint32_t count;
  uint32_t forward_mark, backward_mark; /* search generations */
};

struct node {
  const void *key; /* lock address, or class site in class mode */
  edge_list out, in;
  component *comp;
  node *member_next; /* singly linked: 8 bytes less keeps a node in 128 */
  uint32_t visit;
  edge *via; /* path search inside a component: the edge we came by */
  UT_hash_handle hh;
};

typedef struct edge_key {
  node *from, *to;
} edge_key;

struct edge {
  edge_key key;                        /* also its ends in the graph */
  const void *from_object, *to_object; /* the locks (key differs in class mode) */
  const void *gate;                    /* outermost other lock held when seen; NULL if none */
  uintptr_t from_site;
  uintptr_t *stack;   /* the stack where `to` was taken, in the depot */
  uint32_t depth;     /* of that stack */
  uint32_t thread_id; /* the thread that made it (the latest ungated one once mixed) */
  uint8_t from_kind, to_kind;
  bool gate_mixed; /* seen with different gates: not gated */
  UT_hash_handle hh;
};

/* Each in lw_mem_alloc's class of 128 bytes (a byte more costs 256). */
_Static_assert(sizeof(edge) <= 128, "an edge outgrew its size class");
_Static_assert(sizeof(node) <= 128, "a node outgrew its size class");

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
_Atomic uint32_t lw_lockorder_generation; /* 0 until lw_lockorder_init turns checking on */
LW_COLD static _Atomic uint64_t filter[LW_FILTER_WORDS];
static node *nodes;
static edge *edges;
static component order_head = {0, &order_head, &order_head, NULL, 0, 0,
                               0}; /* the order's sentinel */
static uint32_t search_generation;
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

/* What lw_mem_alloc really takes for `size` (mem.c: a power of two from 64
 * bytes to 32 KiB, whole pages above), so that lw_lockorder_memory counts what
 * the graph costs, not what it asked for. */
static size_t order_allocated(size_t size) {
  if (size > 32768)
    return (size + 4095) & ~(size_t)4095;
  size_t block = 64;
  while (block < size)
    block *= 2;
  return block;
}

static void *order_alloc(size_t size) {
  memory_used += order_allocated(size);
  return lw_mem_alloc(size);
}

static void order_free(void *p, size_t size) {
  memory_used -= order_allocated(size);
  lw_mem_free(p, size);
}

/* The graph's hash tables count too. */
#undef uthash_malloc
#undef uthash_free
#define uthash_malloc(size) order_alloc(size)
#define uthash_free(ptr, size) order_free((ptr), (size))

size_t lw_lockorder_memory(void) { return memory_used; }

void lw_lockorder_init(void) {
  atomic_store(&lw_lockorder_generation, lw_opt.lock_order == LW_LOCK_ORDER_OFF ? 0 : 1);
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
    uint32_t capacity = list->capacity ? list->capacity * 2 : 8; /* 64 bytes: the smallest block */
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

static void list_release(edge_list *list) {
  if (list->items)
    order_free(list->items, list->capacity * sizeof *list->items);
  *list = (edge_list){0};
}

/* ---- the topological order of the components ----
 *
 * An order-maintenance list: labels grow along the list, and a component
 * is put after another by taking the middle of the gap after it. When that
 * gap is used up, order_make_room spreads the labels of the smallest
 * aligned range of labels around the spot that is sparse enough (Bender,
 * Cole, Demaine, Farach-Colton and Zito, "Two simplified algorithms for
 * maintaining order in a list", 2002): O(log n) relabelled a put,
 * amortised. */

#define LW_ORDER_APPEND_STEP ((uint64_t)1 << 32) /* the gap a new last component leaves */

static uint64_t order_label(const component *c) { return c == &order_head ? 0 : c->label; }

static void order_unlink(component *c) {
  c->prev->next = c->next;
  c->next->prev = c->prev;
  c->prev = c->next = c;
}

/* Relabels the components around `after` so that the gap after it holds
 * at least one more label. A range of 2^bits labels is sparse enough when
 * it holds fewer than (4/3)^bits - 1 components: so the spread leaves gaps
 * of at least 2, and a range that needs relabelling again soon is small. */
static void order_make_room(component *after) {
  component *first = after, *last = after;
  uint64_t count = after != &order_head, base = order_label(after);
  double capacity = 1.0;
  for (unsigned bits = 1; bits <= 64; bits++) {
    capacity *= 4.0 / 3.0;
    uint64_t low = bits == 64 ? 0 : base & ~(((uint64_t)1 << bits) - 1);
    uint64_t high = bits == 64 ? UINT64_MAX : low + (((uint64_t)1 << bits) - 1);
    while (after != &order_head && first->prev != &order_head && first->prev->label >= low) {
      first = first->prev;
      count++;
    }
    while (last->next != &order_head && last->next->label <= high) {
      last = last->next;
      count++;
    }
    if (bits < 64 && (double)(count + 2) > capacity)
      continue;
    uint64_t step = (high - low) / (count + 1), label = low;
    component *c = first == &order_head ? first->next : first;
    for (uint64_t i = 0; i < count; i++, c = c->next) {
      label += step;
      c->label = label;
    }
    return;
  }
}

/* Puts the unlinked `c` right after `after` (the sentinel: first). */
static void order_insert_after(component *after, component *c) {
  uint64_t low = order_label(after);
  uint64_t high = after->next == &order_head ? UINT64_MAX : after->next->label;
  if (high - low < 2) {
    order_make_room(after);
    low = order_label(after);
    high = after->next == &order_head ? UINT64_MAX : after->next->label;
  }
  uint64_t gap = (high - low) / 2;
  if (after->next == &order_head && gap > LW_ORDER_APPEND_STEP)
    gap = LW_ORDER_APPEND_STEP;
  c->label = low + gap;
  c->prev = after;
  c->next = after->next;
  after->next->prev = c;
  after->next = c;
}

/* ---- searches over the components ---- */

typedef struct {
  component *comp;
  node *member;   /* whose edges are being walked */
  uint32_t index; /* the next of them */
} cursor;

/* A depth-first search's stack, and every component it reached. */
typedef struct {
  cursor *stack;
  component **seen;
  uint32_t depth, nseen, capacity;
} search;

static search forward_search, backward_search; /* reused: no allocation an edge */

static bool search_grow(search *s) {
  uint32_t capacity = s->capacity ? s->capacity * 2 : 64;
  cursor *stack = order_alloc(capacity * sizeof *stack);
  component **seen = order_alloc(capacity * sizeof *seen);
  if (!stack || !seen) {
    if (stack)
      order_free(stack, capacity * sizeof *stack);
    if (seen)
      order_free(seen, capacity * sizeof *seen);
    return false;
  }
  if (s->capacity) {
    memcpy(stack, s->stack, s->depth * sizeof *stack);
    memcpy(seen, s->seen, s->nseen * sizeof *seen);
    order_free(s->stack, s->capacity * sizeof *stack);
    order_free(s->seen, s->capacity * sizeof *seen);
  }
  s->stack = stack;
  s->seen = seen;
  s->capacity = capacity;
  return true;
}

/* `seen` never holds more than the stack has had pushed: one capacity. */
static bool search_push(search *s, component *c) {
  if (s->nseen == s->capacity && !search_grow(s))
    return false;
  s->stack[s->depth++] = (cursor){c, c->members, 0};
  s->seen[s->nseen++] = c;
  return true;
}

static bool search_start(search *s, component *c) {
  s->depth = s->nseen = 0;
  return search_push(s, c);
}

static void new_search_generation(void) {
  if (++search_generation == 0) {
    for (component *c = order_head.next; c != &order_head; c = c->next)
      c->forward_mark = c->backward_mark = 0;
    search_generation = 1;
  }
}

enum search_mode {
  SEARCH_TWO_WAY, /* meeting the other search, or the goal, is a cycle */
  SEARCH_ALL,     /* everything within the bound; the goal is not entered */
  SEARCH_MARKED,  /* backward, only into components the forward search reached */
};
enum step { STEP_MORE, STEP_DONE, STEP_MET, STEP_NO_MEMORY };

/* One edge of a search: forward along out-edges, to components labelled
 * below `bound`; backward along in-edges, to components above it. */
static enum step search_step(search *s, bool forward, enum search_mode mode, uint64_t bound,
                             const component *goal) {
  cursor *top = &s->stack[s->depth - 1];
  const edge_list *list = NULL;
  while (top->member) {
    list = forward ? &top->member->out : &top->member->in;
    if (top->index < list->count)
      break;
    top->member = top->member->member_next;
    top->index = 0;
  }
  if (!top->member)
    return --s->depth ? STEP_MORE : STEP_DONE;
  const edge *e = list->items[top->index++];
  component *next = (forward ? e->key.to : e->key.from)->comp;
  if (next == top->comp)
    return STEP_MORE;
  if (next == goal)
    return mode == SEARCH_TWO_WAY ? STEP_MET : STEP_MORE;
  if (forward ? next->label >= bound : next->label <= bound)
    return STEP_MORE;
  uint32_t *mine = forward ? &next->forward_mark : &next->backward_mark;
  uint32_t theirs = forward ? next->backward_mark : next->forward_mark;
  if (*mine == search_generation)
    return STEP_MORE;
  if (mode == SEARCH_TWO_WAY && theirs == search_generation)
    return STEP_MET;
  if (mode == SEARCH_MARKED && theirs != search_generation)
    return STEP_MORE;
  *mine = search_generation;
  return search_push(s, next) ? STEP_MORE : STEP_NO_MEMORY;
}

static int by_label(const component *a, const component *b) { return a->label > b->label; }

/* Sorts components by label (in place, a heap sort: no allocation). */
static void sort_by_label(component **items, uint32_t n) {
  for (uint32_t end = n; end > 1;) {
    if (end == n)
      for (uint32_t start = n / 2; start-- > 0;)
        for (uint32_t root = start, child; (child = 2 * root + 1) < n; root = child) {
          if (child + 1 < n && by_label(items[child + 1], items[child]))
            child++;
          if (!by_label(items[child], items[root]))
            break;
          component *t = items[root];
          items[root] = items[child];
          items[child] = t;
        }
    end--;
    component *t = items[0];
    items[0] = items[end];
    items[end] = t;
    for (uint32_t root = 0, child; (child = 2 * root + 1) < end; root = child) {
      if (child + 1 < end && by_label(items[child + 1], items[child]))
        child++;
      if (!by_label(items[child], items[root]))
        break;
      t = items[root];
      items[root] = items[child];
      items[child] = t;
    }
  }
}

/* Moves the components right after `after`, keeping their order among
 * themselves. None of them is `after`. */
static void move_after(component *after, component **items, uint32_t n) {
  sort_by_label(items, n);
  for (uint32_t i = 0; i < n; i++)
    order_unlink(items[i]);
  for (uint32_t i = 0; i < n; i++, after = items[i - 1])
    order_insert_after(after, items[i]);
}

static component *component_new(node *n) {
  component *c = order_alloc(sizeof *c);
  if (!c)
    return NULL;
  c->members = n;
  c->count = 1;
  n->comp = c;
  order_insert_after(order_head.prev, c); /* no edges yet: anywhere will do; last */
  return c;
}

static void component_add(component *c, node *n) {
  n->comp = c;
  n->member_next = c->members;
  c->members = n;
  c->count++;
}

/* Takes `n` out of its component (a walk of the members: most components
 * are one lock), and drops the component when it was the last. */
static void component_remove(node *n) {
  component *c = n->comp;
  node **link = &c->members;
  while (*link != n)
    link = &(*link)->member_next;
  *link = n->member_next;
  n->comp = NULL;
  if (--c->count == 0) {
    order_unlink(c);
    order_free(c, sizeof *c);
  }
}

/* A cycle through the components from `to` (cy) to `from` (cx): merge
 * every component on a path from cy to cx into one, in cx's place, and
 * move the components cy reaches that do not lead back to cx right after
 * it. Costs a full search of what cy reaches below cx: cycles are rare. */
static bool merge_cycle(component *cx, component *cy) {
  search *f = &forward_search, *b = &backward_search;
  new_search_generation();
  cy->forward_mark = cx->backward_mark = search_generation;
  if (!search_start(f, cy) || !search_start(b, cx))
    return false;
  enum step step;
  while ((step = search_step(f, true, SEARCH_ALL, cx->label, cx)) == STEP_MORE)
    ;
  if (step == STEP_NO_MEMORY)
    return false;
  while ((step = search_step(b, false, SEARCH_MARKED, cy->label - 1, NULL)) == STEP_MORE)
    ;
  if (step == STEP_NO_MEMORY)
    return false;
  /* b->seen: cx and the components between (cy among them). The largest
   * keeps its record, so a lock changes component O(log n) times. */
  component *keep = cx;
  for (uint32_t i = 0; i < b->nseen; i++)
    if (b->seen[i]->count > keep->count)
      keep = b->seen[i];
  if (keep != cx) {
    order_unlink(keep);
    order_insert_after(cx, keep);
  }
  for (uint32_t i = 0; i < b->nseen; i++) {
    component *c = b->seen[i];
    if (c == keep)
      continue;
    while (c->members) {
      node *n = c->members;
      c->members = n->member_next;
      component_add(keep, n);
    }
    order_unlink(c);
    order_free(c, sizeof *c);
  }
  uint32_t later = 0;
  for (uint32_t i = 0; i < f->nseen; i++)
    if (f->seen[i]->backward_mark != search_generation)
      f->seen[later++] = f->seen[i];
  move_after(keep, f->seen, later);
  return true;
}

/* Is there a path from `start` to `goal` inside component `c`? Marks it in
 * node->via. Every path between two locks of one component stays inside
 * it (the components are in topological order), so this is the whole
 * answer. */
static bool reaches_within(node *start, node *goal, const component *c) {
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
      node *next = e->key.to;
      if (next->visit == generation || next->comp != c)
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

enum placed { PLACED, PLACED_CYCLE, PLACED_NO_MEMORY };

/* The new edge `e` is in its nodes' lists: keep the order (Pearce and
 * Kelly's incremental topological order, searched from both ends at once
 * as Haeupler, Kavitha, Mathew, Sen and Tarjan do). Nothing to do when `e`
 * already goes up the order. Otherwise search forward from its target's
 * component (below its source's label) and backward from its source's
 * (above its target's), one edge each in turn. The search that runs out
 * first has found everything that must move, and it moves alone: what the
 * backward one found goes right before the target, what the forward one
 * found right after the source. So a new edge costs what the smaller side
 * reaches, not the graph: nested pairs m[i] then m[i-1] move only the new
 * lock. The searches meeting is a cycle: merge_cycle. PLACED_CYCLE: the
 * path from e->to back to e->from is in node->via. */
static enum placed order_place(edge *e) {
  component *cx = e->key.from->comp, *cy = e->key.to->comp;
  if (cx != cy && cx->label < cy->label)
    return PLACED;
  if (cx != cy) {
    search *f = &forward_search, *b = &backward_search;
    new_search_generation();
    cy->forward_mark = cx->backward_mark = search_generation;
    if (!search_start(f, cy) || !search_start(b, cx))
      return PLACED_NO_MEMORY;
    for (;;) {
      enum step step = search_step(f, true, SEARCH_TWO_WAY, cx->label, cx);
      if (step == STEP_DONE) {
        move_after(cx, f->seen, f->nseen);
        return PLACED;
      }
      if (step == STEP_MET)
        break;
      if (step == STEP_NO_MEMORY)
        return PLACED_NO_MEMORY;
      step = search_step(b, false, SEARCH_TWO_WAY, cy->label, cy);
      if (step == STEP_DONE) {
        move_after(cy->prev, b->seen, b->nseen); /* cy->prev is below cy: not among them */
        return PLACED;
      }
      if (step == STEP_MET)
        break;
      if (step == STEP_NO_MEMORY)
        return PLACED_NO_MEMORY;
    }
    if (!merge_cycle(cx, cy))
      return PLACED_NO_MEMORY;
  }
  return reaches_within(e->key.to, e->key.from, e->key.from->comp) ? PLACED_CYCLE : PLACED;
}

static node *node_of(const void *key, bool create) {
  node *n = NULL;
  HASH_FIND_PTR(nodes, &key, n);
  if (n || !create)
    return n;
  n = order_alloc(sizeof *n);
  if (!n)
    return NULL;
  if (!component_new(n)) {
    order_free(n, sizeof *n);
    return NULL;
  }
  n->key = key;
  HASH_ADD_PTR(nodes, key, n);
  return n;
}

static void delete_edge(edge *e) {
  list_remove(&e->key.from->out, e);
  list_remove(&e->key.to->in, e);
  HASH_DEL(edges, e);
  order_free(e, sizeof *e);
}

/* Forgets a lock. Its component, if merged, stays merged: the order stays
 * a topological order when edges go, and a search inside a component
 * finds what paths are left (reaches_within). */
static void delete_node(node *n) {
  while (n->out.count)
    delete_edge(n->out.items[0]);
  while (n->in.count)
    delete_edge(n->in.items[0]);
  list_release(&n->out);
  list_release(&n->in);
  component_remove(n);
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

/* ---- reporting a cycle (order lock not held) ---- */

struct cycle_edge {
  const void *from, *to;
  const char *from_call, *to_call; /* how each was taken: "pthread_mutex_lock"... */
  const char *from_noun, *to_noun; /* "mutex", "rwlock" */
  uint32_t thread_id;
  uintptr_t from_site;
  uint32_t depth, anchor;
  uintptr_t stack[LW_STACK_MAX];
};

static void report_cycle(const cycle_edge *cycle, uint32_t n) {
  lw_buf message = {0};
  lw_buf_printf(&message, "%u locks taken in conflicting orders:", n);
  uint32_t ids[n];
  uint32_t nids = 0;
  /* Each edge: the first lock, where it was taken (its call site, then the
   * frames of the second lock's stack below the anchor: the callers they
   * share), and the second lock with its stack. */
  lw_reporting_evidence evidence[2 * n];
  uintptr_t from_stacks[n][LW_STACK_MAX];
  for (uint32_t i = 0; i < n; i++) {
    const cycle_edge *e = &cycle[i];
    lw_buf_printf(&message, "%s T%u took 0x%" PRIxPTR " then 0x%" PRIxPTR, i ? ";" : "",
                  e->thread_id, (uintptr_t)e->from, (uintptr_t)e->to);
    bool seen = false;
    for (uint32_t k = 0; k < nids; k++)
      seen |= ids[k] == e->thread_id;
    if (!seen)
      ids[nids++] = e->thread_id;
    uint32_t from_depth = 0;
    from_stacks[i][from_depth++] = e->from_site;
    if (e->anchor != UINT32_MAX)
      for (uint32_t k = e->anchor + 1; k < e->depth && from_depth < LW_STACK_MAX; k++)
        from_stacks[i][from_depth++] = e->stack[k];
    evidence[2 * i] = (lw_reporting_evidence){.role = LW_EVENT_HELD,
                                              .thread = e->thread_id,
                                              .call = e->from_call,
                                              .object = e->from,
                                              .object_kind = e->from_noun,
                                              .edge = i + 1,
                                              .pcs = from_stacks[i],
                                              .depth = from_depth};
    evidence[2 * i + 1] = (lw_reporting_evidence){.role = LW_EVENT_TAKEN,
                                                  .thread = e->thread_id,
                                                  .call = e->to_call,
                                                  .object = e->to,
                                                  .object_kind = e->to_noun,
                                                  .edge = i + 1,
                                                  .pcs = e->stack,
                                                  .depth = e->depth};
  }
  lw_buf_puts(&message, "; they can deadlock");
  lw_reporting_event_locked(LW_FINDING_LOCK_ORDER_INVERSION, message.data ? message.data : "", ids,
                            nids, evidence, 2 * n);
  lw_buf_free(&message);
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

/* Records in `e` one time it was made: by `self`, holding `from_entry`,
 * taking `to` with the stack `pcs`. */
static void edge_record(edge *e, lw_thread *self, const lw_held *from_entry, const void *to,
                        uintptr_t to_site, const uintptr_t *pcs, uint32_t depth) {
  e->from_object = from_entry->object;
  e->to_object = to;
  e->thread_id = self->id;
  e->from_kind = (uint8_t)lw_held_kind(from_entry);
  e->to_kind = (uint8_t)(to_site >> LW_SITE_KIND_SHIFT);
  e->from_site = lw_held_pc(from_entry);
  e->stack = depot_put(pcs, depth);
  e->depth = e->stack ? depth : 0;
  lw_registry_remember_thread(self); /* its identity outlives it, for the report */
}

/* `e` closes the cycle whose path from e->to back to e->from is marked in
 * node->via. Unless every edge of it was made under `gate` (and only under
 * it), or the cycle was reported before, returns a copy for the report, of
 * *count edges: `e` first, then the path in order. */
static cycle_edge *cycle_copy(edge *e, const void *gate, uint32_t *count) {
  uint32_t length = 1;
  for (edge *step = e->key.from->via; step; step = step->key.from->via)
    length++;
  cycle_edge *cycle = lw_mem_alloc(length * sizeof *cycle);
  edge **path = lw_mem_alloc(length * sizeof *path);
  if (!cycle || !path)
    goto none;
  /* The via links run backwards from `from`. */
  path[0] = e;
  uint32_t back = length;
  for (edge *step = e->key.from->via; step && back > 1; step = step->key.from->via)
    path[--back] = step;
  bool gated = gate != NULL;
  uint64_t signature = 0;
  for (uint32_t i = 0; i < length; i++) {
    edge *step = path[i];
    gated = gated && step->gate == gate && !step->gate_mixed && step->key.from->key != gate &&
            step->key.to->key != gate;
    signature += mix((uintptr_t)step->key.from->key * 31 + (uintptr_t)step->key.to->key);
    cycle_edge *c = &cycle[i];
    c->from = step->from_object;
    c->to = step->to_object;
    c->from_call = lw_lock_kind_calls[step->from_kind & 3];
    c->to_call = lw_lock_kind_calls[step->to_kind & 3];
    c->from_noun = lw_lock_kind_objects[step->from_kind & 3];
    c->to_noun = lw_lock_kind_objects[step->to_kind & 3];
    c->thread_id = step->thread_id;
    c->from_site = step->from_site;
    c->depth = step->depth < LW_STACK_MAX ? step->depth : LW_STACK_MAX;
    memcpy(c->stack, step->stack, c->depth * sizeof *c->stack);
    c->anchor = UINT32_MAX;
  }
  if (gated || !lw_once_first(LW_ONCE_LOCK_ORDER, signature))
    goto none;
  lw_mem_free(path, length * sizeof *path);
  *count = length;
  return cycle;
none:
  if (path)
    lw_mem_free(path, length * sizeof *path);
  if (cycle)
    lw_mem_free(cycle, length * sizeof *cycle);
  return NULL;
}

/* A new edge: add it, and report the cycle it closes. Or an edge known
 * under another gate: the cycles it closes, gated until now, may not be
 * any more; this instance, outside the old gate, is the one to show. */
static LW_NOINLINE void add_edge(lw_thread *self, const lw_held *from_entry, const void *to,
                                 uintptr_t to_site, const void *gate) {
  uintptr_t stack[LW_STACK_MAX];
  lw_thread *inside = lw_shim_enter();
  uint32_t depth = lw_stack_capture_here(stack, (uint32_t)lw_opt.stack_depth);
  cycle_edge *cycle = NULL;
  uint32_t ncycle = 0;
  bool closes = false;

  lw_lock_acquire(&order_lock);
  const void *from_key = key_of(from_entry->object, from_entry->site);
  const void *to_key = key_of(to, to_site);
  if (from_key == to_key)
    goto out; /* class mode: two locks of one class nest; not an inversion */
  node *from_node = node_of(from_key, true), *to_node = node_of(to_key, true);
  if (!from_node || !to_node)
    goto out;
  edge_key key = {from_node, to_node};
  edge *e = NULL;
  HASH_FIND(hh, edges, &key, sizeof key, e);
  if (e) {
    if (e->gate == gate || e->gate_mixed)
      goto out;
    e->gate_mixed = true;
    edge_record(e, self, from_entry, to, to_site, stack, depth);
    closes = e->key.from->comp == e->key.to->comp &&
             reaches_within(e->key.to, e->key.from, e->key.from->comp);
  } else {
    e = order_alloc(sizeof *e);
    if (!e)
      goto out;
    e->key = key;
    e->gate = gate;
    edge_record(e, self, from_entry, to, to_site, stack, depth);
    HASH_ADD(hh, edges, key, sizeof e->key, e);
    filter_add(from_entry->object);
    filter_add(to);
    if (!list_add(&from_node->out, e) || !list_add(&to_node->in, e)) {
      delete_edge(e);
      goto out;
    }
    enum placed placed = order_place(e);
    if (placed == PLACED_NO_MEMORY) {
      delete_edge(e); /* out of the graph: it could break the order */
      goto out;
    }
    closes = placed == PLACED_CYCLE;
  }
  if (closes)
    cycle = cycle_copy(e, gate, &ncycle);
out:;
  bool queued = cycle && npending < LW_PENDING_MAX;
  if (queued) {
    pending[npending].edges = cycle;
    pending[npending].count = ncycle;
    npending++;
  }
  lw_lock_release(&order_lock);
  if (cycle && !queued)
    lw_mem_free(cycle, ncycle * sizeof *cycle);
  if (queued)
    lw_watcher_run_soon(lw_lockorder_report_pending); /* the report frees the cycle */
  lw_shim_leave(inside);
}

void lw_lockorder_report_pending(void) {
  lw_reporting_lock();
  lw_lockorder_report_pending_locked();
  lw_reporting_unlock();
}

void lw_lockorder_report_pending_locked(void) {
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

void lw_lockorder_acquire(lw_thread *self, const void *object, uintptr_t site) {
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
  uint32_t generation = atomic_load_explicit(&lw_lockorder_generation, memory_order_relaxed);
  if (self->order_generation != generation) {
    memset(self->order_cache, 0, sizeof self->order_cache);
    self->order_generation = generation;
  }
  if (lw_lockorder_cached(self, from->object, object, held[0].object))
    return;
  add_edge(self, from, object, site, listed >= 2 ? held[0].object : NULL);
  lw_lockorder_edge *ways = self->order_cache[lw_lockorder_set(from->object, object)];
  ways[1] = ways[0];
  ways[0] = (lw_lockorder_edge){from->object, object, held[0].object};
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
  uint32_t next = atomic_load(&lw_lockorder_generation) + 1; /* under order_lock */
  atomic_store(&lw_lockorder_generation, next ? next : 1);
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

void lw_lockorder_lock_initialised(const void *object, uintptr_t init_site) {
  if (lw_init_state != LW_INIT_READY)
    return;
  forget(object);
  note_init(object, init_site);
}

void lw_lockorder_lock_destroyed(const void *object) {
  if (lw_init_state == LW_INIT_READY)
    forget(object);
}

void lw_lockorder_fork_prepare(void) { lw_lock_acquire(&order_lock); }
void lw_lockorder_fork_parent(void) { lw_lock_release(&order_lock); }
void lw_lockorder_fork_child(void) {
  order_lock.word = 0;
  npending = 0; /* cycles the parent found: its findings, not the child's */
}
