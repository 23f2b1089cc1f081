/*
 * registry.h - one record per thread of the program: who created it, from
 * where, what it is doing now, which locks it holds.
 *
 * The record is the thread's own: the lock fast path touches only its held
 * list, through the initial-exec TLS pointer lw_self, with no shared state.
 * Everything else (creation, join, detach, end, reports) takes the registry
 * lock, which is the shim's private futex lock, never the program's.
 */
#ifndef LW_REGISTRY_H
#define LW_REGISTRY_H

#include <errno.h>
#include <pthread.h>
#include <sys/types.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "calls.h"
#include "common.h"
#include "report.h" /* LW_HELD_MAX */
#include "uthash_config.h"

#define LW_STACK_MAX 64    /* upper bound of stack_depth */
#define LW_NAME_MAX 16     /* the kernel's comm length, NUL included */
#define LW_ANCESTORS_MAX 8 /* creator, its creator, ...: for leakwatch_verify_since */

/* What kind of lock a held entry is; decides which waits it can block. */
enum lw_lock_kind { LW_LOCK_MUTEX, LW_LOCK_READ, LW_LOCK_WRITE, LW_LOCK_MTX };
extern const char *const lw_lock_kind_calls[4];   /* "pthread_mutex_lock", ... */
extern const char *const lw_lock_kind_objects[4]; /* "mutex", "rwlock", ... */

/* One lock the thread holds, in 16 bytes (two stores on the fast path).
 * `site` is the return address into the program at the locking call, with
 * the kind in its top byte (user addresses use 47 bits). A report finds the
 * rest of the acquisition stack by looking for the function of that call
 * site in the thread's present stack (snapshot.c). */
typedef struct lw_held {
  const void *object;
  uintptr_t site;
} lw_held;

#define LW_SITE_KIND_SHIFT 56
static inline uintptr_t lw_held_site(uintptr_t call_pc, enum lw_lock_kind kind) {
  return call_pc | ((uintptr_t)kind << LW_SITE_KIND_SHIFT);
}
static inline uintptr_t lw_held_pc(const lw_held *held) {
  return held->site & (((uintptr_t)1 << LW_SITE_KIND_SHIFT) - 1);
}
static inline enum lw_lock_kind lw_held_kind(const lw_held *held) {
  return (enum lw_lock_kind)(held->site >> LW_SITE_KIND_SHIFT);
}

/* A captured stack. pc[0] is exact when first_exact, a return address
 * otherwise; sp[] is filled by context unwinds (for acquisition anchors). */
typedef struct lw_stack {
  uint32_t depth;
  uint32_t first_exact;
  uintptr_t pc[LW_STACK_MAX];
  uintptr_t sp[LW_STACK_MAX];
} lw_stack;

/* A thread's creation stack: return addresses only. */
typedef struct lw_create_stack {
  uint32_t depth;
  uintptr_t pc[LW_STACK_MAX];
} lw_create_stack;

enum lw_wait_state { LW_WAIT_IDLE, LW_WAIT_ACTIVE, LW_WAIT_INSPECTING };

/*
 * The wait a thread is blocked in. The waiter writes the fields, then
 * publishes state ACTIVE (release). A reader may only read the fields after
 * moving ACTIVE -> INSPECTING itself (CAS), and gives it back with ACTIVE;
 * the waiter leaves with a CAS ACTIVE -> IDLE, spinning while a reader holds
 * it. So a reader always sees one whole wait, and the waiter's frames stay
 * put while the reader unwinds them from `context`.
 */
typedef struct lw_wait {
  _Atomic uint32_t state;
  uint16_t call;
  uint8_t timed;
  const void *object;
  const void *mutex;  /* the mutex of a condition variable wait */
  uint32_t target_id; /* for joins: the awaited thread */
  uint64_t start_ns;
  uint64_t seq;          /* per-thread count of waits: tells two waits apart */
  unw_context_t context; /* registers inside the wrapper at the wait */
} lw_wait;

