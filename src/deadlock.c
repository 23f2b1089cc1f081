/*
 * deadlock.c - deadlocks in a snapshot: cycles in the wait-for graph, the
 * threads stuck behind them, and "all threads are asleep".
 *
 * The graph: a thread blocked in an untimed wait points at every thread that
 * holds what it waits for (the owner of a mutex or mtx_t; for a write lock
 * every holder of the rwlock, for a read lock its writer; the thread a join
 * waits for). A thread needs all of them to let go (the AND model), so any
 * cycle is a deadlock, and so is every blocked thread with an edge into a
 * deadlocked one (a join on a deadlocked thread, say). Condition variables,
 * semaphores and barriers have no owner: they never form edges, and only
 * "all asleep" can catch them.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <stddef.h>

#include "options.h"
#include "registry.h"
#include "signals.h"
#include "stack.h"
#include "deadlock.h"

#define LW_MAX_EDGES 64

typedef struct node {
  bool blocked;
  uint32_t nedges;
  uint32_t edges[LW_MAX_EDGES]; /* indexes into r->threads */
  /* Tarjan's SCC */
  int index, lowlink;
  bool on_stack;
  int component;
  bool deadlocked;
} node;

/* The untimed waits that can be part of a cycle (calls.h). */
static bool is_mutex_wait(int call) {
  return lw_calls_object(call) == LW_OBJECT_MUTEX && !lw_calls_timed(call);
}
static bool is_rwlock_wait(int call, enum lw_access access) {
  return lw_calls_object(call) == LW_OBJECT_RWLOCK && lw_calls[call].access == access &&
         !lw_calls_timed(call);
}
static bool is_write_wait(int call) { return is_rwlock_wait(call, LW_ACCESS_EXCLUSIVE); }
static bool is_read_wait(int call) { return is_rwlock_wait(call, LW_ACCESS_SHARED); }
static bool is_join_wait(int call) { return lw_calls_is_join(call) && !lw_calls_timed(call); }

static int index_of(const lw_report *r, uint32_t id) {
  for (uint32_t i = 0; i < r->nthreads; i++)
    if (r->threads[i].id == id)
      return (int)i;
  return -1;
}

static void add_edge(node *n, uint32_t to) {
  for (uint32_t k = 0; k < n->nedges; k++)
    if (n->edges[k] == to)
      return;
  if (n->nedges < LW_MAX_EDGES)
    n->edges[n->nedges++] = to;
}

/* A thread asleep in an untimed wait for at least `min_wait_ms`: a node of
 * the wait-for graph, and a long wait at hang_ms. No such thread, no
 * deadlock (and nothing to allocate: most exits). */
static bool blocked_in_wait(const lw_report_thread *t, uint64_t min_wait_ms) {
  return t->has_wait && !t->wait.timed && t->state == LW_STATE_BLOCKED &&
         t->wait.waited_ms >= min_wait_ms;
}

static void build_graph(const lw_report *r, node *nodes, uint64_t min_wait_ms) {
  for (uint32_t i = 0; i < r->nthreads; i++) {
    const lw_report_thread *t = &r->threads[i];
    node *n = &nodes[i];
    n->index = -1;
    n->component = -1;
    n->blocked = blocked_in_wait(t, min_wait_ms);
    if (!n->blocked)
      continue;
    int call = t->wait.call_id;
    if (is_join_wait(call)) {
      int target = t->wait.has_owner ? index_of(r, t->wait.owner) : -1;
      if (target >= 0 && r->threads[target].state != LW_STATE_EXITED) {
        add_edge(n, (uint32_t)target);
      } else if (target >= 0) {
        /* The thread it joins has ended: the join returns as soon as the
         * kernel has let the thread go, which on a loaded machine can take
         * a while; it is not asleep. */
        n->blocked = false;
      }
      continue;
    }
    if (!is_mutex_wait(call) && !is_write_wait(call) && !is_read_wait(call))
      continue;
    if (t->wait.owner_tid)
      continue; /* owned by another process: no edge in this one */
    for (uint32_t k = 0; k < r->nthreads; k++) {
      const lw_report_thread *holder = &r->threads[k];
      for (uint32_t h = 0; h < holder->nheld; h++) {
        if (holder->held[h].object != t->wait.object)
          continue;
        if (is_read_wait(call) && holder->held[h].kind == LW_LOCK_READ)
          continue; /* readers share */
        add_edge(n, k);
      }
    }
    /* An owner no held list names (past the list's capacity, or taken
     * where the shim did not see it), known from glibc's owner field. */
    if (n->nedges == 0 && t->wait.has_owner) {
      int owner = index_of(r, t->wait.owner);
      if (owner >= 0 && r->threads[owner].state != LW_STATE_EXITED)
        add_edge(n, (uint32_t)owner);
    }
  }
}

