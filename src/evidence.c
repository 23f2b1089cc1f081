/*
 * evidence.c - the signaller table and the table of call sites (see
 * evidence.h), and the wrappers that fill them: pthread_cond_signal/
 * broadcast (both symbol versions), cnd_signal, cnd_broadcast, sem_post.
 * libstdc++'s std::condition_variable::notify_one/notify_all call
 * pthread_cond_signal/broadcast through libstdc++'s PLT (as tail calls: the
 * return address is the program's), so they land here too. A signal or
 * broadcast also tells misuse.c which waiters it woke (before the real
 * call: a destroy that follows it in the same thread must see them woken).
 */
#define _GNU_SOURCE
#include "evidence.h"

#include <string.h>

#include "misuse.h"
#include "options.h"
#include "stack.h"
#include "wait.h"

LW_COLD lw_evidence_slot lw_evidence_table[LW_EVIDENCE_SLOTS];

#define LW_EVIDENCE_CALL_NAME(name) #name,
static const char *const call_names[] = {NULL, LW_EVIDENCE_CALLS(LW_EVIDENCE_CALL_NAME)};

/* ---- call sites: one stack per return address, captured once ---- */

#define LW_EVIDENCE_SITES 256 /* power of two */
#define LW_EVIDENCE_PROBES 8  /* a site not within this many slots of its hash gets no stack */

/* The keys apart from the stacks: a probe reads one word of a small,
 * read-mostly array. */
LW_COLD static _Atomic uintptr_t site_pcs[LW_EVIDENCE_SITES]; /* return addresses; 0: free */
static struct {
  _Atomic uint32_t depth; /* 0 while the stack is captured, then its depth + 1 */
  uintptr_t pcs[LW_EVIDENCE_STACK_MAX];
} site_stacks[LW_EVIDENCE_SITES] LW_COLD;

static LW_ALWAYS_INLINE unsigned site_index(uintptr_t pc, unsigned probe) {
  return (unsigned)(((pc * 0x9e3779b97f4a7c15ull) >> 40) + probe) & (LW_EVIDENCE_SITES - 1);
}

/* True when `pc` is known: the steady state, a load and a compare (a site
 * past the first probe goes the slow way, and is found there). */
static LW_ALWAYS_INLINE bool site_known(uintptr_t pc) {
  return atomic_load_explicit(&site_pcs[site_index(pc, 0)], memory_order_relaxed) == pc;
}

/*
 * A wake-up from `pc` not found at its first probe: if the site is new,
 * claim an entry and capture the stack, inside the shim's scope (libunwind
 * may lock, read and write: wrappers pass through, errno and the
 * cancellation state are the program's again after). Only a tracked
 * thread outside the shim captures: a wrapper called from inside the shim
 * (libunwind, a report) must not unwind again. Out of line: the steady
 * state never comes here.
 */
static LW_NOINLINE void site_seen(uintptr_t pc) {
  if (!pc)
    return;
  for (unsigned probe = 0; probe < LW_EVIDENCE_PROBES; probe++) {
    unsigned i = site_index(pc, probe);
    uintptr_t held = atomic_load_explicit(&site_pcs[i], memory_order_acquire);
    if (held == pc)
      return;
    if (held != 0)
      continue;
    if (!lw_self_tracked())
      return; /* an untracked thread, or inside the shim: no capture */
    if (!atomic_compare_exchange_strong(&site_pcs[i], &held, pc)) {
      if (held == pc)
        return; /* another thread claimed it for this site meanwhile */
      continue;
    }
    lw_thread *inside = lw_shim_enter();
    uint32_t max = (uint32_t)lw_opt.stack_depth;
    uint32_t depth = lw_stack_capture_here(
        site_stacks[i].pcs, max < LW_EVIDENCE_STACK_MAX ? max : LW_EVIDENCE_STACK_MAX);
    lw_shim_leave(inside);
    atomic_store_explicit(&site_stacks[i].depth, depth + 1, memory_order_release);
    return;
  }
}

