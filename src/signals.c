/*
 * signals.c - report_signals: report, then die of the signal (signals.h).
 *
 * Who writes the report. The handler runs on whichever program thread the
 * kernel picked, wherever that thread was: in malloc, in dlopen, inside the
 * shim holding the report lock. A report needs all of those. So:
 *  - with the helper thread running (any process that started a thread or
 *    blocked in a wait), the handler asks the helper (a word and a futex
 *    wake, async-signal-safe, as the dump signal does) and waits; the
 *    helper reports and kills the process. If the interrupted thread was
 *    inside the shim (it may hold a lock the report needs), the handler
 *    returns at once instead of waiting, so the thread can let go of it;
 *  - without a helper (a single-threaded process), the handler reports on
 *    the interrupted thread itself, unless that thread was inside the shim
 *    (then it dies at once, saying why). A single thread blocked in read()
 *    or poll() holds no lock; one stopped inside malloc could deadlock the
 *    report, so a watchdog timer ends the process with the signal after
 *    LW_SIGNAL_REPORT_MS whatever happens.
 * Before any of it the handler puts the signal back at its default action
 * and unblocks it: the same signal again (a second Ctrl-C) ends the process
 * at once, as users expect when a tool takes too long.
 *
 * What the program sees. sigaction(SIGTERM, NULL, &old) must say SIG_DFL
 * (CPython, for one, installs its KeyboardInterrupt handler only when
 * SIGINT is at SIG_DFL; shells and daemons check too). So the functions
 * that set or read a disposition through the PLT are interposed: for a
 * signal the shim handles (state OURS) they answer with the action the
 * program last set (`program_view`), and setting SIG_DFL keeps the shim's
 * handler (the program wants the default: death, so a report first).
 * Setting a handler or SIG_IGN gives the signal to the program for good
 * (state PROGRAM) until it sets SIG_DFL again. Not seen: glibc's internal
 * calls (system(), siginterrupt(), sigset() go to __sigaction without the
 * PLT: system() restores what it found, the others may read the shim's
 * handler), rt_sigaction made by raw system calls, and /proc/self/status.
 */
#define _GNU_SOURCE
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "interpose.h"
#include "lifecycle.h"
#include "options.h"
#include "registry.h"
#include "lockorder.h"
#include "reporting.h"
#include "stack.h"
#include "userfile.h"
#include "watcher.h"

/* How long the report may take before the signal acts anyway. */
#define LW_SIGNAL_REPORT_MS 10000
#define LW_SIGNAL_LIMIT 65 /* signal numbers 1..64 */

enum { SIGNAL_UNMANAGED, SIGNAL_OURS, SIGNAL_PROGRAM };
static _Atomic int state[LW_SIGNAL_LIMIT];
/* While OURS: the action the program believes is installed (SIG_DFL). */
LW_COLD static struct sigaction program_view[LW_SIGNAL_LIMIT];

static _Atomic uint32_t claimed;   /* the signal being reported; the first one wins */
static _Atomic uint32_t requested; /* the signal the helper is asked to report */
static _Atomic uint32_t finished;  /* futex word the waiting handler sleeps on */
LW_COLD static lw_signals_interrupted interrupted;
static _Atomic bool interrupted_valid;

const lw_signals_interrupted *lw_signals_interrupted_thread(void) {
  return atomic_load(&interrupted_valid) ? &interrupted : NULL;
}

/* Where the signal found the handling thread, from its saved registers.
 * x86_64: a restartable system call was rewound to its `syscall`
 * instruction with the call's number back in rax (SA_RESTART); one that
 * returned EINTR sits just after it, its number lost; anything else was
 * running in user space. */
