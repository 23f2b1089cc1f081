/*
 * signals.h - report_signals: a report when the user gives up on a process
 * (Ctrl-C, kill, a closed terminal), then the death the signal would have
 * brought.
 *
 * For each signal of report_signals the program leaves at its default
 * action, the shim installs a handler. The handler does no report itself
 * when it can avoid it: it hands the work to the watcher's helper thread
 * and waits; the helper writes the report (trigger "signal") and then makes
 * the process die of the same signal (default action, unblocked, raised
 * again: the parent sees WIFSIGNALED, SIGQUIT still dumps core). A process
 * without a helper (one thread) reports from the handler.
 *
 * The program never sees the handler: sigaction, signal, sysv_signal and
 * bsd_signal are interposed, and for a signal the shim handles they answer
 * with the action the program set (SIG_DFL). A program that installs its
 * own handler, or ignores the signal, replaces the shim's; one that sets
 * SIG_DFL again gets the report again.
 */
#ifndef LW_SIGNALS_H
#define LW_SIGNALS_H

#include <stdbool.h>
#include <stdint.h>

#include "registry.h"
#include "report.h"

/* Start-up, after the options and the dump handler: install the handler
 * for every signal of report_signals that is at SIG_DFL now (one the
 * parent left ignored, as nohup does, stays ignored). */
void lw_signals_start(void);

/* The helper thread: is a signal report asked for? */
bool lw_signals_pending(void);

/* The helper thread: if a signal report is asked for, make it, and die of
 * the signal (does not return). */
void lw_signals_serve(void);

/* Signals whose handler is the shim's now (bit n-1 for signal n): the
 * program does not catch these (deadlock.c's "all threads are asleep"). */
uint64_t lw_signals_ours(void);

void lw_signals_fork_child(void);

/* The thread a report signal stopped in its handler: its own stack and
 * /proc/self/task/TID/syscall now show the handler's wait, so where the
 * signal found it is kept here, for the snapshot. */
typedef struct lw_signals_interrupted {
  const lw_thread *thread;
  /* The registers where the signal stopped it, unwound by the report (not
   * in the handler: libunwind may not be loaded yet, and a handler cannot
   * load it); has_context false when that is not safe (lw_stack.h). */
  unw_context_t context;
  bool has_context;
  lw_report_syscall syscall; /* where LW_WHERE_SYSCALL or LW_WHERE_USER, or UNKNOWN */
} lw_signals_interrupted;

/* NULL when no thread is stopped so. */
const lw_signals_interrupted *lw_signals_interrupted_thread(void);

#endif
