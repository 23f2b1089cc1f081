/*
 * inspect.c - leakwatch-inspect: a report of a process that does not run
 * under the shim (or of a core file), made by the shim's own analysis and
 * writers, trigger "attach".
 *
 *   leakwatch-inspect [--json] [--shim-idle] PID
 *   leakwatch-inspect [--json] --core FILE [--exe PROGRAM]
 *
 * The report goes to stdout; how long the process was stopped to stderr.
 * `leakwatch dump` runs it for processes without the shim, and with
 * --shim-idle for those whose shim has no helper thread yet.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "inspect.h"
#include "registry.h"
#include "reporting.h"
#include "watcher.h"
#include "analysis.h"
#include "deadlock.h"
#include "report_text.h"
#include "report_json.h"

static const char live_note[] =
    "attached from outside (no shim in the process): creation stacks, wait ages, lock "
    "history, locks held without a waiter and who signalled a condition variable are not "
    "known";
static const char idle_shim_note[] =
    "attached from outside: leakwatch is loaded but idle in this process (its helper "
    "thread starts with the first thread or wait); creation stacks, wait ages, lock "
    "history, locks held without a waiter and who signalled a condition variable are not "
    "known";
static const char core_note[] =
    "read from a core file (no shim in the process): creation stacks, wait ages, lock "
    "history, locks held without a waiter, who signalled a condition variable and the "
    "signal handlers are not known";

static lw_inspect_target target;

/* deadlock.c's view of the process ("all threads are asleep"). */
static int source_tasks(void) { return target.tasks; }
static bool source_catches(void) { return target.catches_signals; }
static bool source_read(const void *address, void *out, size_t size) {
  return target.read(&target, (uintptr_t)address, out, size);
}
static const lw_deadlock_source source = {source_tasks, source_catches, source_read};

static void usage(void) {
  fprintf(stderr, "usage: leakwatch-inspect [--json] [--shim-idle] PID\n"
                  "       leakwatch-inspect [--json] --core FILE [--exe PROGRAM]\n");
  exit(LW_INSPECT_USAGE);
}

/* "YYYY-MM-DDTHH:MM:SSZ" */
static void utc_now(char *out, size_t size) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The start routine of a thread: the outermost frame outside glibc (whose
 * start_thread and clone3 begin every thread). */
static const char *start_routine(const lw_frames *frames) {
  for (uint32_t i = frames->count; i-- > 0;) {
    const lw_frame *f = &frames->frames[i];
    if (f->module && strstr(f->module, "/libc.so"))
      continue;
    if (f->function && (strstr(f->function, "clone") || strcmp(f->function, "start_thread") == 0))
      continue; /* a static program: glibc's frames are in it */
    return f->function;
  }
  return NULL;
}

static int find_libc(Dwfl_Module *module, void **userdata, const char *name, Dwarf_Addr start,
                     void *arg) {
  (void)module, (void)userdata, (void)start;
  if (strstr(name, "/libc.so"))
    *(bool *)arg = true;
  return DWARF_CB_OK;
}

/* A static program without a symbol table: no pthread function is seen in
 * the frames, and its futex waits cannot be told apart. Say so once. */
static void warn_unnamed_waits(const lw_report *r) {
  bool dynamic = false;
  dwfl_getmodules(target.dwfl, find_libc, &dynamic, 0);
  for (uint32_t i = 0; i < r->nthreads && !dynamic; i++)
    if (r->threads[i].has_wait && r->threads[i].wait.call_id == LW_CALL_futex) {
      fprintf(stderr,
              "leakwatch: %s is a static program without a symbol table: its waits are shown "
              "as futex waits, without owners or deadlocks; rebuild it without stripping (-s)\n",
              target.exe);
      return;
    }
}

int main(int argc, char **argv) {
  bool json = false, shim_idle = false;
  const char *core = NULL, *exe = NULL;
  int pid = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      json = true;
    else if (strcmp(argv[i], "--shim-idle") == 0) /* leakwatch dump: the shim without its helper */
      shim_idle = true;
    else if (strcmp(argv[i], "--core") == 0 && i + 1 < argc)
      core = argv[++i];
    else if (strcmp(argv[i], "--exe") == 0 && i + 1 < argc)
      exe = argv[++i];
    else if (argv[i][0] != '-' && !pid && atoi(argv[i]) > 0)
      pid = atoi(argv[i]);
    else
      usage();
  }
  if ((pid > 0) == (core != NULL) || (exe && !core) || (shim_idle && core))
    usage();

  int status = core ? lw_inspect_core(&target, core, exe) : lw_inspect_live(&target, pid);
  if (status != 0)
    return status;

  lw_report r;
  memset(&r, 0, sizeof r);
  r.trigger = "attach";
  r.note = core ? core_note : shim_idle ? idle_shim_note : live_note;
  r.when = "now";
  r.pid = target.pid;
  r.exe = target.exe;
  r.uptime_ms = target.uptime_ms;
  utc_now(r.time, sizeof r.time);
  r.nthreads = target.nthreads;
  r.threads = lw_mem_arena_alloc(&r.arena, (target.nthreads + 1) * sizeof *r.threads);
  uint32_t *stack_from = calloc(target.nthreads + 1, sizeof *stack_from);
  if (!r.threads || !stack_from) {
    lw_inspect_release(&target);
    return LW_INSPECT_FAILED;
  }
  for (uint32_t i = 0; i < target.nthreads; i++) {
    lw_report_thread *t = &r.threads[i];
    t->id = i; /* main first: T0 */
    t->tid = target.threads[i].tid;
    t->name = target.threads[i].name[0] ? target.threads[i].name : NULL;
    t->is_main = t->tid == target.pid;
    t->adopted = !t->is_main; /* created before anyone watched */
    t->state = LW_STATE_RUNNING;
  }
  /* Everything that had to be read while the process was stopped is read:
   * let it go before looking anything up. */
  if (!core)
    lw_inspect_release(&target);
  for (uint32_t i = 0; i < target.nthreads; i++)
    lw_inspect_name_frames(&target, &target.threads[i]);
  lw_inspect_waits(&target, &r, stack_from);
  warn_unnamed_waits(&r);

  for (uint32_t i = 0; i < r.nthreads; i++) {
    lw_report_thread *t = &r.threads[i];
    const lw_inspect_thread *it = &target.threads[i];
    lw_frames all = lw_inspect_frames(&target, &r, it->pcs, it->depth, true);
    if (!t->is_main)
      t->start = start_routine(&all);
    uint32_t from = stack_from[i] < it->depth ? stack_from[i] : 0;
    if (t->has_wait)
      t->wait.stack =
          from ? lw_inspect_frames(&target, &r, it->pcs + from, it->depth - from, false) : all;
    else
      t->stack = all;
  }

  lw_deadlock_set_source(&source);
  lw_deadlock_find(&r, 0, 0);
  lw_analysis_complete(&r);

  lw_buf out = {0};
  if (json)
    lw_report_json_write(&out, &r);
  else
    lw_report_text_write(&out, &r);
  if (out.data)
    fwrite(out.data, 1, out.len, stdout);
  fflush(stdout);
  if (!core)
    fprintf(stderr, "leakwatch: process %d was stopped for %.1f ms (%u threads)\n", target.pid,
            (double)target.stopped_ns / 1e6, target.nthreads);
  lw_buf_free(&out);
  lw_mem_arena_release(&r.arena);
  free(stack_from);
  return out.failed ? LW_INSPECT_FAILED : 0;
}