enum lw_thread_flag {
  LW_THREAD_MAIN = 1u << 0,    /* the process's main thread (T0) */
  LW_THREAD_STARTED = 1u << 1, /* ran its start routine's first line */
  LW_THREAD_ENDED = 1u << 2,   /* its start routine returned, or it exited */
  LW_THREAD_DETACHED = 1u << 3,
  LW_THREAD_JOINED = 1u << 4,
  LW_THREAD_ADOPTED = 1u << 5, /* created before or outside the shim's sight */
  LW_THREAD_IGNORED = 1u << 6, /* alive at leakwatch_ignore_current() */
  LW_THREAD_CREATED = 1u << 7, /* pthread_create returned to the creator */
  LW_THREAD_C11 = 1u << 8,     /* created by thrd_create */
  /* ended holding locks: judged when joined (registry.c) */
  LW_THREAD_HELD_AT_END = 1u << 9,
};

enum lw_capture_state {
  LW_CAPTURE_NONE,
  LW_CAPTURE_REQUESTED,
  LW_CAPTURE_RUNNING,
  LW_CAPTURE_DONE
};

/* One lock-order edge a thread has sent: holding `from` (and `oldest`, the
 * first lock of its held list), it took `to`. */
typedef struct {
  const void *from, *to, *oldest;
} lw_lockorder_edge;
#define LW_ORDER_SETS 16

typedef struct __attribute__((aligned(LW_CACHELINE))) lw_thread {
  /* --- written on the lock fast path, by the owning thread only ---
   * The locks held, oldest first, are held_slots[1..]; held_slots[0] is a
   * floor whose object no lock matches: LW_HELD_FLOOR_ALONE while the
   * process has had no second thread (only ever on the main thread's
   * record), LW_HELD_FLOOR after. held_top points at the newest entry, or
   * at the floor. So a lock pushes above the top and an unlock compares
   * with it, with no count to keep and no bound to test: the floor turns an
   * unlock away, and a lock only checks for room on its nested path, and
   * reads which way to lock from the floor (intercept_mutex.c). Read them
   * with lw_held_list/lw_held_listed. */
  lw_held *held_top;
  lw_held held_slots[1 + LW_HELD_MAX];

  /* --- the current wait (slow path) --- */
  lw_wait wait;
  /* A condition variable wait's mutex, off the held list while it waits;
   * kept here too so a thread that dies inside the wait (cancellation) can
   * be settled at its end (wait.c). */
  lw_held wait_mutex_entry;
  bool wait_mutex_saved;

  /* --- identity, fixed at creation (under the registry lock) --- */
  uint32_t id;        /* T<id> */
  uint32_t parent_id; /* creator's id; the main thread is its own parent */
  uint32_t nancestors;
  uint32_t ancestors[LW_ANCESTORS_MAX]; /* parent first */
  _Atomic int tid;                      /* kernel tid, 0 until the thread runs */
  pthread_t handle;
  void *(*start_routine)(void *);
  void *start_arg;
  int (*c11_start)(void *);
  uint64_t create_ns;
  uint64_t end_ns;
  _Atomic uint32_t flags; /* enum lw_thread_flag */
  uintptr_t detach_site;  /* where it was detached, for misuse reports */
  char name[LW_NAME_MAX]; /* as set through pthread_setname_np; refreshed at report */
  lw_create_stack create_stack;

  /* --- on-demand stack of a running thread, written by its own signal
   *     handler at report time, or the unwound wait stack --- */
  _Atomic uint32_t capture_state;
  lw_stack now_stack;

  /* --- lock-order edges this thread has already sent (lockorder.c):
   *     16 sets of 2, the newer edge of a set first --- */
  lw_lockorder_edge order_cache[LW_ORDER_SETS][2];
  uint32_t order_generation; /* of the graph, when the cache was last emptied */
  bool history_kept;         /* lw_registry_remember_thread was done */

  /* --- the watcher's bookkeeping: the last wait it checked (watcher.c) --- */
  uint64_t watch_deadlock_seq;
  uint64_t watch_hang_seq;

  /* --- registry links (registry lock) --- */
  struct lw_thread *next, *prev;
  UT_hash_handle by_handle;
} lw_thread;

/* The id of no thread (T<id> ids count up from 0). */
#define LW_NO_THREAD LW_REPORT_NO_THREAD

/* The floor entry's objects (see lw_thread), and the placeholder's top
 * entry's: no lock has these addresses. */
