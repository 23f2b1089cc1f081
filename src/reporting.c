/*
 * reporting.c - make a report and send it out: text to log_path (default
 * stderr), JSON to json_path. Both are opened by userfile.c's one rule: a
 * regular file's JSON is written to a temporary file and renamed, so a
 * reader sees all of it or nothing; a FIFO or device gets it directly.
 */
#define _GNU_SOURCE
#include "reporting.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "options.h"
#include "once.h"
#include "stack.h"
#include "syscalls.h"
#include "suppress.h"
#include "symbols.h"
#include "userfile.h"
#include "snapshot.h"
#include "analysis.h"
#include "deadlock.h"
#include "report_text.h"
#include "report_json.h"
#include "report_sarif.h"

static lw_lock report_lock = LW_LOCK_INIT;

void lw_reporting_fork_prepare(void) { lw_lock_acquire(&report_lock); }
void lw_reporting_fork_parent(void) { lw_lock_release(&report_lock); }
static uint32_t nkept_findings, nkept_threads; /* kept for the exit report (below) */

void lw_reporting_fork_child(void) {
  report_lock.word = 0;
  nkept_findings = nkept_threads = 0; /* the parent's findings, not the child's */
}

/* The text report on the stderr the process started with; nowhere if fd 2
 * is now the program's own file. */
static void emit_text_to_stderr(const lw_buf *text) {
  if (lw_userfile_std_intact(STDERR_FILENO))
    lw_write_all(STDERR_FILENO, text->data, text->len);
}

static void emit_text(const lw_buf *text) {
  if (!lw_opt.log_path[0]) {
    emit_text_to_stderr(text);
    return;
  }
  char path[LW_PATH_MAX];
  if (!lw_options_expand_path(lw_opt.log_path, getpid(), path, sizeof path)) {
    lw_warn("log_path is too long; the report goes to stderr");
    emit_text_to_stderr(text);
    return;
  }
  lw_userfile f;
  bool ok = lw_userfile_open(&f, "log_path", path, LW_USERFILE_APPEND);
  ok = lw_userfile_write(&f, text->data, text->len) && ok;
  if (!lw_userfile_close(&f, ok)) {
    lw_warn("cannot write the report to log_path '%s' (%s); the report goes to stderr", path,
            f.why);
    emit_text_to_stderr(text);
  }
}

/* A machine-readable report (`what`: "JSON", "SARIF") to the file the
 * option `option` names. */
static void emit_data(const char *option, const char *pattern, const char *what,
                      const lw_buf *data) {
  char path[LW_PATH_MAX];
  if (!lw_options_expand_path(pattern, getpid(), path, sizeof path)) {
    lw_warn("%s is too long; no %s report written", option, what);
    return;
  }
  lw_userfile f;
  bool ok = lw_userfile_open(&f, option, path, LW_USERFILE_REPLACE);
  if (ok && data->failed)
    ok = false, snprintf(f.why, sizeof f.why, "out of memory");
  ok = ok && lw_userfile_write(&f, data->data, data->len);
  if (!lw_userfile_close(&f, ok))
    lw_warn("cannot write the %s report to %s '%s' (%s); no %s report written", what, option, path,
            f.why, what);
}

/* Symbols and messages, for a report that will be shown. */
static void finish(lw_report *r) {
  lw_snapshot_symbolize(r);
  lw_analysis_complete(r);
  lw_suppress_apply(r);
}

/* Threads a report lists besides the one making it, or locks that one
 * holds: in the JSON, even without findings, they are something to show
 * (threads the program said it expects, threads verify calls reported
 * already, where main took the locks it exits holding). */
static bool lists_others(const lw_report *r) {
  for (uint32_t i = 0; i < r->nthreads; i++)
    if (!r->threads[i].is_reporter || r->threads[i].nheld > 0)
      return true;
  return false;
}

/* A report at exit or verify with nothing to show (no findings, only the
 * reporting thread, holding no lock) lists that thread without stacks: symbolizing them
 * (libdw reading every module's ELF and DWARF) is what cost a clean
 * process 100 ms with json_path set, for the stack of its own exit. */
static bool worth_symbols(const lw_report *r) {
  return r->nfindings > 0 || lw_opt.verbosity > 0 || (lw_opt.json_path[0] && lists_others(r));
}

static void drop_stacks(lw_report *r) {
  for (uint32_t i = 0; i < r->nthreads; i++) {
    lw_report_thread *t = &r->threads[i];
    t->create_stack.count = t->stack.count = t->wait.stack.count = 0;
    for (uint32_t k = 0; k < t->nheld; k++)
      t->held[k].stack.count = 0;
  }
}

void lw_reporting_emit(lw_report *r) {
  bool live = strcmp(r->trigger, "exit") != 0 && strcmp(r->trigger, "verify") != 0;
  if (live || worth_symbols(r))
    finish(r);
  else
    drop_stacks(r);
  /* Nothing (left) to say: a clean run prints nothing. */
  bool show_text = r->nfindings > 0 || lw_opt.verbosity > 0 || strcmp(r->trigger, "dump") == 0 ||
                   r->signal; /* the user gave up on it: always say where it was */
  if (show_text) {
    lw_buf text = {0};
    lw_report_text_write(&text, r);
    if (text.len)
      emit_text(&text);
    lw_buf_free(&text);
  }
  if (lw_opt.json_path[0]) {
    lw_buf json = {0};
    lw_report_json_write(&json, r);
    emit_data("json_path", lw_opt.json_path, "JSON", &json);
    lw_buf_free(&json);
  }
  if (lw_opt.sarif_path[0]) {
    /* Files under the working directory are named relative to it: a CI
     * job runs the tests from its checkout. */
    char cwd[LW_PATH_MAX];
    lw_buf sarif = {0};
    lw_report_sarif_write(&sarif, r, getcwd(cwd, sizeof cwd) ? cwd : NULL);
    emit_data("sarif_path", lw_opt.sarif_path, "SARIF", &sarif);
    lw_buf_free(&sarif);
  }
}

