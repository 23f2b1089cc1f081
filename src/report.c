/*
 * report.c - the report's data model: finding a thread by id, appending a
 * finding, telling the standard library's frames. Shared by the shim and
 * leakwatch-inspect.
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

/* "void std::__invoke_impl<...>(...)" -> "std::__invoke_impl": the name a
 * function is qualified by, past a template's return type. */
static bool qualified_by(const char *function, const char *prefix) {
  size_t name_end = strcspn(function, "<(");
  const char *name = function;
  for (const char *c = function; c < function + name_end; c++)
    if (*c == ' ')
      name = c + 1;
  return strncmp(name, prefix, strlen(prefix)) == 0;
}

bool lw_report_frame_is_std(const lw_frame *frame) {
  const char *function = frame->function, *module = frame->module, *file = frame->file;
  const char *base = module ? strrchr(module, '/') : NULL;
  if (module && strncmp(base ? base + 1 : module, "libstdc++", 9) == 0)
    return true;
  /* libstdc++'s headers: /usr/include/c++/12/bits/invoke.h,
   * /usr/include/x86_64-linux-gnu/c++/12/bits/gthr-default.h. Inlined
   * template code from them may carry a bare DWARF name ("_M_invoke<0>"). */
  const char *include = file ? strstr(file, "/include/") : NULL;
  if (include && strstr(include, "/c++/"))
    return true;
  return function && (qualified_by(function, "std::") || qualified_by(function, "__gnu_cxx::") ||
                      qualified_by(function, "__cxxabiv1::"));
}
