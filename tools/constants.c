/*
 * constants.c - writes the command line's leakwatch/_constants.py from the
 * C side's own tables, at build time, so the Python code never keeps a copy
 * of them: the finding kinds (finding.h), the waiting calls and their
 * objects (calls.h), the options (options.h) and the signals dump_signal
 * accepts (options.c's parser).
 *
 * Usage: leakwatch-constants VERSION FILE [HOMEPAGE]
 *   FILE is replaced whole, or not at all; HOMEPAGE is the project's URL
 *   (SARIF's informationUri), none if not given
 *
 * The signals are not read from options.c's table (it is private to that
 * file): every signal number is offered to the real parser, lw_options_parse,
 * and those it takes are the table. What the command line accepts is then,
 * by construction, what the shim accepts.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "calls.h"
#include "finding.h"
#include "options.h"
#include "report.h" /* LW_HELD_MAX */

/* A Python string literal: ASCII printable characters as they are, the rest
 * escaped (the help texts are meant to be ASCII; a stray byte must not make
 * the module unloadable). */
static void write_string(const char *text) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7f)
      printf("\\x%02x", *p);
    else
      putchar(*p);
  }
  putchar('"');
}

#define LW_WRITE_KIND(id, name, label, level, help)                                                \
  printf("    FindingKind(");                                                                      \
  write_string(#id);                                                                               \
  printf(", ");                                                                                    \
  write_string(name);                                                                              \
  printf(", ");                                                                                    \
  write_string(label);                                                                             \
  printf(", ");                                                                                    \
  write_string(level);                                                                             \
  printf(",\n                ");                                                                   \
  write_string(help);                                                                              \
  printf("),\n");

#define LW_WRITE_CALL(name, object, access, wait)                                                  \
  printf("    Call(\"%s\", \"%s\", \"%s\", \"%s\"),\n", #name, #object, #access, #wait);
#define LW_WRITE_OBJECT(id, name)                                                                  \
  printf("    (\"%s\", ", #id);                                                                    \
  write_string(name);                                                                              \
  printf("),\n");

/* Per option type: (type, default, choices) as Python values. */
#define LW_WRITE_INT(def, lo, hi) printf("\"int\", %d, (%d, %d)", (int)(def), (int)(lo), (int)(hi))
#define LW_WRITE_PATH(def, lo, hi)                                                                 \
  printf("\"path\", ");                                                                            \
  write_string((const char *)(def));                                                               \
  printf(", None")
#define LW_WRITE_CHOICE(def, lo, hi) write_choice((int)(def), (const char *)(lo))
#define LW_WRITE_SIGNAL(def, lo, hi) printf("\"signal\", %d, None", (int)(def))
#define LW_WRITE_SIGNALS(def, lo, hi)                                                              \
  printf("\"signals\", ");                                                                         \
  write_string((const char *)(def));                                                               \
  printf(", None")
#define LW_WRITE_OPTION(type, name, def, lo, hi, help)                                             \
  printf("    Option(");                                                                           \
  write_string(#name);                                                                             \
  printf(", ");                                                                                    \
  LW_WRITE_##type(def, lo, hi);                                                                    \
  printf(",\n           ");                                                                        \
  write_string(help);                                                                              \
  printf("),\n");

/* A choice's default is stored as an index into "a|b|c": written as the
 * word, with the words as a tuple. */
static void write_choice(int def, const char *choices) {
  char words[256];
  snprintf(words, sizeof words, "%s", choices);
  const char *chosen = "";
  int index = 0;
  for (char *word = strtok(words, "|"); word; word = strtok(NULL, "|"), index++)
    if (index == def)
      chosen = word;
  printf("\"choice\", ");
  write_string(chosen);
  printf(", (");
  snprintf(words, sizeof words, "%s", choices);
  for (char *word = strtok(words, "|"); word; word = strtok(NULL, "|")) {
    write_string(word);
    printf(", ");
  }
  printf(")");
}

static int rejected;
static void count_rejection(const char *message) {
  (void)message;
  rejected++;
}

/* Whether the shim's parser takes dump_signal=`value`, and as which number. */
static int parse_dump_signal(const char *value) {
  char text[64];
  snprintf(text, sizeof text, "dump_signal=%s", value);
  lw_options opts;
  rejected = 0;
  lw_options_parse(text, &opts, count_rejection);
  return rejected ? -1 : opts.dump_signal;
}

static void write_dump_signals(void) {
  printf("DUMP_SIGNALS = (\n");
  for (int number = 1; number < 65; number++) {
    char by_number[16];
    snprintf(by_number, sizeof by_number, "%d", number);
    const char *name = sigabbrev_np(number);
    if (parse_dump_signal(by_number) != number || !name)
      continue;
    /* The table names every signal it takes by number: check it does. */
    if (parse_dump_signal(name) != number) {
      fprintf(stderr, "leakwatch-constants: dump_signal takes %d but not %s\n", number, name);
      continue;
    }
    printf("    (");
    write_string(name);
    printf(", %d),\n", number);
  }
  printf(")\n");
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: %s VERSION FILE [HOMEPAGE]\n", argv[0]);
    return 2;
  }
  /* Written beside, then renamed: a failed build leaves no half module. */
  char partial[4096];
  snprintf(partial, sizeof partial, "%s.tmp", argv[2]);
  if (!freopen(partial, "w", stdout)) {
    perror(partial);
    return 1;
  }
  printf("\"\"\"Generated at build time by tools/constants.c from src/finding.h,\n"
         "src/options.h and src/options.c: do not edit, rebuild.\"\"\"\n"
         "import collections\n\n");
  printf("VERSION = ");
  write_string(argv[1]);
  printf("\n# Held locks a thread lists (src/report.h LW_HELD_MAX).\nHELD_MAX = %d\n", LW_HELD_MAX);
  printf("HOMEPAGE = ");
  write_string(argc == 4 ? argv[3] : "");
  printf("\n\n");
  printf("# src/finding.h LW_FINDING_KINDS, in its order.\n"
         "FindingKind = collections.namedtuple(\"FindingKind\", \"id name label level help\")\n"
         "FINDING_KINDS = (\n");
  LW_FINDING_KINDS(LW_WRITE_KIND)
  printf(")\n\n");
  printf("# src/calls.h LW_CALLS: the calls a thread is seen waiting in. object: what it\n"
         "# waits on (OBJECTS); access: EXCLUSIVE (one owner), SHARED (only a writer),\n"
         "# NONE (no owner); wait: FOREVER, TIMED or TRY.\n"
         "Call = collections.namedtuple(\"Call\", \"name object access wait\")\n"
         "CALLS = (\n");
  LW_CALLS(LW_WRITE_CALL)
  printf(")\n\n");
  printf("# src/calls.h LW_OBJECTS: (id, name as reports say it).\n"
         "OBJECTS = (\n");
  LW_OBJECTS(LW_WRITE_OBJECT)
  printf(")\n\n");
  printf("# src/options.h LW_OPTIONS: (name, type, default, limits or choices, help).\n"
         "Option = collections.namedtuple(\"Option\", \"name type default values help\")\n"
         "OPTIONS = (\n");
  LW_OPTIONS(LW_WRITE_OPTION)
  printf(")\n\n");
  printf("# The signals dump_signal takes (by name, with or without SIG, or number).\n");
  write_dump_signals();
  if (fflush(stdout) != 0 || ferror(stdout) || rename(partial, argv[2]) != 0) {
    perror(argv[2]);
    remove(partial);
    return 1;
  }
  return 0;
}
