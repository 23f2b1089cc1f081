/*
 * lifecycle.h - the shim's life inside the process: start-up, thread end,
 * fork, and the report at exit.
 */
#ifndef LW_LIFECYCLE_H
#define LW_LIFECYCLE_H

#include "registry.h"

/* Everything after symbol resolution: options, registry, stacks, fork
 * handlers, exit hooks. Called once by lw_init_ensure(). */
bool lw_lifecycle_start(void);

/* `t` is ending (its start routine returned, or it is unwinding out of
 * pthread_exit or a cancellation), on its own thread. */
void lw_lifecycle_thread_ending(lw_thread *t);

/* Start-up: the thread-specific key whose destructor marks threads ended
 * that leave by pthread_exit or cancellation (intercept_thread.c). */
void lw_thread_end_key_init(void);

/* The exit report has begun (or is done): a report signal then only ends
 * the process (signals.c). Async-signal-safe. */
bool lw_lifecycle_exiting(void);

/* When the shim started, for uptimes. */
extern uint64_t lw_start_ns;

#endif