static int counted_findings(const lw_report *r) {
  int total = 0;
  for (uint32_t i = 0; i < r->nfindings; i++)
    total += (int)r->findings[i].count;
  return total;
}

/*
 * Give threads that are still running exit_grace_ms to finish. Stop early
 * when there is nothing left to wait for: every remaining thread blocked in
 * an untimed wait or in an untimed system call (read, accept, pause...),
 * unchanged for a quarter of the grace (a thread woken just before exit needs a
 * moment to leave its wait).
 */
/*
 * Threads still running at exit that a thread_leak suppression covers by
 * what they are for good (name, start routine, creation stack): the
 * grace does not wait for them, since their finding would be hidden
 * anyway (one that ends meanwhile, unjoined, counts as the suppressed
 * leak it was). Matching needs their symbols, which a report with such a
 * finding loads anyway. At most `max` ids into `ids`; returns how many.
 */
static uint32_t suppressed_threads(lw_thread *reporter, uint32_t *ids, uint32_t max) {
  if (!lw_suppress_has_kind(LW_FINDING_THREAD_LEAK))
    return 0;
  lw_report look;
  memset(&look, 0, sizeof look);
  lw_registry_lock();
  uint32_t capacity = lw_registry_count(), n = 0;
  lw_report_thread *threads = lw_mem_arena_alloc(&look.arena, (capacity + 1) * sizeof *threads);
  lw_create_stack *creates = lw_mem_arena_alloc(&look.arena, (capacity + 1) * sizeof *creates);
  uintptr_t *starts = lw_mem_arena_alloc(&look.arena, (capacity + 1) * sizeof *starts);
  for (lw_thread *t = lw_registry_first(); t && threads && creates && starts && n < capacity;
       t = lw_registry_next(t)) {
    uint32_t flags = atomic_load(&t->flags);
    if (t == reporter || (flags & (LW_THREAD_MAIN | LW_THREAD_IGNORED | LW_THREAD_ENDED)))
      continue;
    threads[n].id = t->id;
    threads[n].name = t->name[0] ? lw_mem_arena_strdup(&look.arena, t->name) : NULL;
    creates[n] = t->create_stack;
    starts[n] = t->c11_start ? (uintptr_t)t->c11_start : (uintptr_t)t->start_routine;
    n++;
  }
  lw_registry_unlock();
  uint32_t found = 0;
  lw_lock_acquire(&report_lock); /* symbols.c's callers serialize */
  lw_symbols_check_modules();
  for (uint32_t i = 0; i < n && found < max; i++) {
    threads[i].start = lw_snapshot_function_name(&look, starts[i]);
    threads[i].create_stack = lw_snapshot_frames(&look, creates[i].pc, creates[i].depth);
    if (lw_suppress_covers(LW_FINDING_THREAD_LEAK, &threads[i])) {
      lw_verbose(1, "exit: not waiting for T%u, a thread_leak suppression covers it",
                 threads[i].id);
      ids[found++] = threads[i].id;
    }
  }
  lw_lock_release(&report_lock);
  lw_mem_arena_release(&look.arena);
  return found;
}

static bool listed(const uint32_t *ids, uint32_t n, uint32_t id) {
  for (uint32_t i = 0; i < n; i++)
    if (ids[i] == id)
      return true;
  return false;
}

static void exit_grace(lw_thread *reporter) {
  uint32_t suppressed[256];
  uint32_t nsuppressed = lw_opt.exit_grace_ms
                             ? suppressed_threads(reporter, suppressed, LW_ARRAY_SIZE(suppressed))
                             : 0;
  const uint64_t deadline = lw_now_ns() + (uint64_t)lw_opt.exit_grace_ms * 1000000u;
  const uint64_t settle_ns = (uint64_t)lw_opt.exit_grace_ms * 1000000u / 4;
  uint64_t last_signature = 0, stable_since = lw_now_ns();
  for (;;) {
    bool any_running = false, any_left = false;
    uint64_t signature = 0;
    lw_registry_lock();
    for (lw_thread *t = lw_registry_first(); t; t = lw_registry_next(t)) {
      uint32_t flags = atomic_load(&t->flags);
      if (t == reporter || (flags & (LW_THREAD_MAIN | LW_THREAD_IGNORED)))
        continue;
      if (flags & LW_THREAD_ENDED) {
        /* Its start routine is over, but a thread whose kernel task is
         * still there is running its destructors, which may yet detach it
         * (GLib's pool threads detach themselves there): wait for it, or
         * it would be called unjoined a moment too soon. */
        if (!(flags & (LW_THREAD_DETACHED | LW_THREAD_JOINED)) && atomic_load(&t->tid) &&
            syscall(SYS_tgkill, getpid(), atomic_load(&t->tid), 0) == 0) {
          any_left = any_running = true;
          signature = signature * 31 + t->id;
        }
        continue;
      }
      if (listed(suppressed, nsuppressed, t->id))
        continue;
      any_left = true;
      uint32_t state = atomic_load(&t->wait.state);
      uint64_t in_call = 0;
      lw_report_syscall call;
      if (state == LW_WAIT_IDLE && lw_stack_in_syscall(atomic_load(&t->tid), &call, &in_call) &&
          lw_syscalls_untimed(&call))
        signature = signature * 31 + in_call; /* blocked in read, accept...: as a wait */
      else if (state == LW_WAIT_IDLE || t->wait.timed)
        any_running = true; /* sleeps and other timed calls end by themselves */
      signature = signature * 31 + t->wait.seq + t->id;
    }
    lw_registry_unlock();
    uint64_t now = lw_now_ns();
    if (!any_left || now >= deadline)
      return;
    if (signature != last_signature) {
      last_signature = signature;
      stable_since = now;
    } else if (!any_running && now - stable_since >= settle_ns) {
      return;
    }
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
  }
}

