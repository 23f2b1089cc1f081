/*
 * inspect.h - leakwatch-inspect: the live state of a process that does not
 * run under the shim, or of a core file, as the shim's own report.
 *
 * Three steps, one file each:
 *   target_live.c / target_core.c  what the process is made of: its threads'
 *                                  registers and return addresses, its
 *                                  memory (a live process is stopped only
 *                                  while they are read);
 *   waits.c                        what each thread is blocked in, from the
 *                                  system call and the frames, and who owns
 *                                  it, from glibc's own fields;
 *   inspect.c                      the lw_report, the shim's analysis and
 *                                  writers, the command line.
 * frames.c symbolizes the addresses (libdw) once the process runs again.
 */
#ifndef LW_INSPECT_H
#define LW_INSPECT_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define LW_INSPECT_DEPTH 64
#define LW_INSPECT_WINDOW_BEFORE 0x2e0 /* a join: struct pthread is 0x2d0 before */

/* Exit statuses, those of `leakwatch dump`. */
enum {
  LW_INSPECT_FAILED = 1,
  LW_INSPECT_USAGE = 2,
  LW_INSPECT_NO_PROCESS = 3,
  LW_INSPECT_NO_PERMISSION = 4,
};

/* What a thread was doing when it was stopped (or when the core was made). */
typedef struct lw_inspect_thread {
  int tid;
  char name[16];
  bool in_syscall;  /* stopped inside a system call */
  long syscall;     /* its number */
  uint64_t args[6]; /* its arguments */
  uint32_t depth;   /* pcs[0] is exact, the others are return addresses */
  uintptr_t pcs[LW_INSPECT_DEPTH];
  const char *names[LW_INSPECT_DEPTH]; /* symbol names (no file:line), for the waits */
  /* Live: the memory around the futex word a thread sleeps on, read while
   * the process is stopped (every glibc field waits.c reads is in it). */
  uintptr_t window_base;
  uint32_t window_size; /* bytes read: 0 if none */
  uint8_t window[LW_INSPECT_WINDOW_BEFORE + 64];
} lw_inspect_thread;

typedef struct lw_inspect_target {
  int pid;
  bool core;
  Dwfl *dwfl;
  char exe[4096];
  uint32_t nthreads;
  lw_inspect_thread *threads; /* main thread first */
  uint64_t stopped_ns;        /* live: how long the process was stopped */
  uint64_t uptime_ms;
  bool catches_signals; /* a handler the program installed could wake a thread */
  int tasks;            /* threads the kernel ran (for "all threads are asleep") */
  /* The process's memory: live, process_vm_readv; a core, its segments. */
  bool (*read)(struct lw_inspect_target *target, uintptr_t address, void *out, size_t size);
  void *core_elf; /* Elf * of a core */
  int core_fd;
} lw_inspect_target;

/* Stop process `pid`, read every thread, let it go. Returns 0, or an exit
 * status after printing one line saying what to do. */
int lw_inspect_live(lw_inspect_target *target, int pid);

/* The same from a core file; `exe` may be NULL (found through the core). */
int lw_inspect_core(lw_inspect_target *target, const char *core, const char *exe);

/* Symbol names of every frame (symbol tables only), for the waits: after
 * the stop, since libdwfl looks each one up by scanning the whole table. */
void lw_inspect_name_frames(lw_inspect_target *target, lw_inspect_thread *thread);

/* Return addresses to report frames, with file:line and inlines. */
lw_frames lw_inspect_frames(lw_inspect_target *target, lw_report *report, const uintptr_t *pcs,
                            uint32_t depth, bool first_exact);

/* The wait of every thread and the locks their owners hold (waits.c);
 * report thread i is target thread i. stack_from[i]: the frame its blocking
 * stack starts at (the pthread function's caller: glibc's frames are left
 * out, as the shim leaves out its own). */
void lw_inspect_waits(lw_inspect_target *target, lw_report *report, uint32_t *stack_from);

/* Let a stopped process go (target_live.c); sets stopped_ns. */
void lw_inspect_release(lw_inspect_target *target);

/* dwfl_getthread_frames' callback for live processes and cores alike: the
 * frame's pc into `arg`, an lw_inspect_thread (target_live.c). */
int lw_inspect_take_frame(Dwfl_Frame *frame, void *arg);

/* Common Dwfl callbacks: local debug files, never debuginfod. */
extern const Dwfl_Callbacks lw_inspect_proc_callbacks;
extern const Dwfl_Callbacks lw_inspect_core_callbacks;

/* Load every module's unwind tables now (before the process is stopped). */
void lw_inspect_warm_modules(Dwfl *dwfl);

#endif
