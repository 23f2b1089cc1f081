/*
 * stack.h - capturing stacks with libunwind, without the shim's own frames.
 *
 * Three ways, one per situation:
 *  - here and now (thread creation): unw_backtrace, fast, cached;
 *  - from a saved context (a thread blocked in a wrapper, unwound by the
 *    reporting thread while the blocked thread's frames are pinned);
 *  - from a signal (a running thread, or one in a call the shim does not see,
 *    unwinds itself in a handler at report time).
 * Frames inside the shim's text are dropped by address, never by count.
 */
#ifndef LW_STACK_H
#define LW_STACK_H

#include "registry.h"

/* Once, at start-up: find the shim's text, set libunwind's caching, install
 * the capture signal's handler. */
void lw_stack_init(void);

/* True if pc lies in the shim's own code. */
bool lw_stack_is_own(uintptr_t pc);

/* The calling thread's stack, outermost `max` frames after dropping the
 * shim's, as return addresses. Returns the depth. */
uint32_t lw_stack_capture_here(uintptr_t *pcs, uint32_t max);

/* Unwind from a saved context into `out` (pc and sp per frame). The thread
 * owning the context must stay put meanwhile. */
void lw_stack_unwind_context(unw_context_t *context, bool signal_frame, lw_stack *out,
                             uint32_t max);

/* Ask running thread `t` to capture its own stack into t->now_stack; waits up
 * to timeout_ms. Returns true if it did. */
bool lw_stack_capture_thread(lw_thread *t, int timeout_ms);

/* The signal used by lw_stack_capture_thread. */
int lw_stack_signal(void);

#endif
