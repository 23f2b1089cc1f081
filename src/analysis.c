/*
 * analysis.c - findings from a snapshot: leaked and unjoined threads.
 *
 * Identical findings are folded into one with a count: same kind, same state,
 * same start routine and creation stack and, for blocked threads, the same
 * call and blocking stack (for others, the same system call). A leaked pool
 * of 64 workers is one finding that says 64. Stacks are alike when their
 * frames are at the same source lines (after symbolization; by program
 * counter where there is no line information).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "registry.h"
#include "report.h"
#include "report_text.h"

static bool same_text(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

/* The same place in the code: the same program counter, or, once
 * symbolized, the same function at the same file:line (two calls on one
 * line, one line reached through two inlined copies). Frames without a
 * line compare by program counter only. */
static bool same_place(const lw_frame *a, const lw_frame *b, bool by_line) {
  if (a->pc == b->pc)
    return true;
  return by_line && a->file && b->file && a->line > 0 && a->line == b->line &&
         strcmp(a->file, b->file) == 0 && same_text(a->function, b->function);
}

static bool same_frames(const lw_frames *a, const lw_frames *b, bool by_line) {
  if (a->count != b->count)
    return false;
  for (uint32_t i = 0; i < a->count; i++)
    if (!same_place(&a->frames[i], &b->frames[i], by_line))
      return false;
  return true;
}

/* Before symbols, by program counters and start addresses; after (by_line),
 * by source lines and start names (a std::thread's is its callable). */
static bool alike(const lw_report_thread *a, const lw_report_thread *b, bool by_line) {
  if (a->state != b->state || a->has_wait != b->has_wait || a->adopted != b->adopted)
    return false;
  /* One creation site can start different routines (a loop over a table
   * of them): those are different threads. */
  if (a->start_address != b->start_address || (by_line && !same_text(a->start, b->start)) ||
      !same_frames(&a->create_stack, &b->create_stack, by_line))
    return false;
  /* Threads outside a wrapped wait: the same system call (or none). */
  if (!a->has_wait &&
      (a->syscall.where != b->syscall.where || a->syscall.number != b->syscall.number))
    return false;
  if (a->has_wait && (strcmp(a->wait.call, b->wait.call) != 0 ||
                      !same_frames(&a->wait.stack, &b->wait.stack, by_line)))
    return false;
  return true;
}

/* Add the threads of `from` (`count` findings' worth) to `into`. */
static bool add_threads(lw_report *r, lw_finding *into, const uint32_t *ids, uint32_t nids,
                        uint32_t count) {
  uint32_t *grown = lw_mem_arena_alloc(&r->arena, (into->nthreads + nids) * sizeof *grown);
  if (!grown)
    return false;
  memcpy(grown, into->threads, into->nthreads * sizeof *grown);
  memcpy(grown + into->nthreads, ids, nids * sizeof *grown);
  into->nthreads += nids;
  into->threads = grown;
  into->count += count;
  return true;
}

/* Add `t` to an existing identical finding of `kind`; false if none. */
static bool fold_into_existing(lw_report *r, lw_finding_kind kind, lw_report_thread *t) {
  for (uint32_t i = 0; i < r->nfindings; i++) {
    lw_finding *f = &r->findings[i];
    if (f->kind != kind || !f->subject || !alike(f->subject, t, false))
      continue;
    add_threads(r, f, &t->id, 1, 1);
    return true;
  }
  return false;
}

static bool is_leak(lw_finding_kind kind) {
  return kind == LW_FINDING_THREAD_LEAK || kind == LW_FINDING_UNJOINED_THREAD;
}

/*
 * Once symbolized, leak findings whose threads differ only in program
 * counters that mean the same source lines become one: the first keeps its
 * place and takes the others' threads and counts. Before symbols, folding
 * can only compare program counters (lw_analysis_leaks runs on bare
 * snapshots, which most reports never symbolize).
 */
static void fold_by_line(lw_report *r) {
  uint32_t kept = 0;
  for (uint32_t i = 0; i < r->nfindings; i++) {
    lw_finding *f = &r->findings[i];
    bool folded = false;
    for (uint32_t k = 0; is_leak(f->kind) && f->subject && !f->message && k < kept && !folded;
         k++) {
      lw_finding *into = &r->findings[k];
      folded = into->kind == f->kind && into->subject && !into->message &&
               alike(into->subject, f->subject, true) &&
               add_threads(r, into, f->threads, f->nthreads, f->count);
    }
    if (!folded)
      r->findings[kept++] = *f;
  }
  r->nfindings = kept;
}

static void describe(char *out, size_t size, const lw_report_thread *t) {
  lw_buf text = {0};
  lw_report_text_describe_thread(&text, t);
  snprintf(out, size, "%s", text.data ? text.data : "?");
  lw_buf_free(&text);
}

