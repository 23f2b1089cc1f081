/*
 * report_json.c - the report as JSON, schema "leakwatch-report/1" (SPEC 4).
 */
#include <inttypes.h>
#include <string.h>

#include "report.h"

static const char *state_name(enum lw_thread_state state) {
  switch (state) {
  case LW_STATE_BLOCKED:
    return "blocked";
  case LW_STATE_EXITED:
    return "exited";
  default:
    return "running";
  }
}

static void write_frame(lw_buf *out, const lw_frame *f) {
  lw_buf_printf(out, "{\"pc\": \"0x%" PRIxPTR "\", \"function\": ", f->pc);
  lw_buf_json_string(out, f->function);
  lw_buf_printf(out, ", \"offset\": %" PRIu64 ", \"module\": ", f->offset);
  lw_buf_json_string(out, f->module);
  if (f->file && f->line > 0) {
    lw_buf_puts(out, ", \"file\": ");
    lw_buf_json_string(out, f->file);
    lw_buf_printf(out, ", \"line\": %d", f->line);
  }
  if (f->inlined)
    lw_buf_puts(out, ", \"inlined\": true");
  lw_buf_puts(out, "}");
}

static void write_frames(lw_buf *out, const lw_frames *frames) {
  lw_buf_puts(out, "[");
  for (uint32_t i = 0; i < frames->count; i++) {
    if (i)
      lw_buf_puts(out, ", ");
    write_frame(out, &frames->frames[i]);
  }
  lw_buf_puts(out, "]");
}

/* "object_name" beside "object", absent when unknown. */
static void write_object_name(lw_buf *out, const char *name) {
  if (!name)
    return;
  lw_buf_puts(out, ", \"object_name\": ");
  lw_buf_json_string(out, name);
}

/* {"role": "held", "thread": 2, "call": ..., "object": ..., "stack": [...]}:
 * only the fields the event has. */
static void write_event(lw_buf *out, const lw_report_event *e, bool first) {
  lw_buf_printf(out, "%s\n        {\"role\": \"%s\"", first ? "" : ",",
                lw_event_role_names[e->role]);
  if (e->thread != LW_REPORT_NO_THREAD)
    lw_buf_printf(out, ", \"thread\": %u", e->thread);
  if (e->call) {
    lw_buf_puts(out, ", \"call\": ");
    lw_buf_json_string(out, e->call);
  }
  if (e->object)
    lw_buf_printf(out, ", \"object\": \"0x%" PRIxPTR "\"", (uintptr_t)e->object);
  if (e->object_kind)
    lw_buf_printf(out, ", \"object_kind\": \"%s\"", e->object_kind);
  write_object_name(out, e->object_name);
  if (e->has_owner)
    lw_buf_printf(out, ", \"owner\": %u", e->owner);
  if (e->owner_unlisted)
    lw_buf_puts(out, ", \"owner_unlisted\": true");
  if (e->role == LW_EVENT_WAITS)
    lw_buf_printf(out, ", \"waited_ms\": %" PRIu64, e->waited_ms);
  if (e->edge)
    lw_buf_printf(out, ", \"edge\": %u", e->edge);
  if (e->label) {
    lw_buf_puts(out, ", \"label\": ");
    lw_buf_json_string(out, e->label);
  }
  lw_buf_puts(out, ", \"stack\": ");
  write_frames(out, &e->stack);
  lw_buf_puts(out, "}");
}

/* "last_signal": who woke the object last, with which call, while how
 * many waited, how many wake-ups in all, and the call's stack. */
static void write_last_signal(lw_buf *out, const lw_report_wait *w) {
  if (w->evidence != 2 /* LW_EVIDENCE_LAST */ || !w->signal_call)
    return;
  lw_buf_printf(out, ", \"last_signal\": {\"thread\": %u, \"call\": ", w->signalled_by);
  lw_buf_json_string(out, w->signal_call);
  lw_buf_printf(out, ", \"waiters\": %u", w->signal_waiters);
  if (w->signal_count) /* 0: not counted */
    lw_buf_printf(out, ", \"count\": %u", w->signal_count);
  lw_buf_puts(out, ", \"stack\": ");
  write_frames(out, &w->signal_stack);
  lw_buf_puts(out, "}");
}