static void record_interrupted(void *context) {
  lw_thread *self = lw_self_tracked();
  if (!self)
    return;
  const ucontext_t *uc = context;
  const greg_t *r = uc->uc_mcontext.gregs;
  const unsigned char *pc = (const unsigned char *)r[REG_RIP];
  lw_report_syscall *call = &interrupted.syscall;
  memset(call, 0, sizeof *call);
  if (pc[0] == 0x0f && pc[1] == 0x05 && r[REG_RAX] != SYS_restart_syscall) {
    call->where = LW_WHERE_SYSCALL;
    call->number = r[REG_RAX];
    const greg_t args[6] = {r[REG_RDI], r[REG_RSI], r[REG_RDX], r[REG_R10], r[REG_R8], r[REG_R9]};
    for (int i = 0; i < 6; i++)
      call->args[i] = (uint64_t)args[i];
  } else if (!(pc[-2] == 0x0f && pc[-1] == 0x05)) {
    call->where = LW_WHERE_USER;
  }
  interrupted.has_context = lw_stack_context_unwindable(context);
  if (interrupted.has_context)
    memcpy(&interrupted.context, context, sizeof interrupted.context);
  interrupted.thread = self;
  atomic_store(&interrupted_valid, true);
}

/* ---- dying of the signal ---- */

static void set_default(int signo) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  lw_real.sigaction(signo, &action, NULL);
}

static void unblock(int signo) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* Default action, unblocked on this thread, raised at this thread: the
 * process ends as the signal would have ended it (any thread, the helper
 * too: a fatal default action takes the whole process). */
static __attribute__((noreturn)) void die_of(int signo) {
  set_default(signo);
  unblock(signo);
  syscall(SYS_tgkill, getpid(), lw_gettid(), signo);
  /* Only a signal whose default is not fatal gets here (none of the
   * table's report signals): end the way a shell would tell. */
  _exit(128 + signo);
}

/* One line on the stderr the process started with; async-signal-safe. */
static void say(int signo, const char *what) {
  if (!lw_userfile_std_intact(STDERR_FILENO))
    return;
  const char *name = lw_options_signal_name(signo);
  char line[256];
  size_t used = 0;
  const char *parts[] = {"leakwatch: ", name ? name : "signal", " ", what, "\n"};
  for (size_t i = 0; i < LW_ARRAY_SIZE(parts); i++)
    for (const char *p = parts[i]; *p && used < sizeof line; p++)
      line[used++] = *p;
  lw_write_all(STDERR_FILENO, line, used);
}

/* In-handler reports: whatever the report meets, the signal acts in the
 * end (this thread has it unblocked and at its default by now). */
static void arm_watchdog(int signo) {
  struct sigevent event;
  memset(&event, 0, sizeof event);
  event.sigev_notify = SIGEV_THREAD_ID;
  event.sigev_signo = signo;
  event._sigev_un._tid = lw_gettid();
  timer_t timer;
  if (timer_create(CLOCK_MONOTONIC, &event, &timer) != 0)
    return;
  struct itimerspec when;
  memset(&when, 0, sizeof when);
  when.it_value.tv_sec = LW_SIGNAL_REPORT_MS / 1000;
  timer_settime(timer, 0, &when, NULL);
}

static void report(int signo, lw_thread *reporter) {
  lw_reporting_signal(signo, lw_options_signal_name(signo), reporter,
                      lw_lockorder_report_pending_locked);
}

/* ---- the handler ---- */