/* The exit look's first memory (lw_mem_arena_lend): a look takes about
 * 2 KiB a thread, most of it never written (stacks a light look does not
 * take), so this holds a process of up to 6 threads, and a larger one
 * spills into mappings. Used under report_lock, which the exit report holds
 * to the end. */
LW_COLD static char exit_look_memory[16 * 1024] __attribute__((aligned(4096)));
static lw_arena_loan exit_look_loan = {exit_look_memory, sizeof exit_look_memory, 0};

static void exit_snapshot(lw_report *report, lw_thread *reporter, bool light) {
  memset(report, 0, sizeof *report);
  lw_mem_arena_lend(&report->arena, &exit_look_loan);
  report->no_stacks = report->no_signals = light;
  /* A light look is shown as it is only when clean, and then only in a
   * file or at verbosity (otherwise a second look is taken). */
  report->unseen = light && !lw_opt.json_path[0] && !lw_opt.sarif_path[0] && lw_opt.verbosity == 0;
  lw_snapshot_take(report, "exit", reporter);
  lw_analysis_exit(report);
  lw_deadlock_find(report, 0, -1);
  lw_reporting_add_remembered(report);
}

int lw_reporting_at_exit(lw_thread *reporter, void (*pending_locked)(void)) {
  exit_grace(reporter);
  /* Held from here to the end of the process: the helper thread must not
   * start a report while exit() tears down the libraries it would use. */
  lw_lock_acquire(&report_lock);
  pending_locked(); /* what a detector queued and the helper had no time for */
  /* First a look without stacks (no unwinding, no signals): whether a
   * thread leaked, ended unjoined or deadlocked does not depend on its
   * stacks. A clean process (most of a test suite's: only the thread
   * calling exit is left) is done after it; one with something to show
   * pays for the stacks, in a second look. */
  lw_report report;
  exit_snapshot(&report, reporter, true);
  if (worth_symbols(&report)) {
    lw_mem_arena_release(&report.arena);
    exit_snapshot(&report, reporter, false);
  }
  lw_reporting_emit(&report);
  int findings = counted_findings(&report);
  lw_suppress_list_unused();
  lw_mem_arena_release(&report.arena);
  return findings;
}

void lw_reporting_signal(int signo, const char *name, lw_thread *reporter,
                         void (*pending_locked)(void)) {
  /* Kept to the end: the process dies of the signal after this. */
  lw_lock_acquire(&report_lock);
  pending_locked();
  lw_report report;
  memset(&report, 0, sizeof report);
  lw_snapshot_take(&report, "signal", reporter);
  char when[48];
  if (name)
    snprintf(when, sizeof when, "when %s arrived", name);
  else
    snprintf(when, sizeof when, "when signal %d arrived", signo);
  report.signal = name ? name : "signal";
  lw_analysis_exit(&report); /* what would leak if the process ended now: it does */
  report.when = when;
  lw_deadlock_find(&report, 0, -1);
  lw_reporting_add_remembered(&report);
  lw_reporting_emit(&report);
}

int lw_reporting_live(int fd, const char *trigger, lw_thread *reporter) {
  lw_lock_acquire(&report_lock);
  lw_report report;
  memset(&report, 0, sizeof report);
  lw_snapshot_take(&report, trigger, reporter);
  lw_analysis_exit(&report);
  report.when = "now";
  finish(&report);
  lw_buf text = {0};
  lw_report_text_write(&text, &report);
  lw_write_all(fd, text.data, text.len);
  lw_buf_free(&text);
  int findings = counted_findings(&report);
  lw_mem_arena_release(&report.arena);
  lw_lock_release(&report_lock);
  return findings;
}

/* Is `t` one the verify call must see gone? */
static bool verify_scope(const lw_thread *t, const lw_thread *reporter, uint32_t mark_thread,
                         uint32_t mark_serial) {
  uint32_t flags = atomic_load(&t->flags);
  if (t == reporter || (flags & (LW_THREAD_MAIN | LW_THREAD_IGNORED)))
    return false;
  if (mark_serial == 0)
    return true;
  return t->id >= mark_serial && lw_registry_descends_from(t, mark_thread);
}

/* Still alive, or finished and not joined (a joinable thread's stack and TLS
 * stay allocated until it is). */
