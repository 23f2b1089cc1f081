/*
 * deadlock.h - the wait-for graph of a snapshot: deadlock cycles, "all
 * threads are asleep", and waits that went on too long (long_wait).
 */
#ifndef LW_DEADLOCK_H
#define LW_DEADLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* Deadlock analysis of a snapshot: adds one finding per cycle among threads
 * blocked untimed for at least min_wait_ms (with the threads stuck behind
 * it) or, with own_tasks >= 0, one "all threads are asleep" (own_tasks: the
 * tasks of the process that are the tool's own, not in the report).
 * Returns how many. */
int lw_deadlock_find(lw_report *report, uint64_t min_wait_ms, int own_tasks);

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

/* long_wait findings for threads blocked untimed for at least hang_ms that
 * `keep` accepts (NULL: all), one per wait site (call, stack and owner)
 * with a count. */
int lw_deadlock_long_waits_where(lw_report *report, uint64_t hang_ms,
                                 bool (*keep)(const lw_report_thread *thread));

/* Which wait a long wait is (its thread and the wait's serial number): each
 * is reported live once, by the check that first sees it (watcher.c), and
 * a dump leaves out those, which come with the findings kept since
 * (reporting.c). */
uint64_t lw_deadlock_long_wait_key(const lw_report_thread *thread);

#endif
