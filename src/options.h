/*
 * options.h - LEAKWATCH_OPTIONS, sanitizer-style: "key=value:key=value".
 *
 * One table (LW_OPTIONS below) makes the struct, the parser and the help
 * text, so an option cannot exist in one place and be missing in another.
 */
#ifndef LW_OPTIONS_H
#define LW_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

enum lw_deadlock_action { LW_DEADLOCK_REPORT, LW_DEADLOCK_ABORT, LW_DEADLOCK_EXIT };
enum lw_lock_order_mode { LW_LOCK_ORDER_OFF, LW_LOCK_ORDER_OBJECT, LW_LOCK_ORDER_CLASS };

#define LW_PATH_MAX 512

/*
 * X(type, name, default, minimum, maximum, help)
 *   INT:    an integer in [minimum, maximum]
 *   PATH:   a string (a file name); default and limits unused
 *   CHOICE: one word of the list in `minimum` ("a|b|c"), stored as its index
 *   SIGNAL: a signal of options.c's table, by name or number (SIGUSR2, USR2,
 *           12); 0 turns it off
 */
#define LW_OPTIONS(X)                                                                              \
  X(INT, exitcode, 66, 0, 255,                                                                     \
    "exit status of a process that had findings; 0 keeps the program's own")                       \
  X(PATH, log_path, "", 0, 0, "where the text report goes (default stderr); %p becomes the pid")   \
  X(PATH, json_path, "", 0, 0, "also write the report as JSON to this file; %p becomes the pid")   \
  X(PATH, sarif_path, "", 0, 0,                                                                    \
    "also write the report as SARIF 2.1.0 to this file; %p becomes the pid")                       \
  X(INT, deadlock_ms, 1000, 0, 86400000,                                                           \
    "how soon a live deadlock is reported; 0 turns live detection off")                            \
  X(CHOICE, deadlock_action, 0, "report|abort|exit", 0,                                            \
    "what to do after reporting a live deadlock")                                                  \
  X(INT, hang_ms, 0, 0, 86400000,                                                                  \
    "report a long_wait for untimed waits longer than this; 0 is off")                             \
  X(CHOICE, lock_order, 1, "0|1|class", 0,                                                         \
    "lock-order inversion detection: 0 off, 1 by lock object, class by lock class")                \
  X(INT, exit_grace_ms, 200, 0, 600000,                                                            \
    "at exit, how long running threads get to finish before they are leaked")                      \
  X(PATH, suppressions, "", 0, 0, "a file of suppression rules, one kind:pattern per line")        \
  X(INT, stack_depth, 32, 1, 64, "frames kept per stack")                                          \
  X(SIGNAL, dump_signal, 12, 0, 64,                                                                \
    "signal on which a live process writes a dump; 0 turns it off")                                \
  X(INT, verbosity, 0, 0, 3, "1 and up print what the shim does")

#define LW_FIELD_INT(name) int name;
#define LW_FIELD_PATH(name) char name[LW_PATH_MAX];
#define LW_FIELD_CHOICE(name) int name;
#define LW_FIELD_SIGNAL(name) int name;
#define LW_OPTION_FIELD(type, name, def, lo, hi, help) LW_FIELD_##type(name)

typedef struct lw_options {
  LW_OPTIONS(LW_OPTION_FIELD)
} lw_options;

/* The options in force, set once by lw_options_init() before any thread is
 * created by the program; read-only afterwards. */
extern lw_options lw_opt;

/* Fill `opts` with defaults, then apply `text`. Every problem (unknown key,
 * bad value) is reported through `complain(message)` once, naming the key;
 * the key keeps its default. Returns the number of problems. Pure: no
 * environment, no I/O (the unit tests and the fuzzer call it directly). */
int lw_options_parse(const char *text, lw_options *opts, void (*complain)(const char *message));

/* Read LEAKWATCH_OPTIONS (never in a setuid/setgid process) into lw_opt. */
void lw_options_init(void);

/* Write the help text (one line per option) into buf. */
size_t lw_options_help(char *buf, size_t size);

/* Expand %p in `pattern` to the pid. Returns false if it does not fit. */
bool lw_options_expand_path(const char *pattern, int pid, char *out, size_t size);

#endif
