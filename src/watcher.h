/*
 * watcher.h - the shim's one helper thread: live deadlock and long-wait
 * detection, and dumps on dump_signal.
 *
 * Dumps of a process that never started a thread are not served: there is
 * no thread to write them but the program's own.
 *
 * It sleeps on a futex and wakes only when there is something to do: a dump
 * was asked for, or a thread has been blocked in an untimed wait long enough
 * to check (deadlock_ms, hang_ms). A process where no thread blocks never
 * wakes it; a process whose threads stay blocked in the same waits wakes it
 * once per new wait, not periodically.
 */
#ifndef LW_WATCHER_H
#define LW_WATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Start-up: install the dump handler; the helper thread itself starts with
 * the program's first thread (lw_watcher_creating, lw_watcher_created) or
 * first wait. */
void lw_watcher_start(void);

/* Around the program's pthread_create/thrd_create: before it, whether this
 * call is the one to start the helper (it claims that); after it, with that
 * answer and whether the program's thread was made, which starts the
 * helper then. The program's thread comes first: under RLIMIT_NPROC or a
 * cgroup's pids.max, the slot it asked for is the program's. */
enum { LW_HELPER_NOT_CLAIMED, LW_HELPER_CLAIMED_FIRST, LW_HELPER_CLAIMED_AGAIN };
int lw_watcher_creating(void);
void lw_watcher_created(int claimed, bool made);

/* A program thread ended: when none is left (main called pthread_exit),
 * the helper exits too, so that glibc can end the process. */
void lw_watcher_thread_ended(void);

/* Work for the helper: from now on it runs `job` each time it wakes, and
 * it wakes now (lockorder.c: cycles found on a lock path are reported
 * from here; stack.c: libunwind is loaded from here). A job must be cheap
 * when it has nothing to do. At most LW_WATCHER_JOBS different jobs; the
 * same job given again is kept once. Async-signal-safe. */
#define LW_WATCHER_JOBS 4
void lw_watcher_run_soon(void (*job)(void));

/* A request from outside the process, delivered to the helper thread
 * alone (stack.c's capture handler): `leakwatch dump` asks for a dump
 * that way, not with dump_signal, which the kernel may hand to any
 * program thread and cut its sleep or poll short. Async-signal-safe. */
void lw_watcher_outside_request(int value);

/* Wake the helper now (a signal to serve). Async-signal-safe. */
void lw_watcher_wake(void);
void lw_watcher_fork_child(void);

/* How many threads the shim itself runs (for "all threads are asleep"). */
unsigned lw_watcher_internal_threads(void);

#endif
