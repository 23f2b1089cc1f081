/*
 * watcher.h - the shim's one helper thread: live deadlock and long-wait
 * detection, and dumps on dump_signal.
 *
 * Dumps of a process that never started a thread are not served: there is
 * no thread to write them but the program's own.
 *
 * It sleeps on a futex and wakes only when there is something to do: a dump
 * was asked for, or a thread has been blocked in an untimed wait long enough
 * to check (deadlock_ms, hang_ms). A process where no thread blocks never
 * wakes it; a process whose threads stay blocked in the same waits wakes it
 * once per new wait, not periodically.
 */
#ifndef LW_WATCHER_H
#define LW_WATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* Start-up: install the dump handler; the helper thread itself starts with
 * the program's first thread or first wait (lw_watch_thread_created). */
void lw_watch_start(void);
void lw_watch_thread_created(void);

/* A program thread ended: when none is left (main called pthread_exit),
 * the helper exits too, so that glibc can end the process. */
void lw_watch_thread_ended(void);

/* Work for the helper (a lock-order cycle to report); async-signal-safe. */
void lw_watch_wake(void);
void lw_watch_fork_child(void);

/* How many threads the shim itself runs (for "all threads are asleep"). */
unsigned lw_watch_internal_threads(void);

/* Deadlock analysis of a snapshot (deadlock.c): adds one finding per cycle
 * among threads blocked untimed for at least min_wait_ms (with the threads
 * stuck behind it), or one "all threads are asleep". Returns how many. */
int lw_analysis_deadlocks(lw_report *report, uint64_t min_wait_ms, bool check_all_asleep);

/* What "all threads are asleep" reads of the process besides the report:
 * this one unless set (leakwatch-inspect: a stopped process, a core). */
typedef struct lw_deadlock_source {
  int (*count_tasks)(void);      /* threads the kernel runs */
  bool (*catches_signals)(void); /* a handler of the program's could wake one */
  bool (*read)(const void *address, void *out, size_t size); /* its memory */
} lw_deadlock_source;
void lw_deadlock_set_source(const lw_deadlock_source *source);

/* Identifies a deadlock finding by its threads and their waits. */
uint64_t lw_deadlock_signature(const lw_report *report, const lw_finding *finding);

/* long_wait findings for threads blocked untimed for at least hang_ms. */
int lw_analysis_long_waits(lw_report *report, uint64_t hang_ms);

#endif
