/*
 * analysis.h - findings about threads from a snapshot: leaked and unjoined
 * threads (folded by likeness), and the one-line message of every finding.
 */
#ifndef LW_ANALYSIS_H
#define LW_ANALYSIS_H

#include <stdbool.h>

#include "report.h"

/* Findings (analysis.c): thread_leak and unjoined_thread for every thread
 * for which counts() says yes; `when` ends the message ("at exit"). */
void lw_analysis_leaks(lw_report *report, bool (*counts)(const lw_report_thread *, void *),
                       void *context);
void lw_analysis_exit(lw_report *report);

/* After symbolizing: leak findings alike by source line folded into one,
 * the one-line message of every finding, the stacks of events that are
 * their thread's, and each finding's location. */
void lw_analysis_complete(lw_report *report);

#endif