static bool still_leaking(const lw_thread *t) {
  uint32_t flags = atomic_load(&t->flags);
  if (!(flags & LW_THREAD_ENDED))
    return true;
  return !(flags & (LW_THREAD_DETACHED | LW_THREAD_JOINED | LW_THREAD_ADOPTED));
}

static bool counts_for_verify(const lw_report_thread *t, void *unused) {
  (void)unused;
  return t->in_scope;
}

/* The threads `report`'s findings name are the test framework's business
 * now (it has failed the test): expected from here on, like threads alive
 * at leakwatch_ignore_current(), so neither a later verify call nor the
 * exit report counts them again. */
static void hand_over_reported(const lw_report *report) {
  lw_registry_lock();
  for (uint32_t f = 0; f < report->nfindings; f++)
    for (uint32_t k = 0; k < report->findings[f].nthreads; k++)
      for (lw_thread *t = lw_registry_first(); t; t = lw_registry_next(t))
        if (t->id == report->findings[f].threads[k])
          atomic_fetch_or(&t->flags, LW_THREAD_IGNORED);
  lw_registry_unlock();
}

int lw_reporting_verify(lw_thread *reporter, uint32_t mark_thread, uint32_t mark_serial,
                        unsigned timeout_ms, lw_buf *text) {
  const uint64_t deadline = lw_now_ns() + (uint64_t)timeout_ms * 1000000u;
  uint64_t pause_ns = 1000000; /* 1 ms, doubling to 100 ms, like goleak */
  for (;;) {
    uint32_t leaking = 0;
    lw_registry_lock();
    for (lw_thread *t = lw_registry_first(); t; t = lw_registry_next(t))
      if (verify_scope(t, reporter, mark_thread, mark_serial) && still_leaking(t))
        leaking++;
    lw_registry_unlock();
    if (leaking == 0)
      return 0;
    uint64_t now = lw_now_ns();
    if (now >= deadline)
      break;
    uint64_t left = deadline - now;
    uint64_t sleep_ns = pause_ns < left ? pause_ns : left;
    struct timespec pause = {(time_t)(sleep_ns / 1000000000u), (long)(sleep_ns % 1000000000u)};
    nanosleep(&pause, NULL);
    if (pause_ns < 100000000)
      pause_ns *= 2;
  }
  /* Time is up: report those still there. */
  lw_lock_acquire(&report_lock);
  lw_report report;
  memset(&report, 0, sizeof report);
  lw_snapshot_take(&report, "verify", reporter);
  lw_registry_lock();
  for (uint32_t i = 0; i < report.nthreads; i++) {
    lw_report_thread *rt = &report.threads[i];
    for (lw_thread *t = lw_registry_first(); t; t = lw_registry_next(t))
      if (t->id == rt->id)
        rt->in_scope = verify_scope(t, reporter, mark_thread, mark_serial);
  }
  lw_registry_unlock();
  report.when = "at verify";
  lw_analysis_leaks(&report, counts_for_verify, NULL);
  if (!text) {
    lw_reporting_emit(&report);
  } else if (report.nfindings > 0) {
    finish(&report); /* symbols, messages, suppressions: as emit does */
    if (counted_findings(&report) > 0)
      lw_report_text_write(text, &report);
  }
  int leaked = counted_findings(&report);
  if (leaked > 0)
    hand_over_reported(&report);
  lw_mem_arena_release(&report.arena);
  lw_lock_release(&report_lock);
  return leaked;
}

void lw_reporting_lock(void) { lw_lock_acquire(&report_lock); }
void lw_reporting_unlock(void) { lw_lock_release(&report_lock); }

/* ---- findings kept from live reports, for the exit report ---- */

static lw_arena kept_arena; /* never released: these live as long as the process */
static lw_finding *kept_findings;
static uint32_t kept_findings_capacity;
static lw_report_thread *kept_threads;
static uint32_t kept_threads_capacity;

static lw_frames keep_frames(lw_frames frames) {
  lw_frames copy = {0, NULL};
  if (!frames.count)
    return copy;
  copy.frames = lw_mem_arena_alloc(&kept_arena, frames.count * sizeof *copy.frames);
  if (copy.frames) {
    memcpy(copy.frames, frames.frames, frames.count * sizeof *copy.frames);
    copy.count = frames.count; /* strings are the symbol cache's: permanent */
  }
  return copy;
}

/* Strings of events are the program's constants or the symbol cache's:
 * permanent; object names may live in the report's arena. */
static lw_report_event *keep_events(const lw_report_event *events, uint32_t count) {
  if (!count)
    return NULL;
  lw_report_event *copy = lw_mem_arena_alloc(&kept_arena, count * sizeof *copy);
  if (!copy)
    return NULL;
  for (uint32_t i = 0; i < count; i++) {
    copy[i] = events[i];
    copy[i].object_name = lw_mem_arena_strdup(&kept_arena, events[i].object_name);
    copy[i].stack = keep_frames(events[i].stack);
  }
  return copy;
}

static bool grow(void **array, uint32_t *capacity, uint32_t count, size_t element) {
  if (count < *capacity)
    return true;
  uint32_t bigger = *capacity ? *capacity * 2 : 16;
  void *grown = lw_mem_arena_alloc(&kept_arena, bigger * element);
  if (!grown)
    return false;
  if (*array)
    memcpy(grown, *array, count * element);
  *array = grown;
  *capacity = bigger;
  return true;
}

