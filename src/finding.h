/*
 * finding.h - the one table of finding kinds. Every writer, the
 * suppressions parser and (generated at build time, tools/constants.c) the
 * command line take the kinds from here; no other file spells them.
 *
 * X(id, name, label, level, help)
 *   name:  the `kind` of the JSON and the suppressions file
 *   label: what the text calls a group of them ("leaked threads")
 *   level: the SARIF level (error | warning | note)
 *   help:  one sentence: what it means and what to do (SARIF rule help)
 */
#ifndef LW_FINDING_H
#define LW_FINDING_H

#include <stdbool.h>

/* clang-format off */
#define LW_FINDING_KINDS(X)                                                                        \
  X(THREAD_LEAK, "thread_leak", "leaked thread", "error",                                          \
    "A thread was still alive when the process exited or a verify call checked: nobody stopped "  \
    "and joined it. Stop it (wake its wait, close its input) and join it before exit.")           \
  X(UNJOINED_THREAD, "unjoined_thread", "unjoined thread", "warning",                              \
    "A joinable thread finished but was never joined or detached: its stack and thread-local "    \
    "storage stay allocated until the process ends. Join it, or detach it when created.")         \
  X(DEADLOCK, "deadlock", "deadlock", "error",                                                     \
    "Threads that can never proceed: each waits for a lock or a thread that waits, in turn, for " \
    "it (a cycle), or every thread is blocked at once. Take the locks in one order everywhere.")  \
  X(LOCK_ORDER_INVERSION, "lock_order_inversion", "lock-order inversion", "warning",               \
    "Two or more locks were taken in orders that conflict: threads running these paths at the "   \
    "same time can deadlock, even if this run did not. Take the locks in one order everywhere.")  \
  X(ABANDONED_LOCK, "abandoned_lock", "abandoned lock", "error",                                   \
    "A thread ended while it held a mutex or rwlock: whoever waits for it next waits forever. "   \
    "Release every lock before the thread returns, exits or is cancelled.")                       \
  X(LONG_WAIT, "long_wait", "long wait", "note",                                                   \
    "A thread has been blocked in one untimed wait for longer than hang_ms. It may be a hang: "   \
    "check who should wake it.")                                                                   \
  X(MISUSE, "misuse", "misuse", "error",                                                           \
    "A pthread call broke the API's rules (unlocking a mutex the caller does not hold, joining "   \
    "a detached thread, waiting on a condition variable without its mutex...): undefined "        \
    "behaviour in POSIX.")
/* clang-format on */

#define LW_FINDING_ENUM(id, name, label, level, help) LW_FINDING_##id,
typedef enum lw_finding_kind { LW_FINDING_KINDS(LW_FINDING_ENUM) LW_FINDING_COUNT } lw_finding_kind;
#undef LW_FINDING_ENUM

typedef struct lw_finding_kind_info {
  const char *name, *label, *level, *help;
} lw_finding_kind_info;

extern const lw_finding_kind_info lw_finding_kinds[LW_FINDING_COUNT];

/* The kind called `name`; false if there is none. */
bool lw_finding_kind_parse(const char *name, lw_finding_kind *out);

static inline const char *lw_finding_kind_name(lw_finding_kind kind) {
  return lw_finding_kinds[kind].name;
}

#endif