#define LW_HELD_FLOOR ((const void *)UINTPTR_MAX)
#define LW_HELD_FLOOR_ALONE ((const void *)(UINTPTR_MAX - 1))
#define LW_HELD_UNTRACKED ((const void *)(UINTPTR_MAX - 2))

/* An empty held list: the top on the floor. `alone`: the process has one
 * thread, this one. */
static inline void lw_held_init(lw_thread *t, bool alone) {
  t->held_slots[0].object = alone ? LW_HELD_FLOOR_ALONE : LW_HELD_FLOOR;
  t->held_top = &t->held_slots[0];
}

/* True while `t` is the process's only thread, as far as the shim knows:
 * nothing else can contend for its locks (only the floor says so). */
static inline bool lw_held_alone(const lw_thread *t) {
  return __atomic_load_n(&t->held_slots[0].object, __ATOMIC_RELAXED) == LW_HELD_FLOOR_ALONE;
}

/* The locks `t` lists, oldest first. */
static inline lw_held *lw_held_list(lw_thread *t) { return &t->held_slots[1]; }

/* How many it lists (at most LW_HELD_MAX). Other threads may ask: the top
 * moves before the entry it covers is written, so a reader may see a slot a
 * moment before its contents, never a slot outside the list. */
static inline uint32_t lw_held_listed(const lw_thread *t) {
  return (uint32_t)(__atomic_load_n(&t->held_top, __ATOMIC_ACQUIRE) - t->held_slots);
}

/*
 * The calling thread's record, never NULL: a thread the shim does not track
 * at the moment (not met yet, running inside the shim, out of memory)
 * points at the shared placeholder lw_untracked, whose held list looks full
 * and whose top matches no lock. The lock fast paths thus need no test of
 * their own: the placeholder sends them to their slow paths, which ask
 * lw_self_tracked(). The placeholder is const: nothing may write to it. Its
 * id is LW_NO_THREAD, so code that only reads the id needs no test either.
 * While a thread runs inside the shim, lw_self_inside holds its record, so
 * wrappers called from libc, libunwind or libdw pass straight through.
 */
extern const lw_thread lw_untracked __attribute__((visibility("hidden")));
#define LW_UNTRACKED ((lw_thread *)&lw_untracked)
extern LW_TLS lw_thread *lw_self;
extern LW_TLS lw_thread *lw_self_inside;

/* lw_self, or NULL when the thread is not tracked now. */
static LW_ALWAYS_INLINE lw_thread *lw_self_tracked(void) {
  lw_thread *self = lw_self;
  return self != LW_UNTRACKED ? self : NULL;
}

/* The calling thread's record whether it runs inside the shim or not; NULL
 * if it has none. */
static LW_ALWAYS_INLINE lw_thread *lw_self_any(void) {
  lw_thread *self = lw_self_tracked();
  return self ? self : lw_self_inside;
}

/*
 * Enter/leave the shim's own work: anything that may call back into the
 * wrappers (libunwind, libdw, libc), take a shim lock, write a report. The
 * one scope every such piece of work runs in, so that the program cannot
 * tell it ran:
 *  - wrappers called from inside pass straight through (lw_self);
 *  - cancellation is disabled: libunwind validates addresses with read and
 *    write, a report writes files, and a deferred cancel pending on the
 *    thread must not act inside a call that is no cancellation point
 *    (pthread_mutex_lock is none);
 *  - errno is what it was: the program sees glibc's errno, not ours.
 * Nests (the outermost scope does the work), also in a signal handler.
 * Returns the record to give back to lw_shim_leave.
 */
extern LW_TLS uint32_t lw_shim_depth;
extern LW_TLS int lw_shim_saved_errno;
extern LW_TLS int lw_shim_saved_cancel_state;

static LW_ALWAYS_INLINE lw_thread *lw_shim_enter(void) {
  if (lw_shim_depth++ == 0) {
    lw_shim_saved_errno = errno;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &lw_shim_saved_cancel_state);
  }
  lw_thread *self = lw_self_tracked();
  if (self) {
    lw_self_inside = self;
    lw_self = LW_UNTRACKED;
  }
  return self;
}
static LW_ALWAYS_INLINE void lw_shim_leave(lw_thread *self) {
  if (self) {
    lw_self = self;
    lw_self_inside = NULL;
  }
  if (--lw_shim_depth == 0) {
    pthread_setcancelstate(lw_shim_saved_cancel_state, NULL);
    errno = lw_shim_saved_errno;
  }
}