static void report_handler(int signo, siginfo_t *info, void *context) {
  (void)info;
  int saved_errno = errno;
  if (atomic_load(&state[signo]) != SIGNAL_OURS) {
    /* The program took the signal over while it was on its way: it gets
     * it again, for its own action, when this handler returns. */
    syscall(SYS_tgkill, getpid(), lw_gettid(), signo);
    errno = saved_errno;
    return;
  }
  uint32_t none = 0;
  if (!atomic_compare_exchange_strong(&claimed, &none, (uint32_t)signo))
    die_of(signo); /* a report is under way: a second signal ends it at once */
  /* From here on, the same signal again ends the process at once. */
  set_default(signo);
  unblock(signo);
  if (atomic_load(&lw_init_state) != LW_INIT_READY || lw_lifecycle_exiting())
    die_of(signo); /* the exit report is under way or done */
  const bool inside = lw_shim_depth > 0;
  if (!inside)
    record_interrupted(context);
  if (lw_watcher_internal_threads() > 0) {
    atomic_store(&requested, (uint32_t)signo);
    lw_watcher_wake();
    if (inside) {
      /* It may hold what the helper needs: let it go on and let go. */
      errno = saved_errno;
      return;
    }
    /* The helper ends the process; if it cannot in time, the signal
     * acts without the report. Waiting inside the shim: the wait is not
     * the program's (the syscall wrapper passes it through). */
    lw_shim_enter();
    const uint64_t deadline = lw_now_ns() + (uint64_t)LW_SIGNAL_REPORT_MS * 1000000u;
    for (uint64_t now = lw_now_ns(); now < deadline; now = lw_now_ns()) {
      uint64_t left = deadline - now;
      struct timespec pause = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
      lw_futex_wait(&finished, 0, &pause);
    }
    say(signo, "arrived: no report in time; the process ends without it");
    die_of(signo);
  }
  if (inside) {
    say(signo, "arrived inside leakwatch's own work: no report");
    die_of(signo);
  }
  arm_watchdog(signo);
  lw_shim_enter(); /* never left: the process ends in here */
  report(signo, NULL);
  die_of(signo);
}

bool lw_signals_pending(void) { return atomic_load(&requested) != 0; }

void lw_signals_serve(void) {
  int signo = (int)atomic_load(&requested);
  if (!signo)
    return;
  report(signo, NULL);
  die_of(signo);
}

/* ---- installing, and what the program sees ---- */

static int install_ours(int signo) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = report_handler;
  /* SA_RESTART: a thread the handler returns to (it was inside the shim)
   * goes on with the call it was in. */
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  return lw_real.sigaction(signo, &action, NULL);
}

void lw_signals_start(void) {
  uint64_t wanted = lw_opt.report_signals;
  if (lw_opt.dump_signal > 0)
    wanted &= ~(1ull << (lw_opt.dump_signal - 1)); /* dump_signal=QUIT: QUIT dumps */
  for (int signo = 1; signo < LW_SIGNAL_LIMIT; signo++) {
    if (!(wanted & (1ull << (signo - 1))))
      continue;
    struct sigaction now;
    if (lw_real.sigaction(signo, NULL, &now) != 0)
      continue;
    if (now.sa_handler != SIG_DFL) {
      /* Ignored since the parent (nohup), or a handler from a constructor
       * that ran before ours: the program's. */
      atomic_store(&state[signo], SIGNAL_PROGRAM);
      continue;
    }
    /* program_view starts all default (zeros): writing the same would
     * touch its pages in every process. (Only the mask's first word is
     * the kernel's: 64 signals; glibc leaves the rest as it found it.) */
    if (now.sa_flags != 0 || now.sa_mask.__val[0] != 0)
      program_view[signo] = now;
    atomic_store(&state[signo], SIGNAL_OURS);
    if (install_ours(signo) != 0)
      atomic_store(&state[signo], SIGNAL_UNMANAGED);
  }
}

uint64_t lw_signals_ours(void) {
  uint64_t mask = 0;
  for (int signo = 1; signo < LW_SIGNAL_LIMIT; signo++)
    if (atomic_load(&state[signo]) == SIGNAL_OURS)
      mask |= 1ull << (signo - 1);
  return mask;
}

void lw_signals_fork_child(void) {
  /* The handlers are inherited, and so is the duty; a report the parent
   * was making is the parent's. */
  atomic_store(&claimed, 0);
  atomic_store(&requested, 0);
  atomic_store(&finished, 0);
  atomic_store(&interrupted_valid, false);
}

static bool managed(int signo) {
  return signo > 0 && signo < LW_SIGNAL_LIMIT && atomic_load(&state[signo]) != SIGNAL_UNMANAGED;
}

/* sigaction for a signal of report_signals (see the file comment).
 * Return value and errno are glibc's where glibc is called. */