typedef struct tarjan {
  node *nodes;
  uint32_t *stack;
  uint32_t depth;
  int next_index, next_component;
} tarjan;

static void strongconnect(tarjan *tj, uint32_t v) {
  node *n = &tj->nodes[v];
  n->index = n->lowlink = tj->next_index++;
  tj->stack[tj->depth++] = v;
  n->on_stack = true;
  for (uint32_t k = 0; k < n->nedges; k++) {
    uint32_t w = n->edges[k];
    node *m = &tj->nodes[w];
    if (!m->blocked)
      continue;
    if (m->index < 0) {
      strongconnect(tj, w);
      if (m->lowlink < n->lowlink)
        n->lowlink = m->lowlink;
    } else if (m->on_stack && m->index < n->lowlink) {
      n->lowlink = m->index;
    }
  }
  if (n->lowlink == n->index) {
    int component = tj->next_component++;
    uint32_t w;
    do {
      w = tj->stack[--tj->depth];
      tj->nodes[w].on_stack = false;
      tj->nodes[w].component = component;
    } while (w != v);
  }
}

/* ---- "all threads are asleep": only when nothing can wake them ---- */

/* The process the report is about, when it is not this one. */
static const lw_deadlock_source *source;
void lw_deadlock_set_source(const lw_deadlock_source *s) { source = s; }

static int count_tasks(void) {
  DIR *dir = opendir("/proc/self/task");
  if (!dir)
    return -1;
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)))
    if (entry->d_name[0] != '.')
      count++;
  closedir(dir);
  return count;
}

/* A handler the program installed could post a semaphore or signal a
 * condition variable from a signal: then sleeping threads may yet wake.
 * Handlers of the signals a thread raises on itself by faulting (Rust's
 * runtime and many others catch SIGSEGV and SIGBUS to report a stack
 * overflow) cannot: a thread blocked in a wait does not fault. */
static bool program_catches_signals(void) {
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return true;
  char text[4096];
  ssize_t got = read(fd, text, sizeof text - 1);
  close(fd);
  if (got <= 0)
    return true;
  text[got] = '\0';
  const char *line = strstr(text, "SigCgt:");
  if (!line)
    return true;
  unsigned long long caught = strtoull(line + 7, NULL, 16);
  int ours[] = {lw_stack_signal(), lw_opt.dump_signal};
  for (size_t i = 0; i < LW_ARRAY_SIZE(ours); i++)
    if (ours[i] > 0)
      caught &= ~(1ull << (ours[i] - 1));
  caught &= ~lw_signals_ours(); /* report_signals: the program's are at SIG_DFL */
  /* glibc's own (SIGCANCEL, SIGSETXID) are 32 and 33. */
  caught &= ~((1ull << 31) | (1ull << 32));
  static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS};
  for (size_t i = 0; i < LW_ARRAY_SIZE(faults); i++)
    caught &= ~(1ull << (faults[i] - 1));
  return caught != 0;
}

/* An int field of a wait's object, in whichever process it lives. */
static int object_int(const lw_report_wait *w, size_t offset) {
  int value = 1; /* unreadable: assume shared */
  if (!source)
    return *(const int *)((const char *)w->object + offset);
  source->read((const char *)w->object + offset, &value, sizeof value);
  return value;
}

