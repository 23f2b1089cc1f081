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

/* At exit: wait up to exit_grace_ms for running threads, then report.
 * `pending_locked` first reports what a detector has queued and the helper
 * had no time for (lock-order cycles), under the report lock. Returns the
 * number of findings that count (not suppressed). */
int lw_reporting_at_exit(lw_thread *reporter, void (*pending_locked)(void));

/* The live report as text to fd (leakwatch_report). Returns findings. */
int lw_reporting_live(int fd, const char *trigger, lw_thread *reporter);

/* leakwatch_verify_none (mark_thread 0, mark_serial 0) and
 * leakwatch_verify_since: retry with back-off until no thread in scope is
 * alive or unjoined, or timeout_ms passes; then report those that are
 * (trigger "verify") and return their number. With `text`, the report's
 * text goes there instead of to the outputs (the _text calls). Threads a
 * verify call reports are not counted again, by later verify calls or at
 * exit. */
int lw_reporting_verify(lw_thread *reporter, uint32_t mark_thread, uint32_t mark_serial,
                        unsigned timeout_ms, lw_buf *text);

/* Write a finished report to the configured outputs. */
void lw_reporting_emit(lw_report *report);

/* One report at a time: the watcher takes this around its own. */
void lw_reporting_lock(void);
void lw_reporting_unlock(void);

/* Keep the findings of a live report (deadlock, long_wait, abandoned_lock,
 * misuse, lock-order) for the exit report, with the threads they name.
 * Report lock held. */
void lw_reporting_remember(lw_report *report);

/* `t`, on its own thread, is ending while it holds locks: abandoned_lock,
 * once per place the lock was taken. */
void lw_reporting_abandoned(lw_thread *t);

/* One event of an event finding's evidence as its detector has it: raw
 * return addresses, symbolized when the finding is reported (the fields
 * are those of lw_report_event). */
typedef struct lw_reporting_evidence {
  enum lw_event_role role;
  uint32_t thread; /* LW_REPORT_NO_THREAD if none */
  const char *call;
  const void *object;
  const char *object_kind;
  uint32_t edge;
  const char *label;
  const uintptr_t *pcs;
  uint32_t depth;
} lw_reporting_evidence;

/* An event finding (lock_order_inversion, misuse): report it now as text,
 * keep it for the exit report. It names `thread_ids`; `evidence` is its
 * events in order. */
void lw_reporting_event(lw_finding_kind kind, const char *message, const uint32_t *thread_ids,
                        uint32_t nthreads, const lw_reporting_evidence *evidence,
                        uint32_t nevidence);

/* The same, with the report lock already held. */
void lw_reporting_event_locked(lw_finding_kind kind, const char *message,
                               const uint32_t *thread_ids, uint32_t nthreads,
                               const lw_reporting_evidence *evidence, uint32_t nevidence);

/* A dump (dump_signal): the live state, written to the dump directory. */
void lw_reporting_dump(void);

/* Live findings that are not about the present moment, added to exit and
 * dump reports (reporting.c). */
void lw_reporting_add_remembered(lw_report *report);

void lw_reporting_fork_prepare(void);
void lw_reporting_fork_parent(void);
void lw_reporting_fork_child(void);

#endif
