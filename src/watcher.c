/*
 * watcher.c - the helper thread: live deadlocks, long waits, dumps.
 *
 * Wake-ups: a thread that begins a wait while the helper is idle flips
 * `idle` and wakes it (only the first such wait pays the futex call; the
 * flag is read, not written, by the others). The dump signal's handler
 * wakes it with a futex call, which is async-signal-safe. Otherwise the
 * helper sleeps exactly until the oldest unchecked wait reaches deadlock_ms
 * or hang_ms.
 *
 * The helper is invisible to the program: every signal blocked but the
 * capture signal (which only `leakwatch dump` sends it), never in the
 * registry, its calls into wrapped functions pass straight through.
 */
#define _GNU_SOURCE
#include "watcher.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interpose.h"
#include "once.h"
#include "options.h"
#include "reporting.h"
#include "signals.h"
#include "wait.h"
#include "snapshot.h"
#include "stack.h"
#include "deadlock.h"

#define LW_DUMP_MAGIC 0x4C57444D /* "LWDM": sigqueue value of `leakwatch dump` */

static _Atomic uint32_t idle;           /* 1 while the helper waits for any wait to begin */
static _Atomic uint32_t wake_word;      /* futex: bumped to wake the helper */
static _Atomic uint32_t dump_requested; /* DUMP_* bits */
/* A dump from kill (said on stderr), one from `leakwatch dump` (which
 * shows it itself). */
enum { DUMP_ANNOUNCED = 1, DUMP_QUIET = 2 };
static _Atomic uint32_t retire_requested; /* every program thread has ended */
static _Atomic uint32_t running;
static _Atomic uint32_t retry_at_create; /* the helper could not start: at the next creation */
/* The helper starts pinned to the CPU of the thread that creates it, and
 * stays there while all it does is sleep and look at the waits: waking it,
 * and killing it at exit, is then a wake-up on the program's own CPU, not
 * another CPU's (0.4 to 0.8 ms of a short process on the test VM:
 * bench/README.md, fourth round). Before its first real work (a check that
 * is due, a dump, a job, a signal's report) it takes the CPUs its creator
 * had (hostile.the_helper_thread_runs_where_the_program_may). Helper-only
 * after spawn_helper. */
static int pinned_cpu = -1;
static cpu_set_t creator_cpus; /* 128 bytes: beside the others, not a page of its own */

static void unpin(void) {
  if (pinned_cpu < 0)
    return;
  cpu_set_t now;
  CPU_ZERO(&now);
  /* Moved since by someone else (taskset -a): that stands. */
  if (sched_getaffinity(0, sizeof now, &now) == 0 && CPU_COUNT(&now) == 1 &&
      CPU_ISSET(pinned_cpu, &now))
    sched_setaffinity(0, sizeof creator_cpus, &creator_cpus);
  pinned_cpu = -1;
}

LW_COLD static lw_thread internal_marker; /* lw_self_inside of the helper */

unsigned lw_watcher_internal_threads(void) { return atomic_load(&running) ? 1 : 0; }

static void wake(void) {
  atomic_fetch_add(&wake_word, 1);
  lw_futex_wake(&wake_word, 1);
}

void lw_watcher_wake(void) { wake(); }

static _Atomic(void (*)(void)) helper_jobs[LW_WATCHER_JOBS];

void lw_watcher_run_soon(void (*job)(void)) {
  for (int i = 0; i < LW_WATCHER_JOBS; i++) {
    void (*seen)(void) = NULL;
    if (atomic_compare_exchange_strong(&helper_jobs[i], &seen, job) || seen == job)
      break;
  }
  wake();
}

static void spawn_helper(void);

void lw_watcher_wait_began(lw_thread *self) {
  (void)self;
  if (LW_UNLIKELY(atomic_load_explicit(&idle, memory_order_relaxed)) && atomic_exchange(&idle, 0)) {
    if (atomic_load(&running))
      wake();
    else
      spawn_helper(); /* a forked child's first wait */
  }
}

/* Deadlocks already reported, by signature (once.h: a fork child forgets). */
static bool was_reported(uint64_t signature) { return lw_once_seen(LW_ONCE_DEADLOCK, signature); }

static void remember_reported(uint64_t signature) { lw_once_first(LW_ONCE_DEADLOCK, signature); }

static void sleep_ms(unsigned ms) {
  struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
  /* The whole pause, even if a request from outside arrives meanwhile. */
  while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
  }
}

