/*
 * options.c - parse LEAKWATCH_OPTIONS.
 *
 * Strict, like mutrace and the sanitizers: a number must be all digits and in
 * range, a choice one of its words; anything else is named in one message and
 * the key keeps its default. The parser never allocates and never fails the
 * program: it runs in the constructor of someone else's process.
 */
#define _GNU_SOURCE
#include "options.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "common.h"
#include "userfile.h"

lw_options lw_opt;

#define LW_DEFAULT_INT(name, def) opts->name = (def);
#define LW_DEFAULT_PATH(name, def)                                                                 \
  snprintf(opts->name, sizeof opts->name, "%s", (const char *)(def));
#define LW_DEFAULT_CHOICE(name, def) opts->name = (def);
#define LW_DEFAULT_SIGNAL(name, def) opts->name = (def);
#define LW_DEFAULT_SIGNALS(name, def) parse_signals((def), &opts->name);
#define LW_OPTION_DEFAULT(type, name, def, lo, hi, help) LW_DEFAULT_##type(name, def)

static bool parse_signals(const char *value, uint64_t *out);

static void lw_options_defaults(lw_options *opts) { LW_OPTIONS(LW_OPTION_DEFAULT) }

/* Parse a decimal integer in [lo, hi]; the whole string must be the number. */
static bool parse_int(const char *value, long lo, long hi, int *out) {
  if (!*value)
    return false;
  long result = 0;
  for (const char *p = value; *p; p++) {
    if (*p < '0' || *p > '9')
      return false;
    result = result * 10 + (*p - '0');
    if (result > hi)
      return false;
  }
  if (result < lo)
    return false;
  *out = (int)result;
  return true;
}

/* Index of `value` among the '|'-separated words of `choices`, or -1. */
static int parse_choice(const char *value, const char *choices) {
  size_t len = strlen(value);
  int index = 0;
  for (const char *word = choices;; index++) {
    const char *end = strchr(word, '|');
    size_t word_len = end ? (size_t)(end - word) : strlen(word);
    if (word_len == len && strncmp(word, value, len) == 0)
      return index;
    if (!end)
      return -1;
    word = end + 1;
  }
}

/*
 * The signals options may name, by name or by number alike: the one table
 * of them, with what each may serve as.
 *  - dump: a signal on which a live process writes a dump and goes on.
 *  - report: a signal that, at its default action, ends the process
 *    (terminate or core): report_signals reports before it does.
 * Left out on purpose: signals of faults (SEGV, BUS, FPE, ILL, ABRT, TRAP,
 * SYS: a crashing program would spin in the handler forever), CHLD, ALRM,
 * PIPE and the like (the program's own events: every child exit would
 * interrupt its sleeps with EINTR, every write to a closed pipe would
 * report), KILL and STOP (cannot be caught), and the real-time signals
 * (glibc keeps 32 and 33, the shim uses SIGRTMAX-3, programs use the rest).
 * INT and TERM are the user's way to stop a program: never a dump.
 */
enum { SIGNAL_DUMP = 1, SIGNAL_REPORT = 2 };
static const struct {
  const char *name;
  int number;
  int uses;
} option_signals[] = {{"HUP", SIGHUP, SIGNAL_DUMP | SIGNAL_REPORT},
                      {"INT", SIGINT, SIGNAL_REPORT},
                      {"QUIT", SIGQUIT, SIGNAL_DUMP | SIGNAL_REPORT},
                      {"TERM", SIGTERM, SIGNAL_REPORT},
                      {"USR1", SIGUSR1, SIGNAL_DUMP | SIGNAL_REPORT},
                      {"USR2", SIGUSR2, SIGNAL_DUMP | SIGNAL_REPORT},
                      {"PWR", SIGPWR, SIGNAL_DUMP | SIGNAL_REPORT},
                      {"WINCH", SIGWINCH, SIGNAL_DUMP},
                      {"URG", SIGURG, SIGNAL_DUMP}};

const char *lw_options_signal_name(int number) {
  static const char *const full[] = {"SIGHUP",  "SIGINT", "SIGQUIT",  "SIGTERM", "SIGUSR1",
                                     "SIGUSR2", "SIGPWR", "SIGWINCH", "SIGURG"};
  _Static_assert(LW_ARRAY_SIZE(full) == LW_ARRAY_SIZE(option_signals), "one name per signal");
  for (size_t i = 0; i < LW_ARRAY_SIZE(option_signals); i++)
    if (option_signals[i].number == number)
      return full[i];
  return NULL;
}

/* One signal (not 0) of the table for `use`, by name (with or without
 * SIG) or number, of `len` characters at `value`. */
