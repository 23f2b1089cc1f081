/*
 * suppress.h - suppression rules: "kind:pattern" a line, from the file named
 * by the `suppressions` option.
 *
 * A rule matches a finding of its kind (or any, for "*") when its glob
 * matches a function or module of any stack of the threads the finding
 * names (creation stacks included), or one of their names. A suppressed
 * finding is counted, not reported, and does not change the exit status.
 */
#ifndef LW_SUPPRESS_H
#define LW_SUPPRESS_H

#include <stddef.h>

#include "report.h"

/* Parse suppression rules from `text` (pure: tests and the fuzzer call it).
 * Each bad line is passed to complain(file, line, why). Returns the number of
 * rules kept (the table holds at most LW_SUPPRESS_MAX). */
#define LW_SUPPRESS_MAX 256
int lw_suppress_parse(const char *text, size_t len, const char *file,
                      void (*complain)(const char *file, int line, const char *why));

/* The most of a suppressions file that is read (1 MiB): LW_SUPPRESS_MAX
 * rules of at most 512 bytes fit in an eighth of it. */
#define LW_SUPPRESS_MAX_BYTES (1024 * 1024)

/* Load the file named by the option (start-up). Never blocks (a FIFO is
 * refused), reads at most LW_SUPPRESS_MAX_BYTES, and prints at most
 * LW_WARN_FIRST warnings and a count. */
void lw_suppress_init(void);

/* Remove suppressed findings from a symbolized report; add them to
 * report->suppressed. */
void lw_suppress_apply(lw_report *report);

/* Would a rule for findings of `kind` (or "*") hide a finding about thread
 * `t` (symbolized), whatever else it named? Counts no hit. The exit grace
 * asks, so as not to wait for threads a suppression covers. */
bool lw_suppress_covers(lw_finding_kind kind, const lw_report_thread *t);
/* True if some rule is for findings of `kind` or "*". */
bool lw_suppress_has_kind(lw_finding_kind kind);

/* At verbosity=1, list the rules that never matched. */
void lw_suppress_list_unused(void);

#endif
