/*
 * interpose.c - finding glibc's definitions of the wrapped functions, and
 * the start-up state machine every wrapper goes through.
 *
 * Two steps, each done once, by whichever thread needs it first:
 *  - resolution fills lw_real from the GNU hash tables of the objects
 *    loaded after the shim (elfsym.c), asking dlsym/dlvsym only for what
 *    those cannot answer for certain. Any call through lw_real can start
 *    it: every entry begins at a stub (below) that resolves and then calls
 *    the real function, so there is no entry to test for NULL and no call
 *    that can come too early;
 *  - start-up (lw_init_ensure) builds the shim's state. Until it is done,
 *    and on the thread doing it, wrappers only forward.
 *
 * elfsym takes no lock and allocates nothing. dlsym, when it is asked, may
 * allocate (on a failed look-up), and a program's allocator may lock a
 * mutex, which lands in a wrapper on the resolving thread while the table
 * is half filled. The mutex and rwlock functions come first in the table,
 * so they are usually resolved by then; if not, that thread's lock calls
 * succeed without glibc. That is sound only because no second thread can
 * exist yet: pthread_create is itself a wrapper whose real function needs
 * the table. Every other entry reached there is looked up on its own (dlsym
 * is re-entrant on one thread: the loader's lock is recursive).
 */
#define _GNU_SOURCE
#include "interpose.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "elfsym.h"
#include "lifecycle.h"

/* ---- the stubs: one per entry, of the entry's own type ---- */

#define LW_REAL_STUB(ret, name, params, args, version)                                             \
  static ret stub_##name params { return ((ret(*) params)lw_real_resolve(LW_REAL_##name))args; }
LW_REAL_FUNCTIONS(LW_REAL_STUB)

#define LW_REAL_STUB_ENTRY(ret, name, params, args, version) .name = stub_##name,
struct lw_real_table lw_real = {LW_REAL_FUNCTIONS(LW_REAL_STUB_ENTRY)};

#define LW_REAL_STUB_ADDRESS(ret, name, params, args, version) (void *)stub_##name,
static void *const real_stubs[LW_REAL_COUNT] = {LW_REAL_FUNCTIONS(LW_REAL_STUB_ADDRESS)};

/* ---- resolution ---- */

#define LW_REAL_SYMBOL(ret, name, params, args, version) {#name, version},
static const struct {
  const char *name, *version;
} real_symbols[LW_REAL_COUNT] = {LW_REAL_FUNCTIONS(LW_REAL_SYMBOL)};

/* lw_real as the array of function pointers it is laid out as. */
static void *_Atomic *real_slots(void) { return (void *_Atomic *)(void *)&lw_real; }
_Static_assert(sizeof(struct lw_real_table) == LW_REAL_COUNT * sizeof(void *),
               "lw_real is one pointer per table entry");

enum { RESOLVE_NONE, RESOLVE_RUNNING, RESOLVE_DONE };
static _Atomic int resolve_state = RESOLVE_NONE;
static LW_TLS bool resolving_here;

/* `scope`: the objects after the shim, read once; NULL to ask dlsym. */
static void *look_up(enum lw_real_index index, const lw_elfsym_scope *scope) {
  const char *name = real_symbols[index].name;
  const char *version = real_symbols[index].version;
  if (strncmp(name, "compat_", 7) == 0)
    name += 7;
  void *found = scope ? lw_elfsym_find(scope, name, version) : NULL;
  if (found)
    return found;
  return version ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
}

/* What the resolving thread's allocator may lock while dlsym runs. */
static bool lock_call_of_the_resolver(enum lw_real_index index) {
  switch (index) {
  case LW_REAL_pthread_mutex_lock:
  case LW_REAL_pthread_mutex_trylock:
  case LW_REAL_pthread_mutex_unlock:
  case LW_REAL_pthread_rwlock_rdlock:
  case LW_REAL_pthread_rwlock_wrlock:
  case LW_REAL_pthread_rwlock_tryrdlock:
  case LW_REAL_pthread_rwlock_trywrlock:
  case LW_REAL_pthread_rwlock_unlock:
    return true;
  default:
    return false;
  }
}