/* The locks a kept thread holds, copied out of the report's arena (which
 * goes): only for a thread that ended holding them (abandoned_lock), for
 * which they stay true; what another thread held at some moment of its
 * life is its finding's evidence (the events), not its state at exit. */
static void keep_held(lw_report_thread *copy, const lw_report_thread *t) {
  copy->held = t->nheld ? lw_mem_arena_alloc(&kept_arena, t->nheld * sizeof *copy->held) : NULL;
  copy->nheld = copy->held ? t->nheld : 0;
  for (uint32_t k = 0; k < copy->nheld; k++) {
    copy->held[k] = t->held[k];
    copy->held[k].object_name = lw_mem_arena_strdup(&kept_arena, t->held[k].object_name);
    copy->held[k].stack = keep_frames(t->held[k].stack);
  }
}

static void keep_thread(const lw_report_thread *t, bool ended_holding) {
  for (uint32_t i = 0; i < nkept_threads; i++)
    if (kept_threads[i].id == t->id) {
      if (ended_holding && !kept_threads[i].nheld)
        keep_held(&kept_threads[i], t);
      return;
    }
  if (!grow((void **)&kept_threads, &kept_threads_capacity, nkept_threads, sizeof *kept_threads))
    return;
  /* A kept thread is shown only once it has ended (lw_reporting_add_
   * remembered): who it was, where it was created, and what it ended
   * holding. Nothing of it may point into the report's arena. */
  lw_report_thread *copy = &kept_threads[nkept_threads++];
  *copy = *t;
  copy->name = lw_mem_arena_strdup(&kept_arena, t->name);
  copy->start = lw_mem_arena_strdup(&kept_arena, t->start); /* may live in the report's arena */
  copy->create_stack = keep_frames(t->create_stack);
  copy->state = LW_STATE_EXITED;
  copy->has_wait = false;
  memset(&copy->wait, 0, sizeof copy->wait);
  memset(&copy->syscall, 0, sizeof copy->syscall);
  copy->stack = (lw_frames){0, NULL};
  copy->held = NULL;
  copy->nheld = 0;
  if (ended_holding)
    keep_held(copy, t);
}

void lw_reporting_remember(lw_report *r) {
  finish(r);
  for (uint32_t i = 0; i < r->nfindings; i++) {
    const lw_finding *f = &r->findings[i];
    /* Deadlocks describe the present: a later report finds them again if
     * they are still there. The other kinds are events. */
    if (f->kind == LW_FINDING_DEADLOCK)
      continue;
    if (!grow((void **)&kept_findings, &kept_findings_capacity, nkept_findings,
              sizeof *kept_findings))
      return;
    lw_finding *copy = &kept_findings[nkept_findings++];
    *copy = *f;
    copy->message = lw_mem_arena_strdup(&kept_arena, f->message);
    copy->events = keep_events(f->events, f->nevents);
    copy->nevents = copy->events ? f->nevents : 0;
    copy->threads =
        lw_mem_arena_alloc(&kept_arena, (f->nthreads ? f->nthreads : 1) * sizeof *copy->threads);
    if (copy->threads)
      memcpy(copy->threads, f->threads, f->nthreads * sizeof *copy->threads);
    copy->subject = NULL;
    copy->all_threads_shown = true;
    for (uint32_t k = 0; k < f->nthreads; k++) {
      lw_report_thread *t = lw_report_thread_by_id(r, f->threads[k]);
      if (t)
        keep_thread(t, f->kind == LW_FINDING_ABANDONED_LOCK);
    }
  }
}

void lw_reporting_add_remembered(lw_report *r) {
  if (!nkept_findings)
    return;
  /* Threads the kept findings name and the report lacks (they ended). */
  uint32_t missing = 0;
  for (uint32_t i = 0; i < nkept_threads; i++)
    missing += lw_report_thread_by_id(r, kept_threads[i].id) == NULL;
  if (missing) {
    lw_report_thread *threads =
        lw_mem_arena_alloc(&r->arena, (r->nthreads + missing) * sizeof *threads);
    if (threads) {
      memcpy(threads, r->threads, r->nthreads * sizeof *threads);
      for (uint32_t i = 0; i < nkept_threads; i++)
        if (!lw_report_thread_by_id(r, kept_threads[i].id)) {
          threads[r->nthreads++] = kept_threads[i]; /* exited (keep_thread) */
        }
      r->threads = threads;
    }
  }
  for (uint32_t i = 0; i < nkept_findings; i++) {
    lw_finding *f = lw_report_add_finding(r, kept_findings[i].kind, kept_findings[i].message,
                                          kept_findings[i].threads, kept_findings[i].nthreads);
    if (f) {
      f->events = kept_findings[i].events;
      f->nevents = kept_findings[i].nevents;
      f->has_location = kept_findings[i].has_location;
      f->location = kept_findings[i].location;
      f->count = kept_findings[i].count;
      f->all_threads_shown = true;
      f->shown_live = true;
    }
  }
}

/* ---- dumps ---- */

/*
 * /tmp/leakwatch-<uid>: ours alone, or refused. The rule, and each message,
 * is word for word the one of `leakwatch dump` (check_dump_directory in
 * scripts/leakwatch), which reads what we write there: a directory, not a
 * symbolic link, owned by the process's user, with no permission at all for
 * group or others (anyone who can list it can watch for dumps to appear).
 */