void lw_analysis_leaks(lw_report *r, bool (*counts)(const lw_report_thread *, void *),
                       void *context) {
  for (uint32_t i = 0; i < r->nthreads; i++) {
    lw_report_thread *t = &r->threads[i];
    /* The thread making the report is excluded, unless it has already
     * ended: glibc calls exit() from the last thread after its end. */
    if (t->is_main || (t->is_reporter && t->state != LW_STATE_EXITED) || !counts(t, context))
      continue;
    bool exited = t->state == LW_STATE_EXITED;
    if (exited && (t->detached || t->adopted))
      continue; /* finished and nobody needs to join it */
    lw_finding_kind kind = exited ? LW_FINDING_UNJOINED_THREAD : LW_FINDING_THREAD_LEAK;
    if (fold_into_existing(r, kind, t))
      continue;
    lw_finding *f = lw_report_add_finding(r, kind, NULL, &t->id, 1);
    if (f)
      f->subject = t;
  }
}

/* The message of a leak finding, from its (symbolized) subject. */
static void leak_message(lw_report *r, lw_finding *f) {
  const lw_report_thread *t = f->subject;
  char who[160], message[640];
  describe(who, sizeof who, t);
  int used = 0;
  if (f->count > 1)
    used = snprintf(message, sizeof message, "%u threads like this: ", f->count);
  const char *when = r->when ? r->when : "at exit";
  if (t->state == LW_STATE_EXITED)
    snprintf(message + used, sizeof message - (size_t)used,
             "%s finished but was never joined or detached", who);
  else if (t->has_wait)
    snprintf(message + used, sizeof message - (size_t)used, "%s still %s in %s %s", who,
             t->wait.timed ? "waiting (timed)" : "blocked", t->wait.call, when);
  else if (r->signal && t->syscall.where == LW_WHERE_SYSCALL && t->syscall.name)
    /* What the user who gave up wants to read: where it hangs. */
    snprintf(message + used, sizeof message - (size_t)used, "%s still in %s %s", who,
             t->syscall.name, when);
  else
    snprintf(message + used, sizeof message - (size_t)used, "%s still running %s", who, when);
  f->message = lw_mem_arena_strdup(&r->arena, message);
}

/* "T3 'x' (f) has been blocked in pthread_mutex_lock on 0x… for 5.2 s;
 *  its owner T2 'y' (g) is itself blocked in …" */
static void long_wait_message(lw_report *r, lw_finding *f) {
  const lw_report_thread *t = f->subject;
  lw_buf text = {0};
  if (f->count > 1)
    lw_buf_printf(&text, "%u threads like this: ", f->count);
  lw_report_text_describe_thread(&text, t);
  lw_buf_printf(&text, " has been blocked in %s on 0x%lx for %.1f s", t->wait.call,
                (unsigned long)(uintptr_t)t->wait.object, (double)t->wait.waited_ms / 1000.0);
  const lw_report_thread *owner =
      t->wait.has_owner ? lw_report_thread_by_id(r, t->wait.owner) : NULL;
  if (owner && owner != t) {
    lw_buf_puts(&text, "; its owner ");
    lw_report_text_describe_thread(&text, owner);
    if (owner->state == LW_STATE_EXITED)
      lw_buf_puts(&text, " has exited");
    else if (owner->has_wait)
      lw_buf_printf(&text, " is itself %s in %s on 0x%lx",
                    owner->wait.timed ? "waiting (timed)" : "blocked", owner->wait.call,
                    (unsigned long)(uintptr_t)owner->wait.object);
    else
      lw_buf_puts(&text, " is running");
  } else if (t->wait.owner_tid) {
    /* A process-shared lock: only that process can let go of it. */
    lw_buf_printf(&text, "; it is owned by another process: thread %d of pid %d", t->wait.owner_tid,
                  t->wait.owner_pid);
  } else if (!t->wait.has_owner) {
    lw_buf_puts(&text, "; nothing owns it: somebody must signal or post it");
  }
  if (owner && owner != t && t->wait.owner_unlisted)
    lw_buf_printf(&text,
                  " (found by glibc's owner field: the owner holds more locks than the %u "
                  "leakwatch lists, so where it took this one is not known)",
                  (unsigned)LW_HELD_MAX);
  f->message = lw_mem_arena_strdup(&r->arena, text.data ? text.data : "");
  lw_buf_free(&text);
}

/* Events whose stack is their thread's: copied from it now that it is
 * symbolized. */
