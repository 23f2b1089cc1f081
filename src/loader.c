/*
 * loader.c - the loader gate (see loader.h).
 */
#define _GNU_SOURCE
#include "loader.h"

#include "interpose.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>

static _Atomic uint32_t users, closed;
/* This thread's own entries: a fork from a signal handler that interrupted
 * one of its walks must not wait for itself. */
static LW_TLS uint32_t own_entries;

void lw_loader_leave(void) {
  own_entries--;
  atomic_fetch_sub(&users, 1);
  if (atomic_load(&closed)) /* a fork waits for the count to drop */
    lw_futex_wake(&users, INT_MAX);
}

bool lw_loader_enter(bool wait) {
  /* A thread already inside never waits, not even by stepping out and back
   * in: the fork waits for its walks to end, so it must go on to where it
   * leaves (libunwind re-enters through dl_iterate_phdr from inside a
   * capture). Counted as a user, so the fork keeps waiting for it. */
  if (own_entries > 0) {
    own_entries++;
    atomic_fetch_add(&users, 1);
    return true;
  }
  for (;;) {
    if (atomic_load(&closed)) {
      if (!wait)
        return false;
      lw_futex_wait(&closed, 1, NULL);
      continue;
    }
    own_entries++;
    atomic_fetch_add(&users, 1);
    if (!atomic_load(&closed))
      return true;
    lw_loader_leave(); /* closed meanwhile: let the fork go first */
  }
}

typedef int (*phdr_callback)(struct dl_phdr_info *, size_t, void *);

int lw_loader_iterate(phdr_callback callback, void *data) {
  lw_loader_enter(true);
  int rc = lw_real.dl_iterate_phdr(callback, data);
  lw_loader_leave();
  return rc;
}

/* The program's own walks, libunwind's and the C++ runtime's pass the gate
 * as well: a child forked while any of them held the loader's lock would
 * hang in its exit report, where its own code might never have needed it.
 * A walk only waits while a fork is under way, for that fork. */
LW_EXPORT int dl_iterate_phdr(phdr_callback callback, void *data) {
  return lw_loader_iterate(callback, data);
}

void lw_loader_fork_prepare(void) {
  atomic_store(&closed, 1);
  for (uint32_t inside; (inside = atomic_load(&users)) != own_entries;)
    lw_futex_wait(&users, inside, NULL);
}

void lw_loader_fork_parent(void) {
  atomic_store(&closed, 0);
  lw_futex_wake(&closed, INT_MAX);
}

void lw_loader_fork_child(void) {
  atomic_store(&users, own_entries); /* the walks this thread will finish */
  atomic_store(&closed, 0);
}

void *lw_loader_open(const char *name, const char *missing) {
  lw_loader_enter(true);
  void *library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  lw_loader_leave();
  if (!library)
    lw_warn("cannot open %s (not installed, or after chroot?): %s", name, missing);
  return library;
}