/* Deadlock signatures present in a light snapshot taken now. */
static unsigned find_deadlocks(uint64_t *signatures, unsigned max) {
  lw_report look;
  memset(&look, 0, sizeof look);
  look.no_stacks = look.unseen = true;
  lw_snapshot_take(&look, "deadlock", NULL);
  lw_deadlock_find(&look, (uint64_t)lw_opt.deadlock_ms, (int)lw_watcher_internal_threads());
  unsigned n = 0;
  for (uint32_t i = 0; i < look.nfindings && n < max; i++)
    signatures[n++] = lw_deadlock_signature(&look, &look.findings[i]);
  lw_mem_arena_release(&look.arena);
  return n;
}

static void act_on_deadlock(void) {
  if (lw_opt.deadlock_action == LW_DEADLOCK_ABORT) {
    signal(SIGABRT, SIG_DFL);
    abort();
  }
  if (lw_opt.deadlock_action == LW_DEADLOCK_EXIT) {
    fflush(NULL);
    _exit(lw_opt.exitcode);
  }
}

/* Look for deadlocks; report each new one that is still there on a second
 * look (a cycle seen while locks change hands is gone by then). */
static void check_deadlocks(void) {
  uint64_t first[16], second[16];
  unsigned nfirst = find_deadlocks(first, 16);
  bool any_new = false;
  for (unsigned i = 0; i < nfirst; i++)
    any_new |= !was_reported(first[i]);
  if (!any_new)
    return;
  sleep_ms(lw_opt.deadlock_ms / 10 < 50 ? lw_opt.deadlock_ms / 10 + 1 : 50);
  unsigned nsecond = find_deadlocks(second, 16);
  bool confirmed = false;
  for (unsigned i = 0; i < nfirst; i++)
    for (unsigned k = 0; k < nsecond; k++)
      confirmed |= first[i] == second[k] && !was_reported(first[i]);
  if (!confirmed)
    return;

  lw_report report;
  memset(&report, 0, sizeof report);
  report.no_signals = lw_opt.deadlock_action == LW_DEADLOCK_REPORT; /* the program goes on */
  lw_reporting_lock();
  lw_snapshot_take(&report, "deadlock", NULL);
  lw_deadlock_find(&report, (uint64_t)lw_opt.deadlock_ms, (int)lw_watcher_internal_threads());
  /* Keep only the new ones; remember them. */
  uint32_t kept = 0;
  for (uint32_t i = 0; i < report.nfindings; i++) {
    uint64_t signature = lw_deadlock_signature(&report, &report.findings[i]);
    if (was_reported(signature))
      continue;
    remember_reported(signature);
    report.findings[kept++] = report.findings[i];
  }
  report.nfindings = kept;
  if (kept) {
    lw_reporting_emit(&report);
    kept = report.nfindings; /* what suppressions left */
  }
  lw_mem_arena_release(&report.arena);
  lw_reporting_unlock();
  if (kept)
    act_on_deadlock();
}

static bool long_wait_first(const lw_report_thread *t) {
  return lw_once_first(LW_ONCE_LONG_WAIT, lw_deadlock_long_wait_key(t));
}

static void check_long_waits(void) {
  /* Threads that blocked together (a pool, each on its way into one wait)
   * turn long a few milliseconds apart: a moment's pause, and the one
   * report shows them as one group. */
  sleep_ms(lw_opt.hang_ms / 10 < 50 ? lw_opt.hang_ms / 10 + 1 : 50);
  lw_report report;
  memset(&report, 0, sizeof report);
  report.no_signals = true; /* the program goes on: its sleeps must not be cut short */
  lw_reporting_lock();
  lw_snapshot_take(&report, "deadlock", NULL);
  if (lw_deadlock_long_waits_where(&report, (uint64_t)lw_opt.hang_ms, long_wait_first) > 0) {
    lw_reporting_emit(&report);
    lw_reporting_remember(&report);
  }
  /* Also in `check_deadlocks`: a live deadlock found later is kept by its
   * own report; long waits are events, kept for the exit report. */
  lw_mem_arena_release(&report.arena);
  lw_reporting_unlock();
}

/* Is wait `seq`, `age` ns old, due for a check after `limit_ns` (0: off)?
 * Once per wait: `seen_seq` remembers it. If not yet, `next` learns when. */
static bool check_due(uint64_t limit_ns, uint64_t age, uint64_t seq, uint64_t *seen_seq,
                      uint64_t *next) {
  if (!limit_ns || *seen_seq == seq)
    return false;
  if (age >= limit_ns) {
    *seen_seq = seq;
    return true;
  }
  if (limit_ns - age < *next)
    *next = limit_ns - age;
  return false;
}

/* One pass: what is due now, and how long until the next thing is (ns;
 * UINT64_MAX for nothing). Marks what it hands over as seen. */
