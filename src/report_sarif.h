/*
 * report_sarif.h - the SARIF 2.1.0 writer, for CI code-scanning viewers
 * (GitHub code scanning, VS Code's SARIF viewer): one rule per finding kind
 * (finding.h), one result per finding at its location, the other events of
 * its evidence as related locations and one thread flow each. It only
 * formats: the location and the events are the report's.
 */
#ifndef LW_REPORT_SARIF_H
#define LW_REPORT_SARIF_H

#include "buf.h"
#include "report.h"

/* The whole report into `out`. Files under `srcroot` (an absolute
 * directory, or NULL) are given relative to the base id SRCROOT, so that a
 * viewer finds them in its checkout; others by absolute file: URIs. */
void lw_report_sarif_write(lw_buf *out, const lw_report *report, const char *srcroot);

#endif