static bool parse_one_signal(const char *value, size_t len, int use, int *out) {
  char word[16];
  if (len == 0 || len >= sizeof word)
    return false;
  memcpy(word, value, len);
  word[len] = '\0';
  int number;
  const char *name = strncmp(word, "SIG", 3) == 0 ? word + 3 : word;
  bool by_number = parse_int(word, 1, 64, &number);
  for (size_t i = 0; i < LW_ARRAY_SIZE(option_signals); i++)
    if ((option_signals[i].uses & use) && (by_number ? number == option_signals[i].number
                                                     : strcmp(name, option_signals[i].name) == 0)) {
      *out = option_signals[i].number;
      return true;
    }
  return false;
}

static bool parse_signal(const char *value, int *out) {
  if (strcmp(value, "0") == 0) {
    *out = 0; /* off */
    return true;
  }
  return parse_one_signal(value, strlen(value), SIGNAL_DUMP, out);
}

/* "INT,TERM,HUP" or "2,15": a mask, bit n-1 for signal n; "0" is none.
 * All or nothing: one bad word keeps the default. */
static bool parse_signals(const char *value, uint64_t *out) {
  if (strcmp(value, "0") == 0) {
    *out = 0;
    return true;
  }
  uint64_t mask = 0;
  for (const char *word = value;;) {
    const char *end = strchr(word, ',');
    size_t len = end ? (size_t)(end - word) : strlen(word);
    int number;
    if (!parse_one_signal(word, len, SIGNAL_REPORT, &number))
      return false;
    mask |= 1ull << (number - 1);
    if (!end)
      break;
    word = end + 1;
  }
  *out = mask;
  return true;
}

/* "SIGUSR1, SIGUSR2, ..." of the signals for `use`, for messages. */
static void signal_names(int use, char *out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < LW_ARRAY_SIZE(option_signals); i++)
    if ((option_signals[i].uses & use) && used < size)
      used += (size_t)snprintf(out + used, size - used, "%sSIG%s", used ? ", " : "",
                               option_signals[i].name);
}

static void complain_signal(void (*complain)(const char *), const char *value, const char *key,
                            int use) {
  char names[160], message[LW_PATH_MAX + 300];
  signal_names(use, names, sizeof names);
  snprintf(message, sizeof message,
           "LEAKWATCH_OPTIONS: bad value '%s' for %s (%s of %s, by name or number, or 0); using "
           "the default",
           value, key, use == SIGNAL_DUMP ? "one" : "a comma-separated list", names);
  complain(message);
}

static void complainf(void (*complain)(const char *), const char *fmt, const char *a,
                      const char *b) {
  char message[LW_PATH_MAX + 200];
  snprintf(message, sizeof message, fmt, a, b);
  complain(message);
}

#define LW_APPLY_INT(name, lo, hi)                                                                 \
  if (!parse_int(value, (lo), (hi), &opts->name)) {                                                \
    complainf(complain,                                                                            \
              "LEAKWATCH_OPTIONS: bad value '%s' for %s (a whole number from " #lo " to " #hi      \
              "); using the default",                                                              \
              value, key);                                                                         \
    problems++;                                                                                    \
  }
#define LW_APPLY_PATH(name, lo, hi)                                                                \
  if (strlen(value) >= sizeof opts->name) {                                                        \
    complainf(complain,                                                                            \
              "LEAKWATCH_OPTIONS: value '%.60s...' for %s is too long; using the default", value,  \
              key);                                                                                \
    problems++;                                                                                    \
  } else                                                                                           \
    memcpy(opts->name, value, strlen(value) + 1);
#define LW_APPLY_CHOICE(name, lo, hi)                                                              \
  {                                                                                                \
    int choice = parse_choice(value, (const char *)(lo));                                          \
    if (choice < 0) {                                                                              \
      complainf(complain,                                                                          \
                "LEAKWATCH_OPTIONS: bad value '%s' for %s (one of " lo "); using the default",     \
                value, key);                                                                       \
      problems++;                                                                                  \
    } else                                                                                         \
      opts->name = choice;                                                                         \
  }
#define LW_APPLY_SIGNAL(name, lo, hi)                                                              \
  if (!parse_signal(value, &opts->name)) {                                                         \
    complain_signal(complain, value, key, SIGNAL_DUMP);                                            \
    problems++;                                                                                    \
  }
#define LW_APPLY_SIGNALS(name, lo, hi)                                                             \
  if (!parse_signals(value, &opts->name)) {                                                        \
    complain_signal(complain, value, key, SIGNAL_REPORT);                                          \
    problems++;                                                                                    \
  }
