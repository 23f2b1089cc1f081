/*
 * stack.h - capturing stacks with libunwind, without the shim's own frames.
 *
 * Three ways, one per situation:
 *  - here and now (thread creation): libgcc's _Unwind_Backtrace for a
 *    thread's first stacks (no cache to build), libunwind's cached
 *    unw_backtrace once the thread has made many;
 *  - from a saved context (a thread blocked in a wrapper, unwound by the
 *    reporting thread while the blocked thread's frames are pinned);
 *  - of another thread in a call the shim does not see: blocked in a system
 *    call, from the stack pointer and program counter the kernel shows
 *    (never a signal, which would cut the call short); running in user
 *    space, by itself in a signal handler at report time.
 * Frames inside the shim's text are dropped by address, never by count.
 */
#ifndef LW_STACK_H
#define LW_STACK_H

#include "registry.h"
#include "report.h"

/* Once, at start-up: find the shim's text (libgcc's unwinder is in it), install
 * the capture signal's handler. libunwind is not loaded until needed;
 * `request` hands the helper thread a job (lw_watcher_run_soon): loading
 * it when a program thread wants it. The capture signal also carries
 * requests from outside the process (`leakwatch dump` queues it, with a
 * value, to the helper thread alone): `outside` is called in the handler
 * with that value (async-signal-safe). */
void lw_stack_init(void (*request)(void (*job)(void)), void (*outside)(int value));

/* Load libunwind now if it is not yet (dlopen: never from a wrapper; see
 * stack.c). False if it cannot be (then the stacks that need it are
 * empty, and capture_here keeps to libgcc's unwinder). */
bool lw_stack_load_unwinder(void);

/* Where the calling thread is surely not in a signal handler (its start,
 * pthread_create): set up its share of libunwind's thread-local storage if
 * libunwind is loaded, so that its later captures may use libunwind's
 * cached unwinder anywhere. Cheap when done. */
void lw_stack_safe_point(void);

/* In a fork child, before anything else of this module. */
void lw_stack_fork_child(void);

/* True if pc lies in the shim's own code. */
bool lw_stack_is_own(uintptr_t pc);

/* The calling thread's stack, outermost `max` frames after dropping the
 * shim's, as return addresses. Returns the depth. */
uint32_t lw_stack_capture_here(uintptr_t *pcs, uint32_t max);

/* Unwind from a saved context into `out` (pc and sp per frame). The thread
 * owning the context must stay put meanwhile. */
void lw_stack_unwind_context(unw_context_t *context, bool signal_frame, lw_stack *out,
                             uint32_t max);

/* The calling thread's own stack, with stack pointers (a report's own
 * thread: held locks anchor in it). Loads libunwind if needed. */
void lw_stack_capture_self(lw_stack *out, uint32_t max);

/* In a signal handler: may the context the handler was given be unwound
 * later, by another thread or deeper in this one, while the handler waits?
 * (Not when the signal stopped the thread inside the dynamic loader: it
 * may hold the lock libunwind's module walk takes.) */
bool lw_stack_context_unwindable(const void *ucontext_raw);

/* In a signal handler: the stack where the signal interrupted the thread
 * (`ucontext_raw`, the handler's third argument), into `out`. Empty, and
 * false, when that is not safe (inside the loader, a fork under way). */
bool lw_stack_unwind_interrupted(void *ucontext_raw, lw_stack *out);

/* The stack of another thread `t`, into `out`, and where it is into
 * `where`. A thread blocked in a system call is never signalled (the call
 * could end early or with EINTR): its stack is unwound from memory, from
 * the stack pointer and program counter of /proc/self/task/TID/syscall,
 * and kept only if the file still says the same after. A thread in user
 * space, when `may_signal`, is asked to unwind itself (a signal); waits
 * up to timeout_ms. Returns true if `out` was filled. */
bool lw_stack_capture_thread(lw_thread *t, int timeout_ms, bool may_signal, lw_stack *out,
                             lw_report_syscall *where);

/* True when thread `tid` is in a system call now: which, with what
 * arguments (`call`), and a word that changes when it moves to another
 * call or another place (`signature`). */
bool lw_stack_in_syscall(int tid, lw_report_syscall *call, uint64_t *signature);

/* The signal used by lw_stack_capture_thread. */
int lw_stack_signal(void);

#endif