static int resolver_lock_succeeds(void *lock) {
  (void)lock;
  return 0;
}

void *lw_real_resolve(enum lw_real_index index) {
  void *_Atomic *slots = real_slots();
  int state = atomic_load_explicit(&resolve_state, memory_order_acquire);
  if (LW_LIKELY(state == RESOLVE_DONE))
    return atomic_load_explicit(&slots[index], memory_order_relaxed);
  if (resolving_here) {
    /* Called from inside dlsym on this very thread: an entry the loop
     * has filled already is real; for the rest, see the file comment. */
    void *slot = atomic_load_explicit(&slots[index], memory_order_relaxed);
    if (slot != real_stubs[index])
      return slot;
    if (lock_call_of_the_resolver(index))
      return (void *)resolver_lock_succeeds;
    return look_up(index, NULL);
  }
  int expected = RESOLVE_NONE;
  if (atomic_compare_exchange_strong(&resolve_state, &expected, RESOLVE_RUNNING)) {
    int saved_errno = errno; /* the program's, whatever dlsym does */
    resolving_here = true;
    lw_elfsym_scope scope;
    bool readable = lw_elfsym_scope_after(&scope, (const void *)lw_real_resolve);
    for (int i = 0; i < LW_REAL_COUNT; i++) {
      /* NULL for a symbol this glibc lacks: a program cannot call it, and
       * a stub left in place would call itself. */
      atomic_store_explicit(&slots[i], look_up((enum lw_real_index)i, readable ? &scope : NULL),
                            memory_order_relaxed);
    }
    resolving_here = false;
    atomic_store_explicit(&resolve_state, RESOLVE_DONE, memory_order_release);
    errno = saved_errno;
  } else {
    while (atomic_load_explicit(&resolve_state, memory_order_acquire) != RESOLVE_DONE)
      sched_yield();
  }
  return atomic_load_explicit(&slots[index], memory_order_relaxed);
}

/* ---- start-up ---- */

_Atomic int lw_init_state = LW_INIT_NONE;
static LW_TLS bool starting_here;

/* Without these the shim cannot even forward what it tracks: it stays out
 * of the way. */
static bool essentials_resolved(void) {
  static const enum lw_real_index essentials[] = {
      LW_REAL_pthread_mutex_lock,    LW_REAL_pthread_mutex_unlock, LW_REAL_pthread_mutex_trylock,
      LW_REAL_pthread_rwlock_unlock, LW_REAL_pthread_create,       LW_REAL_pthread_join,
      LW_REAL_pthread_cond_wait,     LW_REAL_pthread_detach,       LW_REAL_pthread_exit};
  lw_real_resolve(LW_REAL_pthread_mutex_lock);
  for (size_t i = 0; i < LW_ARRAY_SIZE(essentials); i++)
    if (atomic_load_explicit(&real_slots()[essentials[i]], memory_order_relaxed) == NULL)
      return false;
  return true;
}

static bool init_slow(void) {
  int state = atomic_load_explicit(&lw_init_state, memory_order_acquire);
  if (state == LW_INIT_DISABLED || starting_here || resolving_here)
    return state == LW_INIT_READY;
  int expected = LW_INIT_NONE;
  if (atomic_compare_exchange_strong(&lw_init_state, &expected, LW_INIT_RUNNING)) {
    starting_here = true;
    bool ok = essentials_resolved() && lw_lifecycle_start();
    starting_here = false;
    atomic_store_explicit(&lw_init_state, ok ? LW_INIT_READY : LW_INIT_DISABLED,
                          memory_order_release);
    return ok;
  }
  while ((state = atomic_load_explicit(&lw_init_state, memory_order_acquire)) == LW_INIT_RUNNING)
    sched_yield();
  return state == LW_INIT_READY;
}

bool lw_init_ensure(void) {
  if (LW_LIKELY(atomic_load_explicit(&lw_init_state, memory_order_acquire) == LW_INIT_READY))
    return true;
  /* Start-up runs inside whatever call came first: that call's errno is
   * the program's, not what dlsym, open or read left. */
  int saved_errno = errno;
  bool ready = init_slow();
  errno = saved_errno;
  return ready;
}
