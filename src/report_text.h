/*
 * report_text.h - the text writer: a report as the lines a person reads,
 * in the sanitizers' "==PID== leakwatch: kind: message" form. It only
 * formats: every fact it prints is a field of the report.
 */
#ifndef LW_REPORT_TEXT_H
#define LW_REPORT_TEXT_H

#include "buf.h"
#include "report.h"

/* The whole report into `out`. */
void lw_report_text_write(lw_buf *out, const lw_report *report);

/* "T3 'worker-2' (consume)" */
void lw_report_text_describe_thread(lw_buf *out, const lw_report_thread *thread);

#endif
