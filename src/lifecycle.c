/*
 * lifecycle.c - start-up, fork, and when the exit report is made.
 *
 * The exit report must come after everything the program does on its way
 * out: atexit handlers, C++ static destructors, and the destructors of every
 * library (libuv joins its pool in one). ld.so runs library destructors from
 * one atexit entry (_dl_fini), registered before all others, so it runs
 * last. Our own ELF destructor runs inside it and registers one more exit
 * handler (with no DSO handle, so our own __cxa_finalize does not run it);
 * glibc's exit() sees the new handler after _dl_fini returns and runs it:
 * that is the report, after every destructor, before stdio is flushed and
 * the process ends. If findings change the exit status, the report flushes
 * stdio itself and calls _exit.
 */
#define _GNU_SOURCE
#include "lifecycle.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "interpose.h"
#include "loader.h"
#include "lockorder.h"
#include "misuse.h"
#include "mem.h"
#include "once.h"
#include "options.h"
#include "reporting.h"
#include "signals.h"
#include "stack.h"
#include "suppress.h"
#include "watcher.h"

uint64_t lw_start_ns;
uint64_t lw_tick_resolution_ns;
static _Atomic int exit_report_done;

/*
 * fork: every lock of the shim is held across it, so the child's copies are
 * whole; in the order they nest (a report takes the registry; the graph
 * takes the history and memory; everything takes memory last).
 */
static void fork_prepare(void) {
  lw_thread *inside = lw_shim_enter();
  lw_reporting_fork_prepare();
  lw_registry_fork_prepare();
  lw_lockorder_fork_prepare();
  lw_registry_history_fork_prepare();
  lw_misuse_fork_prepare();
  lw_once_fork_prepare();
  lw_mem_fork_prepare();
  lw_loader_fork_prepare(); /* last: walks under way take no shim lock */
  lw_shim_leave(inside);
}

static void fork_parent(void) {
  lw_loader_fork_parent();
  lw_mem_fork_parent();
  lw_once_fork_parent();
  lw_misuse_fork_parent();
  lw_registry_history_fork_parent();
  lw_lockorder_fork_parent();
  lw_registry_fork_parent();
  lw_reporting_fork_parent();
}

/* The child keeps of its parent only what is true for it: the locks its
 * one thread holds, the lock-order graph (the code's orders). What was
 * reported, and the findings kept for the exit report, were the
 * parent's: the child reports what it does itself. */
static void fork_child(void) {
  lw_loader_fork_child();
  lw_stack_fork_child();
  lw_mem_fork_child();
  lw_once_fork_child();
  lw_misuse_fork_child();
  lw_registry_history_fork_child();
  lw_lockorder_fork_child();
  lw_thread *self = lw_self_any();
  lw_registry_fork_child(self);
  lw_reporting_fork_child();
  lw_watcher_fork_child();
  lw_signals_fork_child();
  lw_start_ns = lw_now_ns();
  atomic_store(&exit_report_done, 0);
}

bool lw_lifecycle_start(void) {
  lw_start_ns = lw_now_ns();
  struct timespec tick;
  if (clock_getres(CLOCK_MONOTONIC_COARSE, &tick) == 0)
    lw_tick_resolution_ns = (uint64_t)tick.tv_sec * 1000000000u + (uint64_t)tick.tv_nsec;
  lw_options_init();
  lw_stack_init(lw_watcher_run_soon, lw_watcher_outside_request);
  lw_suppress_init();
  lw_lockorder_init();
  lw_registry_init();
  lw_thread_end_key_init();
  pthread_atfork(fork_prepare, fork_parent, fork_child);
  lw_watcher_start();
  lw_signals_start(); /* after the dump handler: dump_signal wins */
  lw_verbose(1, "started in pid %d", getpid());
  return true;
}

void lw_lifecycle_thread_ending(lw_thread *t) {
  if (lw_held_listed(t) == 0)
    return;
  lw_thread *inside = lw_shim_enter();
  lw_reporting_abandoned(t);
  lw_shim_leave(inside);
}

bool lw_lifecycle_exiting(void) { return atomic_load(&exit_report_done) != 0; }

/* The report at exit: after every destructor (see the file comment).
 * `status` is what the program exits with: exitcode replaces only a 0, so
 * a program that fails on its own keeps its status (the findings are still
 * reported). */
static void exit_report(int status, void *unused) {
  (void)unused;
  if (atomic_exchange(&exit_report_done, 1))
    return;
  if (lw_init_state != LW_INIT_READY)
    return;
  lw_thread *inside = lw_shim_enter();
  lw_registry_judge_unjoined(); /* locks of joinable threads nobody joined */
  lw_verbose(1, "lock-order graph: %zu KiB", lw_lockorder_memory() / 1024);
  int findings = lw_reporting_at_exit(lw_self_any(), lw_lockorder_report_pending_locked);
  lw_shim_leave(inside);
  if (findings > 0 && lw_opt.exitcode != 0 && status == 0) {
    fflush(NULL); /* what exit() would have done after us */
    _exit(lw_opt.exitcode);
  }
}

/*
 * exit() from several threads at once. glibc 2.36 lets every caller run the
 * exit handlers still listed and then _exit: the first caller to find the
 * list empty ends the process (with its own status) while another thread is
 * still inside _dl_fini, where our destructor registers the report, and
 * marks the list closed so the registration fails. So exit is interposed:
 * the first thread to call it goes on; a later caller on another thread
 * waits for good (the process is ending under it), out of the report, as
 * exit does under a lock in newer glibc. A nested exit on the first thread
 * (from an exit handler) goes on. The owner is tagged with the pid: a child
 * forked while a thread was exiting starts with no owner.
 */
static _Atomic uint64_t exit_owner; /* pid << 32 | tid of the exiting thread */
static _Atomic uint32_t exit_parked;

static __attribute__((noreturn)) void exit_park(void) {
  lw_thread *self = lw_self_any();
  if (self)
    atomic_fetch_or(&self->flags, LW_THREAD_IGNORED); /* exiting, not leaked */
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
  for (;;)
    lw_futex_wait(&exit_parked, 0, NULL);
}

LW_EXPORT void exit(int status) {
  const uint64_t pid = (uint64_t)getpid();
  const uint64_t me = pid << 32 | (uint32_t)lw_gettid();
  uint64_t seen = atomic_load(&exit_owner);
  while (seen != me) {
    if (seen != 0 && seen >> 32 == pid)
      exit_park();
    if (atomic_compare_exchange_weak(&exit_owner, &seen, me))
      break;
  }
  lw_real.exit(status);
  __builtin_unreachable();
}

/*
 * chroot: the shared libraries the shim loads when first needed (libunwind;
 * stack.c) may be out of reach after it, so libunwind is loaded before.
 * (libdw would load, but the modules it reads by path would still be out
 * of reach: frames after chroot stay bare, and the report says why.)
 */
LW_EXPORT int chroot(const char *path) {
  if (atomic_load(&lw_init_state) == LW_INIT_READY && lw_shim_depth == 0) {
    lw_thread *inside = lw_shim_enter();
    lw_stack_load_unwinder(); /* keeps errno */
    lw_shim_leave(inside);
  }
  return lw_real.chroot(path);
}

__attribute__((constructor(101))) static void lw_constructor(void) { lw_init_ensure(); }

__attribute__((destructor(101))) static void lw_destructor(void) {
  /* on_exit: like __cxa_atexit with no DSO handle (our own __cxa_finalize
   * does not run it), and the handler is told the exit status. */
  if (on_exit(exit_report, NULL) != 0)
    exit_report(0, NULL); /* exit handlers already done: report now */
}