static bool dump_directory(char *out, size_t size) {
  snprintf(out, size, "/tmp/leakwatch-%u", (unsigned)getuid());
  if (mkdir(out, 0700) != 0 && errno != EEXIST) {
    lw_warn("cannot create dump directory %s: %s", out, strerror(errno));
    return false;
  }
  struct stat st;
  char why[96];
  if (lstat(out, &st) != 0)
    snprintf(why, sizeof why, "%s", strerror(errno));
  else if (S_ISLNK(st.st_mode))
    snprintf(why, sizeof why, "a symbolic link");
  else if (!S_ISDIR(st.st_mode))
    snprintf(why, sizeof why, "not a directory");
  else if (st.st_uid != getuid())
    snprintf(why, sizeof why, "owned by uid %u, not %u", (unsigned)st.st_uid, (unsigned)getuid());
  else if (st.st_mode & 077)
    snprintf(why, sizeof why, "open to other users (mode %o)", (unsigned)(st.st_mode & 07777));
  else
    return true;
  lw_warn("unsafe dump directory %s: %s", out, why);
  return false;
}

static void write_atomically(const char *path, const lw_buf *content) {
  char temp[LW_PATH_MAX + 32];
  snprintf(temp, sizeof temp, "%s.tmp", path);
  unlink(temp);
  int fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  bool ok = !content->failed && lw_write_all(fd, content->data, content->len);
  ok = close(fd) == 0 && ok;
  if (!ok || rename(temp, path) != 0)
    unlink(temp);
}

/*
 * Dump files: PID.dump.N.txt and PID.dump.N.json, N counting this
 * process's dumps (one more than the highest there), so the dumps of one
 * process are kept side by side; PID.dump.txt and PID.dump.json are hard
 * links to the newest (what `leakwatch dump PID` reads: it sees a new file
 * appear there). Pruned at each dump: this process keeps its newest
 * LW_DUMPS_KEPT; processes that no longer exist keep LW_DUMPS_GONE_KEPT
 * dumps between them, the newest; other live processes are left alone.
 */
#define LW_DUMPS_KEPT 5
#define LW_DUMPS_GONE_KEPT 20
#define LW_DUMPS_SCANNED 1024

typedef struct dump_entry {
  int pid;
  unsigned seq; /* 0: the PID.dump.txt/json links */
  int64_t mtime_ns;
} dump_entry;

/* "PID.dump.N.txt" (or .json), or "PID.dump.txt": pid and N (0). */
static bool parse_dump_name(const char *name, int *pid, unsigned *seq) {
  char *end;
  long p = strtol(name, &end, 10);
  if (end == name || p <= 0 || p > INT32_MAX || strncmp(end, ".dump.", 6) != 0)
    return false;
  const char *rest = end + 6;
  unsigned long n = 0;
  if (*rest >= '0' && *rest <= '9') {
    n = strtoul(rest, &end, 10);
    if (n == 0 || n > 1000000000ul || *end != '.')
      return false;
    rest = end + 1;
  }
  if (strcmp(rest, "txt") != 0 && strcmp(rest, "json") != 0)
    return false;
  *pid = (int)p;
  *seq = (unsigned)n;
  return true;
}

static void remove_dump(const char *dir, int pid, unsigned seq) {
  char path[LW_PATH_MAX];
  for (int ext = 0; ext < 2; ext++) {
    if (seq)
      snprintf(path, sizeof path, "%s/%d.dump.%u.%s", dir, pid, seq, ext ? "json" : "txt");
    else
      snprintf(path, sizeof path, "%s/%d.dump.%s", dir, pid, ext ? "json" : "txt");
    unlink(path);
  }
}

static bool process_gone(int pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

/* The dumps in `dir`, one entry per (pid, N) (txt and json together). */
static uint32_t scan_dumps(const char *dir, dump_entry *out, uint32_t max) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  uint32_t n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    int pid;
    unsigned seq;
    if (!parse_dump_name(e->d_name, &pid, &seq))
      continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      continue;
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    uint32_t i = 0;
    while (i < n && !(out[i].pid == pid && out[i].seq == seq))
      i++;
    if (i == n) {
      if (n == max)
        continue;
      out[n++] = (dump_entry){pid, seq, mtime};
    } else if (mtime > out[i].mtime_ns) {
      out[i].mtime_ns = mtime;
    }
  }
  closedir(d);
  return n;
}

/* The next N for this process. */
static unsigned next_dump_seq(const dump_entry *entries, uint32_t n, int pid) {
  unsigned highest = 0;
  for (uint32_t i = 0; i < n; i++)
    if (entries[i].pid == pid && entries[i].seq > highest)
      highest = entries[i].seq;
  return highest + 1;
}