static uint64_t watch_once(void) {
  const uint64_t deadlock_ns = (uint64_t)lw_opt.deadlock_ms * 1000000u;
  const uint64_t hang_ns = (uint64_t)lw_opt.hang_ms * 1000000u;
  uint64_t now = lw_now_ns(), next = UINT64_MAX;
  bool deadlock_due = false, hang_due = false;
  lw_registry_lock();
  for (lw_thread *t = lw_registry_first(); t; t = lw_registry_next(t)) {
    if (atomic_load(&t->wait.state) == LW_WAIT_IDLE || t->wait.timed)
      continue;
    /* Racy reads: a wait that changes under us is looked at again later. */
    uint64_t seq = t->wait.seq, age = lw_age_ns(now, t->wait.start_ns);
    deadlock_due |= check_due(deadlock_ns, age, seq, &t->watch_deadlock_seq, &next);
    hang_due |= check_due(hang_ns, age, seq, &t->watch_hang_seq, &next);
  }
  lw_registry_unlock();
  if (deadlock_due || hang_due)
    unpin();
  if (deadlock_due)
    check_deadlocks();
  if (hang_due)
    check_long_waits();
  return next;
}

static void *helper_main(void *unused) {
  (void)unused;
  lw_self_inside = &internal_marker;
  /* Named by itself: another thread's name goes through a file in /proc
   * (open, write, close), its own is one prctl. `leakwatch dump` finds the
   * helper by that name. */
  prctl(PR_SET_NAME, "leakwatch", 0, 0, 0);
  /* Every signal stays blocked but the capture signal, which carries the
   * requests from outside (lw_watcher_outside_request): none of the
   * program's signals can land here. */
  if (lw_stack_signal() > 0) {
    sigset_t outside;
    sigemptyset(&outside);
    sigaddset(&outside, lw_stack_signal());
    pthread_sigmask(SIG_UNBLOCK, &outside, NULL);
  }
  const bool live_checks = lw_opt.deadlock_ms || lw_opt.hang_ms;
  for (;;) {
    uint32_t seen = atomic_load(&wake_word);
    if (atomic_load(&retire_requested)) {
      /* glibc ends the process when its last thread exits (main having
       * called pthread_exit): that must not wait for us. */
      atomic_store(&running, 0);
      lw_real.pthread_exit(NULL);
    }
    if (lw_signals_pending()) {
      unpin();
      lw_signals_serve(); /* a report signal: report, then die of it */
    }
    for (int i = 0; i < LW_WATCHER_JOBS; i++) {
      void (*job)(void) = atomic_load(&helper_jobs[i]);
      if (job) {
        unpin();
        job();
      }
    }
    uint32_t dumps = atomic_exchange(&dump_requested, 0);
    if (dumps) {
      unpin();
      lw_reporting_dump(dumps & DUMP_ANNOUNCED);
    }
    if (!live_checks) {
      /* Only dumps and retirement wake the helper: waits must not (each
       * would pay a futex call to wake it for nothing). */
      lw_futex_wait(&wake_word, seen, NULL);
      continue;
    }
    uint64_t next = watch_once();
    if (next == UINT64_MAX) {
      /* Idle until a wait begins. A wait that began during the pass above
       * is caught by looking once more after saying so. */
      atomic_store(&idle, 1);
      if (watch_once() != UINT64_MAX) {
        atomic_store(&idle, 0);
        continue;
      }
      lw_futex_wait(&wake_word, seen, NULL);
    } else {
      next += 1000000; /* a millisecond late rather than early */
      struct timespec timeout = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};
      lw_futex_wait(&wake_word, seen, &timeout);
    }
  }
  return NULL;
}

void lw_watcher_outside_request(int value) {
  if (value != LW_DUMP_MAGIC || lw_opt.dump_signal <= 0)
    return;
  atomic_fetch_or(&dump_requested, DUMP_QUIET);
  wake();
}

static void dump_handler(int signo, siginfo_t *info, void *context) {
  (void)signo;
  (void)context;
  int saved_errno = errno;
  bool from_cli = info && info->si_code == SI_QUEUE && info->si_value.sival_int == LW_DUMP_MAGIC;
  atomic_fetch_or(&dump_requested, from_cli ? DUMP_QUIET : DUMP_ANNOUNCED);
  wake();
  errno = saved_errno;
}

static void install_dump_handler(void) {
  if (lw_opt.dump_signal <= 0)
    return;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = dump_handler;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(lw_opt.dump_signal, &action, NULL);
}

