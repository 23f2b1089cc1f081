/*
 * report.h - a report as plain data, and the writers that print it.
 *
 * A report is made in three steps: snapshot.c copies the live registry into
 * an lw_report (threads, waits, held locks, symbolized stacks), analysis.c
 * adds the findings, and report_text.c / report_json.c write it out. Only
 * the first step touches live state; the writers are pure functions of the
 * data, so the tests and the command line see exactly what the process saw.
 */
#ifndef LW_REPORT_H
#define LW_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "calls.h"
#include "finding.h"
#include "mem.h"

typedef struct lw_frame {
  uintptr_t pc;
  const char *function; /* NULL if unknown */
  uint64_t offset;
  const char *module;
  const char *file; /* NULL without debug info */
  int line;
  bool inlined;
} lw_frame;

typedef struct lw_frames {
  uint32_t count;
  lw_frame *frames;
} lw_frames;

typedef struct lw_report_held {
  const void *object;
  const char *object_name; /* "queue_lock", "on T0's stack, in main", "heap"; NULL if unknown */
  const char *call;
  int kind; /* enum lw_lock_kind */
  lw_frames stack;
  bool stack_partial; /* only the call site: the acquiring frame has returned */
} lw_report_held;

enum lw_thread_state { LW_STATE_RUNNING, LW_STATE_BLOCKED, LW_STATE_EXITED };

typedef struct lw_report_wait {
  const char *call;
  int call_id; /* enum lw_call */
  const void *object;
  const void *mutex;                    /* NULL if none */
  const char *object_name, *mutex_name; /* where they live (lw_snapshot_object_name); may be NULL */
  bool has_owner;
  uint32_t owner;
  /* The owner came from glibc's owner field, not from its held list (it
   * holds more locks than the list keeps, say): where it took this lock
   * is not known. */
  bool owner_unlisted;
  /* glibc's owner field when it names a thread of another process (a
   * process-shared lock), with that thread's process if /proc tells. */
  int owner_tid, owner_pid;
  uint64_t waited_ms;
  bool timed;
  uint64_t seq;
  lw_frames stack;
  const char *through;   /* a futex wait: the library function that made it, or NULL */
  int evidence;          /* enum lw_evidence, for objects without an owner */
  uint32_t signalled_by; /* with LW_EVIDENCE_LAST */
  /* With LW_EVIDENCE_LAST, the last wake-up when its call is known: */
  const char *signal_call; /* "pthread_cond_signal", "sem_post"...; or NULL */
  uint32_t signal_waiters; /* threads waiting on the object then */
  uint32_t signal_count;   /* wake-ups of the object seen in all */
  lw_frames signal_stack;  /* the call site's stack (as first seen from that site) */
} lw_report_wait;

/* Where a thread not in a wrapped wait was when its stack was taken, from
 * /proc/self/task/TID/syscall: in a system call (its number and the six
 * argument registers), or in user space. */
enum lw_thread_where { LW_WHERE_UNKNOWN, LW_WHERE_USER, LW_WHERE_SYSCALL };
typedef struct lw_report_syscall {
  int where; /* enum lw_thread_where */
  long number;
  uint64_t args[6];
  /* What it waits on (syscalls.c), for LW_WHERE_SYSCALL: */
  const char *name;      /* "read", "epoll_wait"...; NULL for a call not in the table */
  int fd;                /* the descriptor that matters, or -1 */
  const char *fd_target; /* what it is: "pipe:[4711]", "socket:[...]", a path; NULL */
  int64_t timeout_ms;    /* the timeout asked for, or -1 (none, or untimed) */
  int64_t pid;           /* the child a wait4/waitid waits for (-1: any), or 0 */
} lw_report_syscall;

typedef struct lw_report_thread {
  uint32_t id;
  int tid;
  const char *name;        /* NULL if none */
  const char *start;       /* start routine (std::thread: its callable), NULL for main/adopted */
  uintptr_t start_address; /* the start routine's address (grouping before symbols) */
  uint32_t parent;
  bool has_parent;
  bool detached;
  bool is_main;
  bool adopted;
  bool is_reporter; /* the thread making the report (e.g. calling exit) */
  bool ignored;
  bool in_scope; /* counted by the verify call making this report */
  bool gone;     /* known only by its id: it ended and was joined before */
  enum lw_thread_state state;
  uint64_t ended_ms_ago;
  lw_frames create_stack;
  bool has_wait;
  lw_report_wait wait;
  uint32_t nheld;
  lw_report_held *held;
  lw_frames stack;           /* current stack of a running thread, when it could be had */
  lw_report_syscall syscall; /* of a thread not in a wrapped wait */
} lw_report_thread;

/* What an event of a finding's evidence is. X(id, name in JSON) */
#define LW_EVENT_ROLES(X)                                                                          \
  X(WAITS, "waits")     /* a thread waits in `call` on `object`, owned by `owner` */               \
  X(HELD, "held")       /* lock-order edge `edge`: the lock held, where it was taken */            \
  X(TAKEN, "taken")     /* the lock taken (an edge's second; an abandoned lock) and where */       \
  X(CALL, "call")       /* the offending call of a misuse */                                       \
  X(EARLIER, "earlier") /* what made it a misuse: where the holder locked, the thread was... */