/* Prune (see above); returns how many dumps were removed. */
static unsigned prune_dumps(const char *dir, dump_entry *entries, uint32_t n, int pid,
                            unsigned newest) {
  unsigned pruned = 0;
  /* This process: the newest LW_DUMPS_KEPT numbered ones. */
  for (uint32_t i = 0; i < n; i++)
    if (entries[i].pid == pid && entries[i].seq && entries[i].seq + LW_DUMPS_KEPT <= newest) {
      remove_dump(dir, pid, entries[i].seq);
      pruned++;
    }
  /* Processes that are gone: a link pair that is no dump of its own (it
   * names a numbered one) does not count. */
  uint32_t gone = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (entries[i].pid == pid || !process_gone(entries[i].pid))
      continue;
    bool link_only = false;
    if (entries[i].seq == 0)
      for (uint32_t k = 0; k < n && !link_only; k++)
        link_only = entries[k].pid == entries[i].pid && entries[k].seq;
    if (link_only)
      continue;
    entries[gone++] = entries[i]; /* compacted: only gone dumps from here */
  }
  while (gone > LW_DUMPS_GONE_KEPT) {
    uint32_t oldest = 0;
    for (uint32_t i = 1; i < gone; i++)
      if (entries[i].mtime_ns < entries[oldest].mtime_ns)
        oldest = i;
    remove_dump(dir, entries[oldest].pid, entries[oldest].seq);
    pruned++;
    /* Its last numbered dump gone: the links to it go too. */
    bool any_left = false;
    for (uint32_t i = 0; i < gone; i++)
      any_left |= i != oldest && entries[i].pid == entries[oldest].pid;
    if (!any_left && entries[oldest].seq)
      remove_dump(dir, entries[oldest].pid, 0);
    entries[oldest] = entries[--gone];
  }
  return pruned;
}

/* `link_path` becomes another name of `path`, atomically. */
static void link_atomically(const char *path, const char *link_path) {
  char temp[LW_PATH_MAX + 32];
  snprintf(temp, sizeof temp, "%s.tmp", link_path);
  unlink(temp);
  if (link(path, temp) != 0 || rename(temp, link_path) != 0)
    unlink(temp);
}

static bool long_wait_unreported(const lw_report_thread *t) {
  return !lw_once_seen(LW_ONCE_LONG_WAIT, lw_deadlock_long_wait_key(t));
}

