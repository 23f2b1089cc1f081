/*
 * loader.h - the loader gate: walks of the loaded modules, and fork.
 *
 * dl_iterate_phdr holds a lock of the dynamic loader that fork does not
 * reset: a child forked while any thread was inside it inherits the lock
 * taken, and the child's exit report (libunwind walks the modules too)
 * would hang. So every walk passes this gate: the shim's libunwind calls,
 * its own dl_iterate_phdr calls, and everyone else's, as the shim exports
 * dl_iterate_phdr. fork closes the gate once it holds the shim's locks and
 * waits for it to empty (but for the forking thread's own walks, which a
 * signal handler that forks may have interrupted). A thread already inside
 * passes again without looking (libunwind walks from inside a capture):
 * the fork waits for it, so it must never wait for the fork. Nothing
 * inside the gate may take a shim lock.
 */
#ifndef LW_LOADER_H
#define LW_LOADER_H

#include <stddef.h>

#include "common.h"

/* Enter before walking the modules; false (and not entered) when a fork is
 * under way and `wait` is false: a signal handler must not wait, it may
 * have interrupted the forking thread itself. */
bool lw_loader_enter(bool wait);
void lw_loader_leave(void);

/* glibc's dl_iterate_phdr inside the gate (the exported dl_iterate_phdr
 * is this too). */
struct dl_phdr_info;
int lw_loader_iterate(int (*callback)(struct dl_phdr_info *, size_t, void *), void *data);

/* dlopen(name, RTLD_NOW | RTLD_LOCAL) inside the gate (a fork waits for
 * it); when it fails, a warning that says why the report lacks `missing`
 * (the library is not installed, or the process left the file system it
 * started in). */
void *lw_loader_open(const char *name, const char *missing);

/* fork: close the gate and wait for every walk to leave (the last of the
 * prepare handlers); open it again after. */
void lw_loader_fork_prepare(void);
void lw_loader_fork_parent(void);
void lw_loader_fork_child(void);

#endif