static int create_helper(const cpu_set_t *pin) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  if (pin) /* failing that, it starts unpinned (and unpin finds it so) */
    pthread_attr_setaffinity_np(&attr, sizeof *pin, pin);
  pthread_t thread;
  int started = lw_real.pthread_create(&thread, &attr, helper_main, NULL);
  pthread_attr_destroy(&attr);
  return started;
}

static void spawn_helper(void) {
  if (!lw_opt.deadlock_ms && !lw_opt.hang_ms && lw_opt.dump_signal <= 0 && !lw_opt.report_signals)
    return;
  /* The helper must not take the program's signals. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int cpu = sched_getcpu();
  cpu_set_t pin;
  CPU_ZERO(&pin);
  pinned_cpu = -1;
  if (cpu >= 0 && cpu < CPU_SETSIZE &&
      pthread_getaffinity_np(pthread_self(), sizeof creator_cpus, &creator_cpus) == 0 &&
      CPU_ISSET(cpu, &creator_cpus) && CPU_COUNT(&creator_cpus) > 1) {
    CPU_SET(cpu, &pin);
    pinned_cpu = cpu;
  }
  /* Running from before it exists: once started, the helper says it is
   * idle, and a wait that saw that while `running` was still 0 started a
   * second helper, which the deadlock finder does not count (every thread
   * asleep went unreported: 3 runs of futex_abba in 400 under load). */
  atomic_store(&running, 1);
  int started = create_helper(pinned_cpu >= 0 ? &pin : NULL);
  if (started != 0 && pinned_cpu >= 0) {
    pinned_cpu = -1; /* the CPU went away under us: unpinned, then */
    started = create_helper(NULL);
  }
  if (started != 0) {
    atomic_store(&running, 0);
    /* No room for it (the program is at its thread limit): the next
     * pthread_create tries again; a wait never does (lw_watcher_start). */
    atomic_store(&retry_at_create, 1);
    lw_verbose(1, "no helper thread (%s): no live deadlock reports until it can start",
               strerror(started));
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * The helper is started when the program starts its first thread, just
 * after that thread (lw_watcher_created), or when a single-threaded process
 * first blocks in a wait (then nothing else can hold what the program's
 * allocator locks: it blocks for good, or until a signal handler posts).
 * Never at load: glibc runs locks without atomic instructions while a
 * process has a single thread, and a helper started at load time would take
 * that away from single-threaded programs (measured: 6.4 -> 22 ns for an
 * uncontended lock+unlock pair under the shim). Never from a wait once
 * there are threads: `idle` stays 0 from the first creation on, until the
 * helper runs.
 */
void lw_watcher_start(void) {
  install_dump_handler();
  atomic_store(&idle, 1); /* the first wait starts the helper */
}

void lw_watcher_thread_ended(void) {
  if (!atomic_load(&running))
    return;
  /* Is any program thread left? (The main thread counts until it calls
   * pthread_exit.) */
  bool any_left = false;
  lw_registry_lock();
  for (lw_thread *t = lw_registry_first(); t && !any_left; t = lw_registry_next(t))
    any_left = !(atomic_load(&t->flags) & LW_THREAD_ENDED);
  lw_registry_unlock();
  if (!any_left) {
    atomic_store(&retire_requested, 1);
    wake();
  }
}

int lw_watcher_creating(void) {
  if (LW_LIKELY(atomic_load_explicit(&running, memory_order_relaxed)))
    return LW_HELPER_NOT_CLAIMED;
  /* `idle` at 0 from here keeps a wait of the new thread from starting the
   * helper itself (inside a blocking call, where the program's allocator
   * may be half way through an operation). */
  if (atomic_exchange(&idle, 0))
    return LW_HELPER_CLAIMED_FIRST;
  if (atomic_exchange(&retry_at_create, 0))
    return LW_HELPER_CLAIMED_AGAIN;
  return LW_HELPER_NOT_CLAIMED;
}

void lw_watcher_created(int claimed, bool made) {
  if (claimed == LW_HELPER_NOT_CLAIMED)
    return;
  if (!made) { /* nothing was created: as it was */
    atomic_store(claimed == LW_HELPER_CLAIMED_FIRST ? &idle : &retry_at_create, 1);
    return;
  }
  spawn_helper();
}

void lw_watcher_fork_child(void) {
  /* The helper did not survive fork. A child that goes on to create a
   * thread or block gets a new one then (most children exec at once: they
   * pay nothing). */
  atomic_store(&running, 0);
  atomic_store(&dump_requested, 0);
  atomic_store(&retire_requested, 0);
  atomic_store(&retry_at_create, 0);
  atomic_store(&idle, 1);
}