void lw_reporting_dump(bool announce) {
  char dir[128];
  if (!dump_directory(dir, sizeof dir))
    return;
  lw_lock_acquire(&report_lock);
  lw_report report;
  memset(&report, 0, sizeof report);
  lw_snapshot_take(&report, "dump", NULL);
  lw_deadlock_find(&report, 0, -1);
  /* Long waits reported live come with the kept findings: the others. */
  if (lw_opt.hang_ms)
    lw_deadlock_long_waits_where(&report, (uint64_t)lw_opt.hang_ms, long_wait_unreported);
  lw_reporting_add_remembered(&report);
  finish(&report);
  const int pid = getpid();
  dump_entry *entries = lw_mem_arena_alloc(&report.arena, LW_DUMPS_SCANNED * sizeof *entries);
  uint32_t nentries = entries ? scan_dumps(dir, entries, LW_DUMPS_SCANNED) : 0;
  const unsigned seq = next_dump_seq(entries, nentries, pid);
  char base[LW_PATH_MAX], path[LW_PATH_MAX + 8], latest[LW_PATH_MAX + 8];
  snprintf(base, sizeof base, "%s/%d.dump.%u", dir, pid, seq);
  lw_buf text = {0}, json = {0};
  lw_report_text_write(&text, &report);
  lw_report_json_write(&json, &report);
  /* JSON first: a client waiting for the text finds both ready. */
  snprintf(path, sizeof path, "%s.json", base);
  write_atomically(path, &json);
  snprintf(latest, sizeof latest, "%s/%d.dump.json", dir, pid);
  link_atomically(path, latest);
  snprintf(path, sizeof path, "%s.txt", base);
  write_atomically(path, &text);
  snprintf(latest, sizeof latest, "%s/%d.dump.txt", dir, pid);
  link_atomically(path, latest);
  unsigned pruned = prune_dumps(dir, entries, nentries, pid, seq);
  lw_buf_free(&text);
  lw_buf_free(&json);
  lw_mem_arena_release(&report.arena);
  lw_lock_release(&report_lock);
  if (announce && lw_userfile_std_intact(STDERR_FILENO)) {
    char line[LW_PATH_MAX + 160];
    int len =
        snprintf(line, sizeof line,
                 "==%d== leakwatch: dump written to %s.txt and .json (%u old dump%s pruned)\n", pid,
                 base, pruned, pruned == 1 ? "" : "s");
    if (len > 0)
      lw_write_all(STDERR_FILENO, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
  }
}

/* An event's finding, live: its text now, labelled with its kind; it is
 * kept for the exit report (and its JSON). Report lock held. */
static void emit_live_event(lw_report *r, lw_finding_kind kind) {
  lw_buf out = {0};
  r->trigger = lw_finding_kind_name(kind);
  lw_report_text_write(&out, r);
  emit_text(&out);
  lw_buf_free(&out);
  r->trigger = "exit";
  lw_reporting_remember(r);
}

/* ---- abandoned locks ---- */

void lw_reporting_abandoned(lw_thread *t) {
  lw_lock_acquire(&report_lock);
  /* Once per acquisition site: a loop of threads that all forget the same
   * unlock is one bug. */
  bool fresh = false;
  const lw_held *held = lw_held_list(t);
  uint32_t listed = lw_held_listed(t);
  for (uint32_t i = 0; i < listed; i++)
    fresh |= lw_once_first(LW_ONCE_ABANDONED, held[i].site);
  if (!fresh) {
    lw_lock_release(&report_lock);
    return;
  }
  lw_report report;
  memset(&report, 0, sizeof report);
  report.only = t;
  lw_snapshot_take(&report, "exit", t);
  if (report.nthreads == 1 && report.threads[0].nheld > 0) {
    lw_report_thread *rt = &report.threads[0];
    lw_finding *f = lw_report_add_finding(&report, LW_FINDING_ABANDONED_LOCK, NULL, &rt->id, 1);
    lw_report_event *events = f ? lw_report_add_events(&report, f, rt->nheld) : NULL;
    if (events) {
      for (uint32_t i = 0; i < rt->nheld; i++) {
        events[i].role = LW_EVENT_TAKEN;
        events[i].thread = rt->id;
        events[i].call = rt->held[i].call;
        events[i].object = rt->held[i].object;
        events[i].object_kind = lw_lock_kind_objects[rt->held[i].kind & 3];
        events[i].of_thread = LW_EVENT_HELD_STACK;
      }
      f->subject = rt;
      finish(&report);
      lw_buf text = {0};
      lw_report_text_describe_thread(&text, rt);
      lw_buf_printf(&text, " ended holding %u lock%s:", rt->nheld, rt->nheld == 1 ? "" : "s");
      for (uint32_t i = 0; i < rt->nheld; i++) {
        const lw_frame *site = rt->held[i].stack.count ? &rt->held[i].stack.frames[0] : NULL;
        lw_buf_printf(&text, "%s 0x%" PRIxPTR " (%s", i ? "," : "", (uintptr_t)rt->held[i].object,
                      rt->held[i].call);
        if (site && site->function)
          lw_buf_printf(&text, " in %s", site->function);
        if (site && site->file)
          lw_buf_printf(&text, " at %s:%d", site->file, site->line);
        lw_buf_puts(&text, ")");
      }
      lw_buf_puts(&text, "; whoever waits for it next waits forever");
      f->message = lw_mem_arena_strdup(&report.arena, text.data);
      lw_buf_free(&text);
      emit_live_event(&report, LW_FINDING_ABANDONED_LOCK);
    }
  }
  lw_mem_arena_release(&report.arena);
  lw_lock_release(&report_lock);
}

/* ---- events: lock-order inversions, misuse ---- */

/* Threads a finding names that ended and were joined long ago: listed by id
 * only, so every id a finding names is in the report. */
static void lw_reporting_add_gone_threads(lw_report *r, const uint32_t *ids, uint32_t n) {
  uint32_t missing = 0;
  for (uint32_t i = 0; i < n; i++)
    missing += lw_report_thread_by_id(r, ids[i]) == NULL;
  if (!missing)
    return;
  lw_report_thread *threads =
      lw_mem_arena_alloc(&r->arena, (r->nthreads + missing) * sizeof *threads);
  if (!threads)
    return;
  memcpy(threads, r->threads, r->nthreads * sizeof *threads);
  r->threads = threads;
  for (uint32_t i = 0; i < n; i++) {
    if (lw_report_thread_by_id(r, ids[i]))
      continue;
    lw_report_thread *t = &r->threads[r->nthreads++];
    memset(t, 0, sizeof *t);
    t->id = ids[i];
    t->state = LW_STATE_EXITED;
    lw_thread_history h;
    if (lw_registry_history(ids[i], &h)) {
      t->tid = h.tid;
      t->has_parent = h.id != 0;
      t->parent = h.parent_id;
      t->name = h.name[0] ? lw_mem_arena_strdup(&r->arena, h.name) : NULL;
      t->start = lw_snapshot_function_name(r, h.start_address);
      t->create_stack = lw_snapshot_frames(r, h.create_stack.pc, h.create_stack.depth);
      t->is_main = h.id == 0;
    } else {
      t->gone = true; /* nothing kept: known by its id only */
    }
  }
}

void lw_reporting_event(lw_finding_kind kind, const char *message, const uint32_t *thread_ids,
                        uint32_t nthreads, const lw_reporting_evidence *evidence,
                        uint32_t nevidence) {
  lw_lock_acquire(&report_lock);
  lw_reporting_event_locked(kind, message, thread_ids, nthreads, evidence, nevidence);
  lw_lock_release(&report_lock);
}

void lw_reporting_event_locked(lw_finding_kind kind, const char *message,
                               const uint32_t *thread_ids, uint32_t nthreads,
                               const lw_reporting_evidence *evidence, uint32_t nevidence) {
  lw_report report;
  memset(&report, 0, sizeof report);
  report.no_stacks = true;  /* the edges carry their own stacks */
  report.no_signals = true; /* the program goes on */
  lw_snapshot_take(&report, "exit", NULL);
  lw_reporting_add_gone_threads(&report, thread_ids, nthreads);
  lw_finding *f = lw_report_add_finding(&report, kind, message, thread_ids, nthreads);
  lw_report_event *events = f ? lw_report_add_events(&report, f, nevidence) : NULL;
  if (events) {
    for (uint32_t i = 0; i < nevidence; i++) {
      const lw_reporting_evidence *in = &evidence[i];
      lw_report_event *e = &events[i];
      e->role = in->role;
      e->thread = in->thread;
      e->call = in->call;
      e->object = in->object;
      e->object_kind = in->object_kind;
      e->edge = in->edge;
      e->label = in->label;
      e->stack = lw_snapshot_frames(&report, in->pcs, in->depth);
    }
    finish(&report);
    if (report.nfindings)
      emit_live_event(&report, kind);
  }
  lw_mem_arena_release(&report.arena);
}
