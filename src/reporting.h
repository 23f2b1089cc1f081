/*
 * reporting.h - making a report from the live process and sending it where
 * the options say: text to log_path (or stderr), JSON to json_path.
 *
 * One report at a time (the report lock); every report pins the registry
 * while it reads it.
 */
#ifndef LW_REPORTING_H
#define LW_REPORTING_H

#include "registry.h"
#include "report.h"

/* Copy the live state into `report` (snapshot.c). `reporter` is the thread
 * making the report (excluded from leaks), NULL for a helper thread. */
void lw_snapshot_take(lw_report *report, const char *trigger, lw_thread *reporter);

/* Resolve every stack of the snapshot to functions and lines, and the start
 * routines to names. Costly (libdw): only for reports that will be shown. */
void lw_snapshot_symbolize(lw_report *report);

/* Findings (analysis.c): thread_leak and unjoined_thread for every thread
 * for which counts() says yes; `when` ends the message ("at exit"). */
void lw_analysis_leaks(lw_report *report, bool (*counts)(const lw_report_thread *, void *),
                       void *context);
void lw_analysis_exit(lw_report *report);

/* After symbolizing: the one-line message of every finding. */
void lw_analysis_messages(lw_report *report);

/* At exit: wait up to exit_grace_ms for running threads, then report.
 * Returns the number of findings that count (not suppressed). */
int lw_report_at_exit(lw_thread *reporter);

/* The live report as text to fd (leakwatch_report). Returns findings. */
int lw_report_live(int fd, const char *trigger, lw_thread *reporter);

/* leakwatch_verify_none (mark_thread 0, mark_serial 0) and
 * leakwatch_verify_since: retry with back-off until no thread in scope is
 * alive or unjoined, or timeout_ms passes; then report those that are
 * (trigger "verify") and return their number. With `text`, the report's
 * text goes there instead of to the outputs (the _text calls). Threads a
 * verify call reports are not counted again, by later verify calls or at
 * exit. */
int lw_report_verify(lw_thread *reporter, uint32_t mark_thread, uint32_t mark_serial,
                     unsigned timeout_ms, lw_buf *text);

/* Write a finished report to the configured outputs. */
void lw_report_emit(lw_report *report);

/* One report at a time: the watcher takes this around its own. */
void lw_report_lock(void);
void lw_report_unlock(void);

/* Keep the findings of a live report (deadlock, long_wait, abandoned_lock,
 * misuse, lock-order) for the exit report, with the threads they name.
 * Report lock held. */
void lw_report_remember(lw_report *report);

/* `t`, on its own thread, is ending while it holds locks: abandoned_lock,
 * once per place the lock was taken. */
void lw_report_abandoned(lw_thread *t);

/* An event finding (lock_order_inversion, misuse): report it now as text,
 * keep it for the exit report. `details` holds its stacks, as text. */
void lw_report_event(const char *kind, const char *message, const char *details,
                     const uint32_t *thread_ids, uint32_t nthreads, const uintptr_t *pcs,
                     uint32_t npcs);

/* The name of the function at `address` (start routines). */
const char *lw_snapshot_function_name(lw_report *report, uintptr_t address);

/* The same, with the report lock already held. */
void lw_report_event_locked(const char *kind, const char *message, const char *details,
                            const uint32_t *thread_ids, uint32_t nthreads, const uintptr_t *pcs,
                            uint32_t npcs);

/* Symbolized frames for return addresses, in the report's memory. */
lw_frames lw_snapshot_frames(lw_report *report, const uintptr_t *pcs, uint32_t depth);

/* A dump (dump_signal): the live state, written to the dump directory. */
void lw_report_dump(void);

/* Live findings that are not about the present moment, added to exit and
 * dump reports (reporting.c). */
void lw_report_add_remembered(lw_report *report);

void lw_report_fork_prepare(void);
void lw_report_fork_parent(void);
void lw_report_fork_child(void);

#endif
