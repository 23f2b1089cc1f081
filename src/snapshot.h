/*
 * snapshot.h - the first step of a report: a copy of the live registry
 * (threads, waits, held locks, raw stacks) in an lw_report, then, only for
 * reports that will be shown, its stacks resolved to functions and lines.
 */
#ifndef LW_SNAPSHOT_H
#define LW_SNAPSHOT_H

#include "registry.h"
#include "report.h"

/* Copy the live state into `report` (snapshot.c). `reporter` is the thread
 * making the report (excluded from leaks), NULL for a helper thread. */
void lw_snapshot_take(lw_report *report, const char *trigger, lw_thread *reporter);

/* Resolve every stack of the snapshot to functions and lines, and the start
 * routines to names. Costly (libdw): only for reports that will be shown. */
void lw_snapshot_symbolize(lw_report *report);

/* The name of the function at `address` (start routines). */
const char *lw_snapshot_function_name(lw_report *report, uintptr_t address);

/* Where `object` lives, for a reader: its data symbol ("queue_lock",
 * "accounts+48"), "on T0's stack, in main", or "heap"; NULL for NULL. After
 * lw_snapshot_symbolize (it uses the snapshot's stacks); arena memory. */
const char *lw_snapshot_object_name(lw_report *report, const void *object);

/* Symbolized frames for return addresses, in the report's memory. */
lw_frames lw_snapshot_frames(lw_report *report, const uintptr_t *pcs, uint32_t depth);

#endif
