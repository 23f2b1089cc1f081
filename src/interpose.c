/*
 * interpose.c - finding glibc's definitions of the wrapped functions, and
 * the start-up state machine every wrapper goes through.
 *
 * Start-up can begin in any wrapper (another library's constructor may lock
 * a mutex before ours runs). One thread wins the NONE -> RUNNING transition
 * and resolves every symbol with dlsym/dlvsym; dlsym may allocate, and the
 * allocator may lock a mutex: on that thread (lw_init_resolving_here) the
 * lock wrappers pretend to succeed, which is sound because a program cannot
 * have started a second thread before pthread_create is resolved. Other
 * threads wait for the winner.
 */
#define _GNU_SOURCE
#include "interpose.h"

#include <dlfcn.h>
#include <sched.h>
#include <string.h>

#include "lifecycle.h"

/* Until resolved, the lock functions point here: during start-up only the
 * resolving thread runs, and its locks (the allocator's, inside dlsym)
 * succeed trivially. Having a function to call, rather than a NULL to test,
 * keeps the test off every lock and unlock. */
static int bootstrap_lock_ok(void *lock) {
  (void)lock;
  return 0;
}

struct lw_real_table lw_real = {
    .pthread_mutex_lock = (int (*)(pthread_mutex_t *))bootstrap_lock_ok,
    .pthread_mutex_trylock = (int (*)(pthread_mutex_t *))bootstrap_lock_ok,
    .pthread_mutex_unlock = (int (*)(pthread_mutex_t *))bootstrap_lock_ok,
    .pthread_rwlock_rdlock = (int (*)(pthread_rwlock_t *))bootstrap_lock_ok,
    .pthread_rwlock_wrlock = (int (*)(pthread_rwlock_t *))bootstrap_lock_ok,
    .pthread_rwlock_tryrdlock = (int (*)(pthread_rwlock_t *))bootstrap_lock_ok,
    .pthread_rwlock_trywrlock = (int (*)(pthread_rwlock_t *))bootstrap_lock_ok,
    .pthread_rwlock_unlock = (int (*)(pthread_rwlock_t *))bootstrap_lock_ok,
};
_Atomic int lw_init_state = LW_INIT_NONE;
LW_TLS bool lw_init_resolving_here;

static void *resolve_one(const char *name, const char *version) {
  /* The compat_ entries are glibc's old versions of the same symbol. */
  if (strncmp(name, "compat_", 7) == 0)
    name += 7;
  return version ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
}

#define LW_RESOLVE(ret, name, params, version)                                                     \
  *(void **)&lw_real.name = resolve_one(#name, version);

static bool resolve_all(void) {
  LW_REAL_FUNCTIONS(LW_RESOLVE)
  /* Without these the shim cannot even forward: stay out of the way. */
  return lw_real.pthread_mutex_lock && lw_real.pthread_mutex_unlock &&
         lw_real.pthread_mutex_trylock && lw_real.pthread_rwlock_unlock && lw_real.pthread_create &&
         lw_real.pthread_join && lw_real.pthread_cond_wait && lw_real.pthread_detach &&
         lw_real.pthread_exit;
}

bool lw_init_ensure(void) {
  int state = atomic_load_explicit(&lw_init_state, memory_order_acquire);
  if (LW_LIKELY(state == LW_INIT_READY))
    return true;
  if (state == LW_INIT_DISABLED || lw_init_resolving_here)
    return false;
  int expected = LW_INIT_NONE;
  if (atomic_compare_exchange_strong(&lw_init_state, &expected, LW_INIT_RUNNING)) {
    lw_init_resolving_here = true;
    bool ok = resolve_all() && lw_lifecycle_start();
    lw_init_resolving_here = false;
    atomic_store_explicit(&lw_init_state, ok ? LW_INIT_READY : LW_INIT_DISABLED,
                          memory_order_release);
    return ok;
  }
  while ((state = atomic_load_explicit(&lw_init_state, memory_order_acquire)) == LW_INIT_RUNNING)
    sched_yield();
  return state == LW_INIT_READY;
}