/* The stack captured for `pc` into `out`; the site alone if there is none
 * (yet), or if what was captured does not start there. */
static void site_stack(uintptr_t pc, lw_evidence_wake *out) {
  out->depth = 0;
  if (!pc)
    return;
  for (unsigned probe = 0; probe < LW_EVIDENCE_PROBES; probe++) {
    unsigned i = site_index(pc, probe);
    uintptr_t held = atomic_load_explicit(&site_pcs[i], memory_order_acquire);
    if (held == 0)
      break;
    if (held != pc)
      continue;
    uint32_t depth = atomic_load_explicit(&site_stacks[i].depth, memory_order_acquire);
    if (depth > 1 && site_stacks[i].pcs[0] == pc) {
      out->depth = depth - 1;
      memcpy(out->pcs, site_stacks[i].pcs, out->depth * sizeof *out->pcs);
      return;
    }
    break;
  }
  out->pcs[0] = pc;
  out->depth = 1;
}

/* ---- the table of objects ---- */

enum lw_evidence lw_evidence_lookup_wake(const void *object, lw_evidence_wake *out) {
  lw_evidence_slot *slot = lw_evidence_slot_of(object);
  out->thread_id = LW_NO_THREAD;
  out->call = NULL;
  out->waiters = out->count = out->depth = 0;
  const void *seen = atomic_load_explicit(&slot->object, memory_order_acquire);
  if (seen != object)
    return seen == NULL ? LW_EVIDENCE_NEVER : LW_EVIDENCE_UNKNOWN;
  uint64_t who = atomic_load_explicit(&slot->who, memory_order_relaxed);
  uint32_t how = atomic_load_explicit(&slot->how, memory_order_relaxed);
  uintptr_t site = atomic_load_explicit(&slot->site, memory_order_relaxed);
  out->thread_id = (uint32_t)who;
  out->count = (uint32_t)(who >> 32);
  out->waiters = how >> 4;
  uint32_t call = how & 15;
  if (out->thread_id == LW_NO_THREAD)
    return LW_EVIDENCE_UNKNOWN;
  if (call < LW_ARRAY_SIZE(call_names) && call_names[call]) {
    out->call = call_names[call];
    site_stack(site, out);
  }
  return LW_EVIDENCE_LAST;
}

enum lw_evidence lw_evidence_lookup(const void *object, uint32_t *thread_id) {
  lw_evidence_wake wake;
  enum lw_evidence evidence = lw_evidence_lookup_wake(object, &wake);
  *thread_id = wake.thread_id;
  return evidence;
}

/* ---- the wrappers ---- */

/* A call site the object's slot did not hold: a probe of the sites, and
 * perhaps a capture. Out of line. */
static LW_NOINLINE void site_check(uintptr_t site) {
  if (!site_known(site))
    site_seen(site);
}

/* Threads inside a wait on `cond`, as glibc counts them (2.25+: __wrefs
 * holds the waiter references above its 3 flag bits). Woken waiters not
 * yet out count too. The cache line the real call reads next. */
static LW_ALWAYS_INLINE uint32_t cond_waiters(const pthread_cond_t *cond) {
  return __atomic_load_n(&cond->__data.__wrefs, __ATOMIC_RELAXED) >> 3;
}

/* The pre-2.3.2 condition variable is a pointer to the real one, made on
 * its first use. */
static LW_ALWAYS_INLINE uint32_t compat_cond_waiters(const pthread_cond_t *cond) {
  const pthread_cond_t *inner =
      __atomic_load_n((const pthread_cond_t *const *)(const void *)cond, __ATOMIC_RELAXED);
  return inner ? cond_waiters(inner) : 0;
}