#define LW_OPTION_APPLY(type, name, def, lo, hi, help)                                             \
  else if (strcmp(key, #name) == 0) {                                                              \
    LW_APPLY_##type(name, lo, hi)                                                                  \
  }

/* Apply one "key=value" item (NUL-terminated, may be modified). */
static int apply_item(char *item, lw_options *opts, void (*complain)(const char *)) {
  int problems = 0;
  char *eq = strchr(item, '=');
  if (!eq) {
    complainf(complain, "LEAKWATCH_OPTIONS: '%s' is not key=value%s; ignored", item, "");
    return 1;
  }
  *eq = '\0';
  const char *key = item, *value = eq + 1;
  if (0) {
  }
  LW_OPTIONS(LW_OPTION_APPLY)
  else {
    complainf(complain, "LEAKWATCH_OPTIONS: unknown option '%s'%s; ignored", key, "");
    problems++;
  }
  return problems;
}

int lw_options_parse(const char *text, lw_options *opts, void (*complain)(const char *)) {
  lw_options_defaults(opts);
  if (!text)
    return 0;
  int problems = 0;
  char item[LW_PATH_MAX + 64];
  const char *p = text;
  while (*p) {
    const char *end = p;
    while (*end && *end != ':')
      end++;
    size_t len = (size_t)(end - p);
    if (len >= sizeof item) {
      complainf(complain, "LEAKWATCH_OPTIONS: an item starting '%.40s' is too long%s; ignored", p,
                "");
      problems++;
    } else if (len > 0) {
      memcpy(item, p, len);
      item[len] = '\0';
      /* Surrounding blanks are a typing accident, not part of the value. */
      char *start = item;
      while (*start == ' ' || *start == '\t' || *start == '\n')
        start++;
      for (char *tail = start + strlen(start);
           tail > start && (tail[-1] == ' ' || tail[-1] == '\t' || tail[-1] == '\n');)
        *--tail = '\0';
      if (*start)
        problems += apply_item(start, opts, complain);
    }
    p = *end ? end + 1 : end;
  }
  return problems;
}

static lw_warn_budget option_warnings;

static void complain_to_stderr(const char *message) {
  lw_warn_budgeted(&option_warnings, "%s", message);
}

/* The value of `key` in /proc/self/environ (options_text). Kept out of
 * options_text: its buffers (12 KiB of stack) would put the common path's
 * callees on stack pages the process never touched (a page fault each). */
__attribute__((noinline)) static const char *options_from_proc(const char *key, size_t key_len) {
  LW_COLD static char value[8192];
  int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  /* Entries are NUL-terminated; keep the current one's start in `entry`. */
  char chunk[4096], entry[32 + sizeof value];
  size_t entry_len = 0;
  bool found = false;
  for (ssize_t got; !found && (got = read(fd, chunk, sizeof chunk)) > 0;) {
    for (ssize_t i = 0; i < got && !found; i++) {
      if (chunk[i] != '\0') {
        if (entry_len < sizeof entry - 1)
          entry[entry_len++] = chunk[i];
        continue;
      }
      entry[entry_len] = '\0';
      if (entry_len >= key_len && memcmp(entry, key, key_len) == 0) {
        size_t length = strnlen(entry + key_len, sizeof value - 1);
        memcpy(value, entry + key_len, length);
        value[length] = '\0';
        found = true;
      }
      entry_len = 0;
    }
  }
  close(fd);
  return found ? value : NULL;
}

/*
 * LEAKWATCH_OPTIONS, also when the shim starts before libc has set up
 * environ: an executable's .preinit_array runs before libc's initialiser,
 * and getenv then finds nothing. The kernel's copy of the same environment
 * is in /proc/self/environ. A setuid program (AT_SECURE) takes no orders
 * from its caller's environment either way.
 */
static const char *options_text(void) {
  static const char key[] = "LEAKWATCH_OPTIONS=";
  if (getauxval(AT_SECURE))
    return NULL;
  if (environ)
    return getenv("LEAKWATCH_OPTIONS");
  return options_from_proc(key, sizeof key - 1);
}

void lw_options_init(void) {
  lw_userfile_init(); /* before the first diagnostic: what stderr is */
  lw_options_parse(options_text(), &lw_opt, complain_to_stderr);
  lw_warn_budget_end(&option_warnings, "LEAKWATCH_OPTIONS");
}

#define LW_HELP_LINE(type, name, def, lo, hi, help)                                                \
  used += (size_t)snprintf(buf + (used < size ? used : size), used < size ? size - used : 0,       \
                           "  %-16s %s\n", #name, help);

size_t lw_options_help(char *buf, size_t size) {
  size_t used = 0;
  LW_OPTIONS(LW_HELP_LINE)
  return used;
}

bool lw_options_expand_path(const char *pattern, int pid, char *out, size_t size) {
  size_t used = 0;
  for (const char *p = pattern; *p; p++) {
    int wrote;
    if (p[0] == '%' && p[1] == 'p') {
      wrote = snprintf(out + used, size - used, "%d", pid);
      p++;
    } else {
      wrote = snprintf(out + used, size - used, "%c", *p);
    }
    if (wrote < 0 || (size_t)wrote >= size - used)
      return false;
    used += (size_t)wrote;
  }
  if (used >= size)
    return false;
  out[used] = '\0';
  return true;
}