static void write_thread(lw_buf *out, const lw_report_thread *t, bool ages) {
  lw_buf_printf(out, "    {\"id\": %u, \"tid\": %d, \"name\": ", t->id, t->tid);
  lw_buf_json_string(out, t->name);
  lw_buf_puts(out, ", \"start\": ");
  lw_buf_json_string(out, t->start);
  if (t->has_parent)
    lw_buf_printf(out, ", \"parent\": %u", t->parent);
  else
    lw_buf_puts(out, ", \"parent\": null");
  lw_buf_printf(out, ", \"detached\": %s, \"state\": \"%s\"", t->detached ? "true" : "false",
                state_name(t->state));
  if (t->state == LW_STATE_EXITED)
    lw_buf_printf(out, ", \"ended_ms_ago\": %" PRIu64, t->ended_ms_ago);
  lw_buf_puts(out, ",\n      \"create_stack\": ");
  write_frames(out, &t->create_stack);
  if (t->has_wait) {
    const lw_report_wait *w = &t->wait;
    lw_buf_puts(out, ",\n      \"wait\": {\"call\": ");
    lw_buf_json_string(out, w->call);
    lw_buf_printf(out, ", \"object\": \"0x%" PRIxPTR "\"", (uintptr_t)w->object);
    write_object_name(out, w->object_name);
    if (w->mutex) {
      lw_buf_printf(out, ", \"mutex\": \"0x%" PRIxPTR "\"", (uintptr_t)w->mutex);
      if (w->mutex_name) {
        lw_buf_puts(out, ", \"mutex_name\": ");
        lw_buf_json_string(out, w->mutex_name);
      }
    }
    if (w->has_owner)
      lw_buf_printf(out, ", \"owner\": %u", w->owner);
    else if (w->owner_tid)
      lw_buf_printf(out, ", \"owner_process\": {\"pid\": %d, \"tid\": %d}", w->owner_pid,
                    w->owner_tid);
    if (w->through) {
      lw_buf_puts(out, ", \"through\": ");
      lw_buf_json_string(out, w->through);
    }
    if (w->evidence == 1 /* LW_EVIDENCE_NEVER */)
      lw_buf_puts(out, ", \"signalled_by\": null");
    else if (w->evidence == 2 /* LW_EVIDENCE_LAST */)
      lw_buf_printf(out, ", \"signalled_by\": %u", w->signalled_by);
    write_last_signal(out, w);
    if (ages)
      lw_buf_printf(out, ", \"waited_ms\": %" PRIu64, w->waited_ms);
    else
      lw_buf_puts(out, ", \"waited_ms\": null"); /* unknown (attach) */
    lw_buf_printf(out, ", \"timed\": %s, \"stack\": ", w->timed ? "true" : "false");
    write_frames(out, &w->stack);
    lw_buf_puts(out, "}");
  }
  if (t->state == LW_STATE_RUNNING && t->stack.count) {
    lw_buf_puts(out, ",\n      \"stack\": ");
    write_frames(out, &t->stack);
  }
  if (!t->has_wait && t->state == LW_STATE_RUNNING && t->syscall.where == LW_WHERE_SYSCALL) {
    /* In a system call leakwatch does not wrap: which, and on what. */
    const lw_report_syscall *c = &t->syscall;
    lw_buf_puts(out, ",\n      \"syscall\": {\"name\": ");
    if (c->name)
      lw_buf_json_string(out, c->name);
    else
      lw_buf_printf(out, "\"syscall %ld\"", c->number);
    lw_buf_printf(out, ", \"number\": %ld", c->number);
    if (c->fd >= 0) {
      lw_buf_printf(out, ", \"fd\": %d, \"fd_target\": ", c->fd);
      lw_buf_json_string(out, c->fd_target);
    }
    if (c->timeout_ms >= 0)
      lw_buf_printf(out, ", \"timeout_ms\": %" PRId64, c->timeout_ms);
    if (c->pid)
      lw_buf_printf(out, ", \"pid\": %" PRId64, c->pid);
    lw_buf_puts(out, "}");
  }
  lw_buf_puts(out, ",\n      \"held\": [");
  for (uint32_t i = 0; i < t->nheld; i++) {
    const lw_report_held *h = &t->held[i];
    lw_buf_printf(out, "%s{\"object\": \"0x%" PRIxPTR "\"", i ? ", " : "", (uintptr_t)h->object);
    write_object_name(out, h->object_name);
    lw_buf_puts(out, ", \"call\": ");
    lw_buf_json_string(out, h->call);
    lw_buf_puts(out, ", \"stack\": ");
    write_frames(out, &h->stack);
    lw_buf_printf(out, ", \"stack_partial\": %s}", h->stack_partial ? "true" : "false");
  }
  lw_buf_puts(out, "]}");
}

void lw_report_json_write(lw_buf *out, const lw_report *r) {
  lw_buf_puts(out, "{\n  \"schema\": \"leakwatch-report/1\",\n  \"trigger\": ");
  lw_buf_json_string(out, r->trigger);
  if (r->note) {
    lw_buf_puts(out, ", \"note\": ");
    lw_buf_json_string(out, r->note);
  }
  lw_buf_printf(out, ",\n  \"pid\": %d, \"exe\": ", r->pid);
  lw_buf_json_string(out, r->exe);
  lw_buf_puts(out, ", \"time\": ");
  lw_buf_json_string(out, r->time);
  lw_buf_printf(out, ", \"uptime_ms\": %" PRIu64 ",\n  \"threads\": [\n", r->uptime_ms);
  for (uint32_t i = 0; i < r->nthreads; i++) {
    write_thread(out, &r->threads[i], strcmp(r->trigger, "attach") != 0);
    lw_buf_puts(out, i + 1 < r->nthreads ? ",\n" : "\n");
  }
  lw_buf_puts(out, "  ],\n  \"findings\": [\n");
  for (uint32_t i = 0; i < r->nfindings; i++) {
    const lw_finding *f = &r->findings[i];
    lw_buf_puts(out, "    {\"kind\": ");
    lw_buf_json_string(out, lw_finding_kind_name(f->kind));
    lw_buf_puts(out, ", \"threads\": [");
    for (uint32_t k = 0; k < f->nthreads; k++)
      lw_buf_printf(out, "%s%u", k ? ", " : "", f->threads[k]);
    lw_buf_printf(out, "], \"count\": %u, \"message\": ", f->count);
    lw_buf_json_string(out, f->message);
    if (f->all_threads_shown)
      lw_buf_puts(out, ", \"all_threads_shown\": true");
    if (f->has_location) {
      lw_buf_puts(out, ",\n      \"location\": ");
      write_frame(out, &f->location);
    }
    if (f->nevents) {
      lw_buf_puts(out, ",\n      \"evidence\": [");
      for (uint32_t k = 0; k < f->nevents; k++)
        write_event(out, &f->events[k], k == 0);
      lw_buf_puts(out, "]");
    }
    lw_buf_puts(out, i + 1 < r->nfindings ? "},\n" : "}\n");
  }
  lw_buf_printf(out, "  ],\n  \"suppressed\": %u\n}\n", r->suppressed);
}