/* Objects another process may post or signal (glibc 2.34+ layouts). */
static bool process_shared(const lw_report_wait *w) {
  switch (lw_calls_object(w->call_id)) {
  case LW_OBJECT_SEM:
    return object_int(w, 8) != 0; /* new_sem.private: 0 private, 128 shared */
  case LW_OBJECT_COND:
    return (object_int(w, offsetof(pthread_cond_t, __data.__wrefs)) & 1) !=
           0; /* bit 0: process-shared (bit 2 is the destroy-wake flag) */
  case LW_OBJECT_MUTEX:
    return (object_int(w, offsetof(pthread_mutex_t, __data.__kind)) & 128) != 0;
  case LW_OBJECT_BARRIER:
    return object_int(w, 12) != 0; /* shared: 0 private, 128 shared */
  default:
    return false;
  }
}

/* True when the kernel has thread `tid` runnable: woken (by a signal of
 * its condition variable, the end of the thread it joins...) but not yet
 * run, so its wait still looks current. On a loaded machine that lasts
 * seconds. */
static bool kernel_runnable(int tid) {
  char path[64], text[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t got = read(fd, text, sizeof text - 1);
  close(fd);
  if (got <= 0)
    return false;
  text[got] = '\0';
  const char *after_name = strrchr(text, ')'); /* the name may hold anything */
  return after_name && after_name[1] == ' ' && after_name[2] == 'R';
}

static void all_asleep(lw_report *r, const node *nodes, unsigned own_tasks) {
  uint32_t alive = 0;
  for (uint32_t i = 0; i < r->nthreads; i++) {
    const lw_report_thread *t = &r->threads[i];
    if (t->state == LW_STATE_EXITED)
      continue;
    if (!nodes[i].blocked || t->is_reporter || process_shared(&t->wait))
      return;
    alive++;
  }
  if (alive == 0)
    return;
  /* Threads the shim never saw (raw clone, glibc's helpers) may be awake. */
  if ((source ? source->count_tasks() : count_tasks()) != (int)(alive + own_tasks))
    return;
  if (source ? source->catches_signals() : program_catches_signals())
    return;
  for (uint32_t i = 0; i < r->nthreads; i++)
    if (r->threads[i].state != LW_STATE_EXITED && kernel_runnable(r->threads[i].tid))
      return;
  uint32_t ids[alive];
  uint32_t n = 0;
  for (uint32_t i = 0; i < r->nthreads; i++)
    if (r->threads[i].state != LW_STATE_EXITED)
      ids[n++] = r->threads[i].id;
  lw_finding *f = lw_report_add_finding(r, LW_FINDING_DEADLOCK, NULL, ids, n);
  if (f)
    f->message =
        lw_mem_arena_strdup(&r->arena, "all threads are asleep: every thread is blocked in an "
                                       "untimed wait and nothing can wake them");
}

/* One "waits" event of thread v's wait, owned by `owner` (an id). */
static void add_wait_event(lw_report *r, lw_finding *f, const lw_report_thread *t, bool has_owner,
                           uint32_t owner) {
  lw_report_event *e = lw_report_add_events(r, f, 1);
  if (!e)
    return;
  e->role = LW_EVENT_WAITS;
  e->thread = t->id;
  e->call = t->wait.call;
  e->object = t->wait.object;
  e->object_kind = lw_calls_object_name(t->wait.call_id);
  e->has_owner = has_owner;
  e->owner = owner;
  e->owner_unlisted = t->wait.owner_unlisted;
  e->waited_ms = t->wait.waited_ms;
  e->of_thread = LW_EVENT_WAIT_STACK;
}

/* The cycle's steps as events, from its first member round to it. */
static void add_cycle_events(lw_report *r, lw_finding *f, const node *nodes, int component,
                             uint32_t start) {
  uint32_t v = start, steps = 0;
  do {
    const node *n = &nodes[v];
    uint32_t next = v;
    for (uint32_t k = 0; k < n->nedges; k++)
      if (nodes[n->edges[k]].component == component) {
        next = n->edges[k];
        break;
      }
    add_wait_event(r, f, &r->threads[v], true, r->threads[next].id);
    v = next;
  } while (v != start && ++steps < r->nthreads);
}

/* "T1 -> mutex 0x… held by T2 -> mutex 0x… held by T1": the cycle's
 * events as the finding's one line. */
static void describe_cycle(lw_report *r, const lw_finding *f, lw_buf *out) {
  for (uint32_t i = 0; i < f->nevents; i++) {
    const lw_report_event *e = &f->events[i];
    const lw_report_thread *t = lw_report_thread_by_id(r, e->thread);
    if (i == 0)
      lw_buf_printf(out, "T%u", e->thread);
    if (t && lw_calls_is_join(t->wait.call_id))
      lw_buf_printf(out, " -> joins T%u", e->owner);
    else if (t)
      lw_buf_printf(out, " -> %s 0x%" PRIxPTR " held by T%u", lw_calls_object_name(t->wait.call_id),
                    (uintptr_t)e->object, e->owner);
  }
}

int lw_deadlock_find(lw_report *r, uint64_t min_wait_ms, int own_tasks) {
  bool any_blocked = false;
  for (uint32_t i = 0; i < r->nthreads && !any_blocked; i++)
    any_blocked = blocked_in_wait(&r->threads[i], min_wait_ms);
  if (!any_blocked)
    return 0;
  node *nodes = lw_mem_arena_alloc(&r->arena, r->nthreads * sizeof *nodes);
  uint32_t *stack = lw_mem_arena_alloc(&r->arena, r->nthreads * sizeof *stack);
  if (!nodes || !stack)
    return 0;
  build_graph(r, nodes, min_wait_ms);
  tarjan tj = {nodes, stack, 0, 0, 0};
  for (uint32_t v = 0; v < r->nthreads; v++)
    if (nodes[v].blocked && nodes[v].index < 0)
      strongconnect(&tj, v);

  /* Which components are cycles: more than one member, or a self-edge. */
  int ncomponents = tj.next_component;
  bool *cyclic = lw_mem_arena_alloc(&r->arena, (size_t)(ncomponents + 1) * sizeof *cyclic);
  uint32_t *size = lw_mem_arena_alloc(&r->arena, (size_t)(ncomponents + 1) * sizeof *size);
  if (!cyclic || !size)
    return 0;
  for (uint32_t v = 0; v < r->nthreads; v++) {
    if (nodes[v].component < 0)
      continue;
    size[nodes[v].component]++;
    for (uint32_t k = 0; k < nodes[v].nedges; k++)
      if (nodes[v].edges[k] == v)
        cyclic[nodes[v].component] = true;
  }
  for (int c = 0; c < ncomponents; c++)
    if (size[c] > 1)
      cyclic[c] = true;

  /* Blocked threads behind a deadlocked one are deadlocked too; each joins
   * the finding of the first deadlocked thread it reaches. */
  int *owner_component = lw_mem_arena_alloc(&r->arena, r->nthreads * sizeof *owner_component);
  for (uint32_t v = 0; v < r->nthreads; v++) {
    owner_component[v] =
        nodes[v].component >= 0 && cyclic[nodes[v].component] ? nodes[v].component : -1;
    nodes[v].deadlocked = owner_component[v] >= 0;
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t v = 0; v < r->nthreads; v++) {
      if (!nodes[v].blocked || nodes[v].deadlocked)
        continue;
      for (uint32_t k = 0; k < nodes[v].nedges; k++)
        if (nodes[nodes[v].edges[k]].deadlocked) {
          nodes[v].deadlocked = true;
          owner_component[v] = owner_component[nodes[v].edges[k]];
          changed = true;
          break;
        }
    }
  }

  int added = 0;
  for (int c = 0; c < ncomponents; c++) {
    if (!cyclic[c])
      continue;
    uint32_t ids[r->nthreads];
    uint32_t n = 0, first = UINT32_MAX;
    for (uint32_t v = 0; v < r->nthreads; v++)
      if (nodes[v].component == c) {
        ids[n++] = r->threads[v].id;
        if (first == UINT32_MAX)
          first = v;
      }
    uint32_t in_cycle = n;
    for (uint32_t v = 0; v < r->nthreads; v++)
      if (owner_component[v] == c && nodes[v].component != c)
        ids[n++] = r->threads[v].id;
    lw_finding *f = lw_report_add_finding(r, LW_FINDING_DEADLOCK, NULL, ids, n);
    if (!f)
      continue;
    add_cycle_events(r, f, nodes, c, first);
    lw_buf text = {0};
    if (in_cycle == 1)
      lw_buf_puts(&text, "a thread waits for itself: ");
    else
      lw_buf_printf(&text, "%u threads wait for each other: ", in_cycle);
    describe_cycle(r, f, &text);
    if (n > in_cycle)
      lw_buf_printf(&text, " (and %u more blocked behind them)", n - in_cycle);
    f->message = lw_mem_arena_strdup(&r->arena, text.data);
    lw_buf_free(&text);
    f->all_threads_shown = true;
    f->core = in_cycle;
    added++;
  }
  if (added == 0 && own_tasks >= 0) {
    uint32_t before = r->nfindings;
    all_asleep(r, nodes, (unsigned)own_tasks);
    if (r->nfindings > before) {
      r->findings[r->nfindings - 1].all_threads_shown = true;
      added++;
    }
  }
  return added;
}