static void fill_thread_stacks(lw_report *r, lw_finding *f) {
  for (uint32_t i = 0; i < f->nevents; i++) {
    lw_report_event *e = &f->events[i];
    const lw_report_thread *t = e->of_thread ? lw_report_thread_by_id(r, e->thread) : NULL;
    if (!t || e->stack.count)
      continue; /* a remembered finding keeps the stacks of its moment */
    if (e->of_thread == LW_EVENT_WAIT_STACK && t->has_wait)
      e->stack = t->wait.stack;
    for (uint32_t k = 0; e->of_thread == LW_EVENT_HELD_STACK && k < t->nheld; k++)
      if (t->held[k].object == e->object)
        e->stack = t->held[k].stack;
  }
}

/* Where the system's shared libraries live: their frames are not the
 * program's, whatever their debug info calls their files. */
static const char *const system_library_dirs[] = {"/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/",
                                                  "/usr/local/lib/"};

static bool in_system_library(const char *module) {
  for (size_t i = 0; i < LW_ARRAY_SIZE(system_library_dirs); i++)
    if (strncmp(module, system_library_dirs[i], strlen(system_library_dirs[i])) == 0)
      return true;
  return false;
}

/* A frame of the program's own code: with a source line, in the program
 * itself or a library outside the system's directories, and not in a
 * system header (an inlined std:: template) nor in a file its debug info
 * names relative to a build directory nobody has (Debian's libraries:
 * "./nptl/...", "../sysdeps/..."). Where the sources were built ("/build/",
 * a container's working directory) says nothing. */
static bool is_user_frame(const lw_report *r, const lw_frame *frame) {
  if (!frame->file || frame->line <= 0 || frame->file[0] == '.' ||
      strncmp(frame->file, "/usr/include/", 13) == 0)
    return false;
  if (!frame->module)
    return true;
  return (r->exe && strcmp(frame->module, r->exe) == 0) || !in_system_library(frame->module);
}

static bool first_user_frame(const lw_report *r, const lw_frames *frames, lw_frame *out) {
  for (uint32_t i = 0; i < frames->count; i++)
    if (is_user_frame(r, &frames->frames[i])) {
      *out = frames->frames[i];
      return true;
    }
  return false;
}

/* The one place a reader of the finding should look first (SARIF's
 * location): the offending call of a misuse, the second lock of the first
 * lock-order edge, the first deadlocked thread's wait, the place a leaked
 * thread was created (where it should be joined). */
static void locate(lw_report *r, lw_finding *f) {
  static const enum lw_event_role preferred[LW_FINDING_COUNT] = {
      [LW_FINDING_MISUSE] = LW_EVENT_CALL,
      [LW_FINDING_LOCK_ORDER_INVERSION] = LW_EVENT_TAKEN,
      [LW_FINDING_ABANDONED_LOCK] = LW_EVENT_TAKEN,
      [LW_FINDING_DEADLOCK] = LW_EVENT_WAITS,
      [LW_FINDING_LONG_WAIT] = LW_EVENT_WAITS,
  };
  for (uint32_t i = 0; i < f->nevents && !f->has_location; i++)
    if (f->events[i].role == preferred[f->kind])
      f->has_location = first_user_frame(r, &f->events[i].stack, &f->location);
  for (uint32_t i = 0; i < f->nevents && !f->has_location; i++)
    f->has_location = first_user_frame(r, &f->events[i].stack, &f->location);
  for (uint32_t k = 0; k < f->nthreads && !f->has_location; k++) {
    const lw_report_thread *t = lw_report_thread_by_id(r, f->threads[k]);
    if (!t)
      continue;
    f->has_location = first_user_frame(r, &t->create_stack, &f->location) ||
                      first_user_frame(r, &t->wait.stack, &f->location) ||
                      first_user_frame(r, &t->stack, &f->location);
  }
}

void lw_analysis_complete(lw_report *r) {
  fold_by_line(r);
  for (uint32_t i = 0; i < r->nfindings; i++) {
    lw_finding *f = &r->findings[i];
    fill_thread_stacks(r, f);
    if (!f->has_location)
      locate(r, f);
    if (f->message)
      continue; /* composed by its analysis already */
    if (f->kind == LW_FINDING_THREAD_LEAK || f->kind == LW_FINDING_UNJOINED_THREAD)
      leak_message(r, f);
    else if (f->kind == LW_FINDING_LONG_WAIT)
      long_wait_message(r, f);
  }
}

/* At exit every thread counts except those declared expected with
 * leakwatch_ignore_current(). */
static bool counts_at_exit(const lw_report_thread *t, void *context) {
  (void)context;
  return !t->ignored;
}

void lw_analysis_exit(lw_report *r) {
  r->when = "at exit";
  lw_analysis_leaks(r, counts_at_exit, NULL);
}