/* The registry lock guards every list and flag change below. */
void lw_registry_lock(void);
void lw_registry_unlock(void);

/* Create the main thread's record (the constructor, once). */
void lw_registry_init(void);

/* A zeroed record with the next T<id>, linked into the registry; the caller
 * fills it. Returns NULL when out of memory (the thread goes untracked). */
lw_thread *lw_registry_new_thread(lw_thread *parent);

/* Give back a record that never became a thread (pthread_create failed). */
void lw_registry_discard(lw_thread *t);

/* Record for a thread the shim meets for the first time in a wrapper. */
lw_thread *lw_registry_adopt_current(void);

/* Index `t` by its pthread_t (idempotent). Registry lock held. */
void lw_registry_index(lw_thread *t);

/* Find by pthread_t; registry lock held. */
lw_thread *lw_registry_find(pthread_t handle);

/* Events; each takes the registry lock itself. */
void lw_registry_thread_ended(lw_thread *t);

/* A round of `t`'s thread-specific-data destructors, on its own thread;
 * `value` is the end key's value, `t` plus the round. Returns the value to
 * set the key to again for one more round, or NULL. See registry.c. */
void *lw_registry_end_round(void *value);
static inline lw_thread *lw_registry_record_of(void *value) {
  return (lw_thread *)((uintptr_t)value & ~(uintptr_t)(LW_CACHELINE - 1));
}
/* Joins and detaches name the record *before* the real call: once glibc
 * has let go of a thread, its pthread_t may at once be another new
 * thread's. The id guards against a record recycled meanwhile. */
typedef struct lw_thread_ref {
  lw_thread *record;
  uint32_t id;
} lw_thread_ref;
lw_thread_ref lw_registry_ref(pthread_t handle);
void lw_registry_thread_joined(lw_thread_ref ref);
/* At exit, before the report: threads that ended holding locks and were
 * never joined have them judged now (abandoned_lock). */
void lw_registry_judge_unjoined(void);
void lw_registry_thread_detached(lw_thread_ref ref);

/* Iteration, registry lock held. */
lw_thread *lw_registry_first(void);
static inline lw_thread *lw_registry_next(lw_thread *t) { return t->next; }

/* A report reading records without the lock pins them: none is freed
 * until the matching unpin. */
void lw_registry_pin(void);
void lw_registry_unpin(void);

/* What a report can say of a thread that has ended and been joined: kept
 * for threads that findings may name later (lock-order edges), in a ring
 * of the most recent LW_HISTORY_MAX. */
#define LW_HISTORY_MAX 1024
typedef struct lw_thread_history {
  uint32_t id, parent_id;
  int tid;
  uintptr_t start_address;
  char name[LW_NAME_MAX];
  lw_create_stack create_stack;
} lw_thread_history;

/* Keep `t`'s identity (once per thread; cheap when already kept). */
void lw_registry_remember_thread(lw_thread *t);

/* Copy what was kept of thread `id` into `out`; false if nothing. */
bool lw_registry_history(uint32_t id, lw_thread_history *out);

/* fork: the history's own lock (taken after the lock-order graph's). */
void lw_registry_history_fork_prepare(void);
void lw_registry_history_fork_parent(void);
void lw_registry_history_fork_child(void);

/* The id the next created thread will get. */
uint32_t lw_registry_next_id(void);

/* True if `t` was created by thread `ancestor_id` or one of its descendants
 * (up to LW_ANCESTORS_MAX generations). */
bool lw_registry_descends_from(const lw_thread *t, uint32_t ancestor_id);

/* The number of records alive in the registry (lock held). */
uint32_t lw_registry_count(void);

/* fork: prepare/parent take and drop the lock; child keeps only `self`,
 * which becomes the child's main thread T0. */
void lw_registry_fork_prepare(void);
void lw_registry_fork_parent(void);
void lw_registry_fork_child(lw_thread *self);

#endif