static int managed_sigaction(int signo, const struct sigaction *act, struct sigaction *old) {
  const int was = atomic_load(&state[signo]);
  struct sigaction before;
  if (was == SIGNAL_OURS)
    before = program_view[signo];
  if (!act) {
    if (was != SIGNAL_OURS)
      return lw_real.sigaction(signo, NULL, old);
    if (old)
      *old = before;
    return 0;
  }
  if (act->sa_handler == SIG_DFL) {
    /* The default: death by the signal, so the report before it. */
    if (was != SIGNAL_OURS) {
      program_view[signo] = *act;
      atomic_store(&state[signo], SIGNAL_OURS);
      struct sigaction action;
      memset(&action, 0, sizeof action);
      action.sa_sigaction = report_handler;
      action.sa_flags = SA_SIGINFO | SA_RESTART;
      sigemptyset(&action.sa_mask);
      if (lw_real.sigaction(signo, &action, &before) != 0) {
        atomic_store(&state[signo], was);
        return -1;
      }
    } else {
      program_view[signo] = *act;
    }
    if (old)
      *old = before;
    return 0;
  }
  struct sigaction real_old;
  if (lw_real.sigaction(signo, act, &real_old) != 0)
    return -1;
  atomic_store(&state[signo], SIGNAL_PROGRAM);
  if (old)
    *old = was == SIGNAL_OURS ? before : real_old;
  return 0;
}

LW_EXPORT int sigaction(int signo, const struct sigaction *act, struct sigaction *old) {
  if (!managed(signo))
    return lw_real.sigaction(signo, act, old);
  return managed_sigaction(signo, act, old);
}

/* signal() and its relatives, as glibc builds them on sigaction. */
static __sighandler_t managed_signal(int signo, __sighandler_t handler, int flags, bool mask_self) {
  if (handler == SIG_ERR) {
    errno = EINVAL;
    return SIG_ERR;
  }
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = handler;
  sigemptyset(&act.sa_mask);
  if (mask_self)
    sigaddset(&act.sa_mask, signo);
  act.sa_flags = flags;
  if (managed_sigaction(signo, &act, &old) != 0)
    return SIG_ERR;
  return old.sa_handler;
}

LW_EXPORT __sighandler_t signal(int signo, __sighandler_t handler) {
  if (!managed(signo))
    return lw_real.signal(signo, handler);
  return managed_signal(signo, handler, SA_RESTART, true);
}

LW_EXPORT __sighandler_t bsd_signal(int signo, __sighandler_t handler) {
  if (!managed(signo))
    return lw_real.bsd_signal(signo, handler);
  return managed_signal(signo, handler, SA_RESTART, true);
}

LW_EXPORT __sighandler_t sysv_signal(int signo, __sighandler_t handler) {
  if (!managed(signo))
    return lw_real.sysv_signal(signo, handler);
  return managed_signal(signo, handler, SA_RESETHAND | SA_NODEFER, false);
}

/* System V's sigset, as glibc builds it on sigaction and the signal mask:
 * SIG_HOLD blocks the signal; anything else sets the disposition and
 * unblocks it. Returns SIG_HOLD if the signal was blocked, else the
 * disposition the program had (its view, for a signal the shim handles). */
LW_EXPORT __sighandler_t sigset(int signo, __sighandler_t handler) {
  if (!managed(signo))
    return lw_real.sigset(signo, handler);
  sigset_t one, before;
  sigemptyset(&one);
  sigaddset(&one, signo);
  struct sigaction old;
  if (handler == SIG_HOLD) {
    if (sigprocmask(SIG_BLOCK, &one, &before) < 0)
      return SIG_ERR;
    if (sigismember(&before, signo))
      return SIG_HOLD;
    if (managed_sigaction(signo, NULL, &old) != 0)
      return SIG_ERR;
    return old.sa_handler;
  }
  struct sigaction act;
  memset(&act, 0, sizeof act);
  act.sa_handler = handler;
  sigemptyset(&act.sa_mask);
  if (managed_sigaction(signo, &act, &old) != 0)
    return SIG_ERR;
  if (sigprocmask(SIG_UNBLOCK, &one, &before) < 0)
    return SIG_ERR;
  return sigismember(&before, signo) ? SIG_HOLD : old.sa_handler;
}
