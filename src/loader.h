/*
 * loader.h - the loader gate: the shim's walks of the loaded modules, and
 * fork.
 *
 * libunwind finds unwind tables with dl_iterate_phdr, which holds a lock of
 * the dynamic loader that fork does not reset: a child forked while one of
 * the shim's stack walks held it, in any thread, would hang in its own exit
 * report. So every libunwind call and every dl_iterate_phdr of the shim
 * passes this gate, which fork closes once it holds the shim's locks, and
 * waits empty (but for the forking thread's own walks, which a signal
 * handler that forks may have interrupted). Nothing inside the gate may
 * take a shim lock.
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

/* dl_iterate_phdr inside the gate: the only way the shim calls it. */
struct dl_phdr_info;
int lw_loader_iterate(int (*callback)(struct dl_phdr_info *, size_t, void *), void *data);

/* fork: close the gate and wait for every walk to leave (the last of the
 * prepare handlers); open it again after. */
void lw_loader_fork_prepare(void);
void lw_loader_fork_parent(void);
void lw_loader_fork_child(void);

#endif
