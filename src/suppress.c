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

typedef struct rule {
  char kind[32];
  char pattern[256];
  unsigned hits;
  int line;
} rule;

static rule rules[LW_SUPPRESS_MAX];
static int nrules;

static const char *const kinds[] = {
    "thread_leak",    "unjoined_thread", "deadlock", "lock_order_inversion",
    "abandoned_lock", "long_wait",       "misuse",   "*"};

static bool known_kind(const char *kind) {
  for (size_t i = 0; i < LW_ARRAY_SIZE(kinds); i++)
    if (strcmp(kind, kinds[i]) == 0)
      return true;
  return false;
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
          if (!known_kind(start))
            problem = "unknown finding kind";
          else if (!*pattern)
            problem = "empty pattern";
          else if (strlen(start) >= sizeof rules[0].kind ||
                   strlen(pattern) >= sizeof rules[0].pattern)
            problem = "rule too long";
          else if (nrules == LW_SUPPRESS_MAX)
            problem = "too many rules";
          else {
            rule *r = &rules[nrules++];
            memset(r, 0, sizeof *r);
            strcpy(r->kind, start);
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

static void complain_to_stderr(const char *file, int line, const char *why) {
  lw_warn("%s:%d: %s; line skipped", file, line, why);
}

void lw_suppress_init(void) {
  if (!lw_opt.suppressions[0])
    return;
  int fd = open(lw_opt.suppressions, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    lw_warn("cannot read suppressions file '%s' (%s); no suppressions", lw_opt.suppressions,
            fd < 0 ? strerror(errno) : "not a regular file");
    if (fd >= 0)
      close(fd);
    return;
  }
  /* The whole file, however long (the shim's own memory, given back). */
  size_t capacity = (size_t)st.st_size + 1;
  char *text = lw_mem_alloc(capacity);
  size_t len = 0;
  ssize_t got = 0;
  while (text && len < capacity - 1 && (got = read(fd, text + len, capacity - 1 - len)) > 0)
    len += (size_t)got;
  close(fd);
  if (!text || got < 0) {
    lw_warn("cannot read suppressions file '%s'; no suppressions", lw_opt.suppressions);
    lw_mem_free(text, capacity);
    return;
  }
  lw_suppress_parse(text, len, lw_opt.suppressions, complain_to_stderr);
  lw_mem_free(text, capacity);
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
    if (strcmp(r->kind, "*") != 0 && strcmp(r->kind, f->kind) != 0)
      continue;
    if (matches_frames(r, &f->stacks)) {
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

void lw_suppress_list_unused(void) {
  for (int i = 0; i < nrules; i++)
    if (rules[i].hits == 0)
      lw_verbose(1, "%s:%d: suppression '%s:%s' matched nothing", lw_opt.suppressions,
                 rules[i].line, rules[i].kind, rules[i].pattern);
}
