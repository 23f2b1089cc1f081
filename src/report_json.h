/*
 * report_json.h - the JSON writer (schema leakwatch-report/1, docs/
 * reference.md): every field of the report, nothing computed.
 */
#ifndef LW_REPORT_JSON_H
#define LW_REPORT_JSON_H

#include "buf.h"
#include "report.h"

/* The whole report into `out`, one JSON object and a newline. */
void lw_report_json_write(lw_buf *out, const lw_report *report);

#endif
