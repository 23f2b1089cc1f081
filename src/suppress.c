/*
 * suppress.c - suppression rules (see suppress.h).
 */
#define _GNU_SOURCE
#include "suppress.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "mem.h"
#include "options.h"
#include "userfile.h"

typedef struct rule {
  int kind; /* lw_finding_kind, or ANY_KIND for "*" */
  char pattern[256];
  unsigned hits;
  int line;
} rule;

LW_COLD static rule rules[LW_SUPPRESS_MAX];
static int nrules;

#define ANY_KIND (-1)

/* A rule's kind: a finding kind's name or "*". */
static bool parse_kind(const char *name, int *out) {
  lw_finding_kind kind;
  if (strcmp(name, "*") == 0)
    *out = ANY_KIND;
  else if (lw_finding_kind_parse(name, &kind))
    *out = (int)kind;
  else
    return false;
  return true;
}

int lw_suppress_parse(const char *text, size_t len, const char *file,
                      void (*complain)(const char *file, int line, const char *why)) {
  nrules = 0;
  int lineno = 0;
  size_t pos = 0;
  while (pos < len) {
    size_t end = pos;
    while (end < len && text[end] != '\n')
      end++;
    lineno++;
    char line[512];
    size_t n = end - pos;
    const char *problem = NULL;
    if (n >= sizeof line) {
      problem = "line too long";
    } else {
      memcpy(line, text + pos, n);
      line[n] = '\0';
      if (memchr(line, '\0', n))
        problem = "a NUL byte";
      char *hash = strchr(line, '#');
      if (hash)
        *hash = '\0';
      char *start = line;
      while (*start == ' ' || *start == '\t' || *start == '\r')
        start++;
      char *tail = start + strlen(start);
      while (tail > start && (tail[-1] == ' ' || tail[-1] == '\t' || tail[-1] == '\r'))
        *--tail = '\0';
      if (!problem && *start) {
        char *colon = strchr(start, ':');
        if (!colon)
          problem = "expected kind:pattern";
        else {
          *colon = '\0';
          const char *pattern = colon + 1;
          int kind = 0;
          if (!parse_kind(start, &kind))
            problem = "unknown finding kind";
          else if (!*pattern)
            problem = "empty pattern";
          else if (strlen(pattern) >= sizeof rules[0].pattern)
            problem = "rule too long";
          else if (nrules == LW_SUPPRESS_MAX)
            problem = "too many rules";
          else {
            rule *r = &rules[nrules++];
            memset(r, 0, sizeof *r);
            r->kind = kind;
            strcpy(r->pattern, pattern);
            r->line = lineno;
          }
        }
      }
    }
    if (problem && complain)
      complain(file, lineno, problem);
    pos = end + 1;
  }
  return nrules;
}

static lw_warn_budget rule_warnings;

static void complain_to_stderr(const char *file, int line, const char *why) {
  lw_warn_budgeted(&rule_warnings, "%s:%d: %s; line skipped", file, line, why);
}

void lw_suppress_init(void) {
  if (!lw_opt.suppressions[0])
    return;
  size_t len, size;
  bool truncated;
  char *text = lw_userfile_read("suppressions file", lw_opt.suppressions, LW_SUPPRESS_MAX_BYTES,
                                &len, &size, &truncated);
  if (!text)
    return;
  if (truncated) {
    /* Rules are short and at most LW_SUPPRESS_MAX: a longer file is a
     * mistake, and reading it whole would stall start-up for seconds. */
    lw_warn("suppressions file '%s' is longer than %d KiB: only its first %d KiB are read",
            lw_opt.suppressions, LW_SUPPRESS_MAX_BYTES / 1024, LW_SUPPRESS_MAX_BYTES / 1024);
    while (len > 0 && text[len - 1] != '\n')
      len--; /* no half line */
  }
  lw_suppress_parse(text, len, lw_opt.suppressions, complain_to_stderr);
  lw_warn_budget_end(&rule_warnings, lw_opt.suppressions);
  lw_mem_free(text, size);
}

static bool glob(const char *pattern, const char *text) {
  return text && fnmatch(pattern, text, 0) == 0;
}

static bool matches_frames(const rule *r, const lw_frames *frames) {
  for (uint32_t i = 0; i < frames->count; i++) {
    const lw_frame *f = &frames->frames[i];
    if (glob(r->pattern, f->function) || glob(r->pattern, f->module))
      return true;
    /* A module pattern may name the file alone: "libglib*". */
    const char *base = f->module ? strrchr(f->module, '/') : NULL;
    if (base && glob(r->pattern, base + 1))
      return true;
  }
  return false;
}

static bool matches_thread(const rule *r, const lw_report_thread *t) {
  if (glob(r->pattern, t->name) || glob(r->pattern, t->start))
    return true;
  if (matches_frames(r, &t->create_stack) || matches_frames(r, &t->stack) ||
      (t->has_wait && matches_frames(r, &t->wait.stack)))
    return true;
  for (uint32_t i = 0; i < t->nheld; i++)
    if (matches_frames(r, &t->held[i].stack))
      return true;
  return false;
}

static bool suppressed(lw_report *report, const lw_finding *f) {
  for (int i = 0; i < nrules; i++) {
    rule *r = &rules[i];
    if (r->kind != ANY_KIND && r->kind != (int)f->kind)
      continue;
    bool matched = false;
    for (uint32_t k = 0; k < f->nevents && !matched; k++)
      matched = matches_frames(r, &f->events[k].stack);
    if (matched) {
      r->hits++;
      return true;
    }
    for (uint32_t k = 0; k < f->nthreads; k++) {
      lw_report_thread *t = lw_report_thread_by_id(report, f->threads[k]);
      if (t && matches_thread(r, t)) {
        r->hits++;
        return true;
      }
    }
  }
  return false;
}

void lw_suppress_apply(lw_report *report) {
  if (nrules == 0)
    return;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < report->nfindings; i++) {
    if (suppressed(report, &report->findings[i]))
      report->suppressed += report->findings[i].count;
    else
      report->findings[kept++] = report->findings[i];
  }
  report->nfindings = kept;
}

bool lw_suppress_has_kind(lw_finding_kind kind) {
  for (int i = 0; i < nrules; i++)
    if (rules[i].kind == ANY_KIND || rules[i].kind == (int)kind)
      return true;
  return false;
}

bool lw_suppress_covers(lw_finding_kind kind, const lw_report_thread *t) {
  for (int i = 0; i < nrules; i++)
    if ((rules[i].kind == ANY_KIND || rules[i].kind == (int)kind) && matches_thread(&rules[i], t))
      return true;
  return false;
}

void lw_suppress_list_unused(void) {
  for (int i = 0; i < nrules; i++)
    if (rules[i].hits == 0)
      lw_verbose(
          1, "%s:%d: suppression '%s:%s' matched nothing", lw_opt.suppressions, rules[i].line,
          rules[i].kind == ANY_KIND ? "*" : lw_finding_kind_name((lw_finding_kind)rules[i].kind),
          rules[i].pattern);
}
