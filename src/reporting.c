/*
 * reporting.c - make a report and send it out: text to log_path (default
 * stderr), JSON to json_path. Both are opened by userfile.c's one rule: a
 * regular file's JSON is written to a temporary file and renamed, so a
 * reader sees all of it or nothing; a FIFO or device gets it directly.
 */
#define _GNU_SOURCE
#include "reporting.h"

#include <errno.h>
#include <fcntl.h>
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

void lw_reporting_emit(lw_report *r) {
  bool live = strcmp(r->trigger, "exit") != 0 && strcmp(r->trigger, "verify") != 0;
  if (r->nfindings > 0 || lw_opt.json_path[0] || lw_opt.sarif_path[0] || lw_opt.verbosity > 0 ||
      live)
    finish(r);
  /* Nothing (left) to say: a clean run prints nothing. */
  bool show_text = r->nfindings > 0 || lw_opt.verbosity > 0 || strcmp(r->trigger, "dump") == 0;
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
static void exit_grace(lw_thread *reporter) {
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

int lw_reporting_at_exit(lw_thread *reporter, void (*pending_locked)(void)) {
  exit_grace(reporter);
  /* Held from here to the end of the process: the helper thread must not
   * start a report while exit() tears down the libraries it would use. */
  lw_lock_acquire(&report_lock);
  pending_locked();
  lw_report report;
  memset(&report, 0, sizeof report);
  lw_snapshot_take(&report, "exit", reporter);
  lw_analysis_exit(&report);
  lw_deadlock_find(&report, 0, -1);
  lw_reporting_add_remembered(&report);
  lw_reporting_emit(&report);
  int findings = counted_findings(&report);
  lw_suppress_list_unused();
  lw_mem_arena_release(&report.arena);
  return findings;
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

static void keep_thread(const lw_report_thread *t) {
  for (uint32_t i = 0; i < nkept_threads; i++)
    if (kept_threads[i].id == t->id)
      return;
  if (!grow((void **)&kept_threads, &kept_threads_capacity, nkept_threads, sizeof *kept_threads))
    return;
  lw_report_thread *copy = &kept_threads[nkept_threads++];
  *copy = *t;
  copy->name = lw_mem_arena_strdup(&kept_arena, t->name);
  copy->start = lw_mem_arena_strdup(&kept_arena, t->start); /* may live in the report's arena */
  copy->create_stack = keep_frames(t->create_stack);
  copy->stack = keep_frames(t->stack);
  copy->wait.stack = keep_frames(t->wait.stack);
  copy->wait.signal_stack = keep_frames(t->wait.signal_stack);
  copy->held = t->nheld ? lw_mem_arena_alloc(&kept_arena, t->nheld * sizeof *copy->held) : NULL;
  copy->nheld = copy->held ? t->nheld : 0;
  for (uint32_t k = 0; k < copy->nheld; k++) {
    copy->held[k] = t->held[k];
    copy->held[k].stack = keep_frames(t->held[k].stack);
  }
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
        keep_thread(t);
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
          threads[r->nthreads] = kept_threads[i];
          threads[r->nthreads].state = LW_STATE_EXITED;
          threads[r->nthreads].has_wait = false;
          r->nthreads++;
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

void lw_reporting_dump(void) {
  char dir[128];
  if (!dump_directory(dir, sizeof dir))
    return;
  lw_lock_acquire(&report_lock);
  lw_report report;
  memset(&report, 0, sizeof report);
  lw_snapshot_take(&report, "dump", NULL);
  lw_deadlock_find(&report, 0, -1);
  if (lw_opt.hang_ms)
    lw_deadlock_long_waits(&report, (uint64_t)lw_opt.hang_ms);
  lw_reporting_add_remembered(&report);
  finish(&report);
  char path[LW_PATH_MAX];
  lw_buf text = {0}, json = {0};
  lw_report_text_write(&text, &report);
  lw_report_json_write(&json, &report);
  /* JSON first: a client waiting for the text finds both ready. */
  snprintf(path, sizeof path, "%s/%d.dump.json", dir, getpid());
  write_atomically(path, &json);
  snprintf(path, sizeof path, "%s/%d.dump.txt", dir, getpid());
  write_atomically(path, &text);
  lw_buf_free(&text);
  lw_buf_free(&json);
  lw_mem_arena_release(&report.arena);
  lw_lock_release(&report_lock);
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