uint64_t lw_deadlock_signature(const lw_report *r, const lw_finding *f) {
  /* The threads and their waits: the same deadlock seen twice has the same
   * waits; a new one has at least one new wait. Order-independent. */
  uint64_t signature = 0;
  /* The cycle alone: threads that later block behind it change nothing. */
  uint32_t core = f->core ? f->core : f->nthreads;
  for (uint32_t k = 0; k < core; k++) {
    int i = index_of(r, f->threads[k]);
    uint64_t seq = i >= 0 ? r->threads[i].wait.seq : 0;
    uint64_t h = (f->threads[k] + 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull ^
                 (seq * 0x94d049bb133111ebull);
    signature += h ^ (h >> 31);
  }
  return signature ? signature : 1;
}

/* Two long waits at one site: the same call from the same stack, on behalf
 * of the same owner (or none). A pool of workers stuck in one place is one
 * finding with a count, as leaked threads are. */
static bool same_wait_site(const lw_report_thread *a, const lw_report_thread *b) {
  const lw_report_wait *x = &a->wait, *y = &b->wait;
  if (x->call_id != y->call_id || x->has_owner != y->has_owner ||
      (x->has_owner && x->owner != y->owner) || x->stack.count != y->stack.count)
    return false;
  for (uint32_t i = 0; i < x->stack.count; i++)
    if (x->stack.frames[i].pc != y->stack.frames[i].pc)
      return false;
  return true;
}

int lw_deadlock_long_waits_where(lw_report *r, uint64_t hang_ms,
                                 bool (*keep)(const lw_report_thread *thread)) {
  if (r->nthreads == 0)
    return 0;
  /* leader[i]: the first thread of i's site, or -1 when i is not reported. */
  int32_t *leader = lw_mem_arena_alloc(&r->arena, r->nthreads * sizeof *leader);
  uint32_t *ids = lw_mem_arena_alloc(&r->arena, (r->nthreads + 1) * sizeof *ids);
  if (!leader || !ids)
    return 0;
  for (uint32_t i = 0; i < r->nthreads; i++) {
    const lw_report_thread *t = &r->threads[i];
    leader[i] = -1;
    if (!blocked_in_wait(t, hang_ms) || (keep && !keep(t)))
      continue;
    for (uint32_t j = 0; j < i && leader[i] < 0; j++)
      if (leader[j] == (int32_t)j && same_wait_site(&r->threads[j], t))
        leader[i] = (int32_t)j;
    if (leader[i] < 0)
      leader[i] = (int32_t)i;
  }
  int added = 0;
  for (uint32_t i = 0; i < r->nthreads; i++) {
    if (leader[i] != (int32_t)i)
      continue;
    lw_report_thread *t = &r->threads[i];
    /* The waiters, then the owner they wait for. */
    uint32_t n = 0;
    for (uint32_t k = i; k < r->nthreads; k++)
      if (leader[k] == (int32_t)i)
        ids[n++] = r->threads[k].id;
    uint32_t waiters = n;
    if (t->wait.has_owner && t->wait.owner != t->id)
      ids[n++] = t->wait.owner;
    lw_finding *f = lw_report_add_finding(r, LW_FINDING_LONG_WAIT, NULL, ids, n);
    if (f) {
      f->subject = t;
      f->count = waiters;
      add_wait_event(r, f, t, t->wait.has_owner, t->wait.owner);
      added++;
    }
  }
  return added;
}

uint64_t lw_deadlock_long_wait_key(const lw_report_thread *t) {
  return ((uint64_t)t->id << 40) ^ t->wait.seq;
}