/* A signal (`all` false) or broadcast of `cond` with `waiters` waiting,
 * from `site` (the wrapper's return address). An untracked thread notes
 * LW_NO_THREAD: "signalled by someone". The steady state: the slot's
 * stores, and a compare of the site with the one the slot held. With no
 * waiter (glibc's own test: its call returns at once) the signal wakes
 * nobody, and misuse.c need not hear of it. */
static LW_ALWAYS_INLINE void wake(const void *cond, enum lw_evidence_call call, uint32_t waiters,
                                  bool all, uintptr_t site) {
  bool new_site =
      lw_evidence_fill(lw_evidence_slot_of(cond), cond, lw_self->id, call, waiters, site);
  if (LW_UNLIKELY(new_site))
    site_check(site);
  if (waiters)
    lw_misuse_cond_woken(cond, all);
}

/* sem_t's 64-bit word: the value below, the waiters above bit 32. */
static LW_ALWAYS_INLINE uint32_t sem_waiters(const sem_t *sem) {
  return (uint32_t)(__atomic_load_n((const uint64_t *)(const void *)sem, __ATOMIC_RELAXED) >> 32);
}

LW_EXPORT int lw_pthread_cond_signal(pthread_cond_t *cond) {
  wake(cond, LW_EVIDENCE_CALL_pthread_cond_signal, cond_waiters(cond), false, LW_CALLER_PC());
  return lw_real.pthread_cond_signal(cond);
}
__asm__(".symver lw_pthread_cond_signal, pthread_cond_signal@@GLIBC_2.3.2");

LW_EXPORT int lw_pthread_cond_broadcast(pthread_cond_t *cond) {
  wake(cond, LW_EVIDENCE_CALL_pthread_cond_broadcast, cond_waiters(cond), true, LW_CALLER_PC());
  return lw_real.pthread_cond_broadcast(cond);
}
__asm__(".symver lw_pthread_cond_broadcast, pthread_cond_broadcast@@GLIBC_2.3.2");

LW_EXPORT int lw_compat_pthread_cond_signal(pthread_cond_t *cond) {
  wake(cond, LW_EVIDENCE_CALL_pthread_cond_signal, compat_cond_waiters(cond), false,
       LW_CALLER_PC());
  return lw_real.compat_pthread_cond_signal(cond);
}
__asm__(".symver lw_compat_pthread_cond_signal, pthread_cond_signal@GLIBC_2.2.5");

LW_EXPORT int lw_compat_pthread_cond_broadcast(pthread_cond_t *cond) {
  wake(cond, LW_EVIDENCE_CALL_pthread_cond_broadcast, compat_cond_waiters(cond), true,
       LW_CALLER_PC());
  return lw_real.compat_pthread_cond_broadcast(cond);
}
__asm__(".symver lw_compat_pthread_cond_broadcast, pthread_cond_broadcast@GLIBC_2.2.5");

/* cnd_t is glibc's pthread_cond_t. */
LW_EXPORT int cnd_signal(cnd_t *cond) {
  wake(cond, LW_EVIDENCE_CALL_cnd_signal, cond_waiters((const pthread_cond_t *)(void *)cond), false,
       LW_CALLER_PC());
  return lw_real.cnd_signal(cond);
}

LW_EXPORT int cnd_broadcast(cnd_t *cond) {
  wake(cond, LW_EVIDENCE_CALL_cnd_broadcast, cond_waiters((const pthread_cond_t *)(void *)cond),
       true, LW_CALLER_PC());
  return lw_real.cnd_broadcast(cond);
}

/*
 * sem_post is async-signal-safe: a handler may call it, and unwinding in a
 * handler that interrupted the loader deadlocks (PITFALLS 8). So a post
 * keeps its call site alone, never a stack; and, a hot path, no count.
 */
LW_EXPORT int sem_post(sem_t *sem) {
  lw_evidence_fill_uncounted(lw_evidence_slot_of(sem), sem, lw_self->id, LW_EVIDENCE_CALL_sem_post,
                             sem_waiters(sem), LW_CALLER_PC());
  return lw_real.sem_post(sem);
}