#define LW_EVENT_ROLE_ENUM(id, name) LW_EVENT_##id,
enum lw_event_role { LW_EVENT_ROLES(LW_EVENT_ROLE_ENUM) LW_EVENT_ROLE_COUNT };
#undef LW_EVENT_ROLE_ENUM
extern const char *const lw_event_role_names[LW_EVENT_ROLE_COUNT];

/* One piece of a finding's evidence: who did what to which object, where.
 * Events whose stack is one of their thread's (a deadlocked thread's wait,
 * an abandoned lock's acquisition) say so with `of_thread`: the stack is
 * filled in from the thread after symbolizing, and the text shows it in
 * the thread's block rather than twice. */
typedef struct lw_report_event {
  enum lw_event_role role;
  uint32_t thread; /* LW_REPORT_NO_THREAD if none */
  const char *call;
  const void *object;
  const char *object_kind; /* "mutex", "rwlock", "condition variable"... (calls.h) */
  const char *object_name; /* its data symbol, "heap"...: NULL if unknown */
  bool has_owner;
  uint32_t owner;
  bool owner_unlisted; /* WAITS: the owner came from glibc, its held list lacks it */
  uint64_t waited_ms;  /* WAITS */
  uint32_t edge;       /* HELD, TAKEN of a lock-order cycle: which edge, from 1 */
  const char *label;   /* EARLIER: what happened then, in words ("where the holder took it") */
  enum { LW_EVENT_OWN_STACK, LW_EVENT_WAIT_STACK, LW_EVENT_HELD_STACK } of_thread;
  lw_frames stack;
} lw_report_event;

#define LW_REPORT_NO_THREAD UINT32_MAX

/* Locks the shim lists per thread (registry.h); deeper ones are not kept,
 * and reports say so. */
#define LW_HELD_MAX 16

typedef struct lw_finding {
  lw_finding_kind kind;
  uint32_t nthreads;
  uint32_t *threads; /* ids */
  uint32_t count;    /* identical findings folded into this one */
  char *message;
  lw_report_thread *subject; /* the thread whose stacks the text shows */
  bool all_threads_shown;    /* the text shows every thread of `threads` instead */
  uint32_t core;             /* deadlocks: the first `core` threads form the cycle */
  bool shown_live;           /* printed when it happened: the exit text only counts it */
  uint32_t nevents;
  lw_report_event *events; /* its evidence, as data (see LW_EVENT_ROLES) */
  bool has_location;
  lw_frame location; /* the most relevant user frame (SARIF's location), after symbolizing */
} lw_finding;

typedef struct lw_report {
  lw_arena arena;
  const char *trigger; /* exit | dump | deadlock | verify | signal | attach (leakwatch-inspect) */
  const char *note;    /* said once at the top: what this report cannot know (attach) */
  const char *signal;  /* trigger "signal": the signal's name ("SIGTERM") */
  int pid;
  const char *exe;
  char time[32];
  uint64_t uptime_ms;
  uint32_t nthreads;
  lw_report_thread *threads;
  uint32_t nfindings, findings_capacity;
  lw_finding *findings;
  uint32_t suppressed;
  const char *when; /* "at exit", "at verify", "now": ends leak messages */
  bool no_stacks;   /* set before lw_snapshot_take: skip unwinding (watcher's looks) */
  /* Set before lw_snapshot_take: a look nobody reads as it is (the watcher's
   * deadlock checks; a clean process's exit look when it writes no file):
   * no names from /proc, no path of the program. */
  bool unseen;
  const void *only; /* set before lw_snapshot_take: this lw_thread alone */
  bool no_signals;  /* set before lw_snapshot_take: no stacks of running threads
                       (the signal would cut short a sleep the program is in) */
  void *raw;        /* snapshot.c's unsymbolized data, for the first nraw threads */
  uint32_t nraw;
  bool symbolized;
} lw_report;

lw_report_thread *lw_report_thread_by_id(lw_report *report, uint32_t id);

/* Append `count` empty events to `finding` (arena memory); NULL on exhaustion. */
lw_report_event *lw_report_add_events(lw_report *report, lw_finding *finding, uint32_t count);

/* Is `frame` the C++ standard library's: in libstdc++ itself, inlined from
 * its headers, or a function of namespace std or __gnu_cxx? (The text folds
 * runs of them; a std::thread's callable is the first frame that is not.) */
bool lw_report_frame_is_std(const lw_frame *frame);

/* Append a finding (arena memory); returns it, or NULL on exhaustion. */
lw_finding *lw_report_add_finding(lw_report *report, lw_finding_kind kind, const char *message,
                                  const uint32_t *thread_ids, uint32_t nthreads);

#endif
