/*
 * report.c - the report's data model: finding a thread by id, appending a
 * finding. Shared by the shim and leakwatch-inspect.
 */
#define _GNU_SOURCE
#include <string.h>

#include "report.h"

#define LW_EVENT_ROLE_NAME(id, name) name,
const char *const lw_event_role_names[LW_EVENT_ROLE_COUNT] = {LW_EVENT_ROLES(LW_EVENT_ROLE_NAME)};

lw_report_event *lw_report_add_events(lw_report *r, lw_finding *f, uint32_t count) {
  lw_report_event *events = lw_mem_arena_alloc(&r->arena, (f->nevents + count) * sizeof *events);
  if (!events)
    return NULL;
  if (f->nevents)
    memcpy(events, f->events, f->nevents * sizeof *events);
  memset(events + f->nevents, 0, count * sizeof *events);
  for (uint32_t i = 0; i < count; i++)
    events[f->nevents + i].thread = LW_REPORT_NO_THREAD;
  f->events = events;
  f->nevents += count;
  return events + f->nevents - count;
}

lw_report_thread *lw_report_thread_by_id(lw_report *r, uint32_t id) {
  for (uint32_t i = 0; i < r->nthreads; i++)
    if (r->threads[i].id == id)
      return &r->threads[i];
  return NULL;
}

lw_finding *lw_report_add_finding(lw_report *r, lw_finding_kind kind, const char *message,
                                  const uint32_t *thread_ids, uint32_t nthreads) {
  if (r->nfindings == r->findings_capacity) {
    uint32_t capacity = r->findings_capacity ? r->findings_capacity * 2 : 16;
    lw_finding *grown = lw_mem_arena_alloc(&r->arena, capacity * sizeof *grown);
    if (!grown)
      return NULL;
    if (r->findings)
      memcpy(grown, r->findings, r->nfindings * sizeof *grown);
    r->findings = grown;
    r->findings_capacity = capacity;
  }
  lw_finding *f = &r->findings[r->nfindings++];
  memset(f, 0, sizeof *f);
  f->kind = kind;
  f->message = message ? lw_mem_arena_strdup(&r->arena, message) : NULL;
  f->count = 1;
  f->nthreads = nthreads;
  f->threads = lw_mem_arena_alloc(&r->arena, (nthreads ? nthreads : 1) * sizeof *f->threads);
  if (f->threads)
    memcpy(f->threads, thread_ids, nthreads * sizeof *thread_ids);
  else
    f->nthreads = 0;
  return f;
}
