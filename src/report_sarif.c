/*
 * report_sarif.c - the report as SARIF 2.1.0 (see report_sarif.h and the
 * mapping table in docs/reference.md).
 */
#include <inttypes.h>
#include <string.h>

#include "report_sarif.h"

#ifndef LW_VERSION
#define LW_VERSION "0"
#endif

/* An RFC 3986 path: unreserved characters and '/' as they are, the rest
 * percent-encoded. */
static void write_uri_path(lw_buf *out, const char *path) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 strchr("-._~/", *p) != NULL;
    if (plain)
      lw_buf_printf(out, "%c", *p);
    else
      lw_buf_printf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
  }
}

/* `file` relative to `srcroot` when it is under it, else NULL. */
static const char *under_root(const char *file, const char *srcroot) {
  size_t len = srcroot ? strlen(srcroot) : 0;
  while (len > 1 && srcroot[len - 1] == '/')
    len--;
  if (!len || strncmp(file, srcroot, len) != 0 || file[len] != '/')
    return NULL;
  return file + len + 1;
}

static void write_physical(lw_buf *out, const lw_frame *frame, const char *srcroot) {
  const char *relative = under_root(frame->file, srcroot);
  lw_buf_puts(out, "\"physicalLocation\": {\"artifactLocation\": {\"uri\": \"");
  if (relative) {
    write_uri_path(out, relative);
    lw_buf_puts(out, "\", \"uriBaseId\": \"SRCROOT\"}");
  } else {
    lw_buf_puts(out, "file://");
    write_uri_path(out, frame->file);
    lw_buf_puts(out, "\"}");
  }
  lw_buf_printf(out, ", \"region\": {\"startLine\": %d}}", frame->line);
  if (frame->function) {
    lw_buf_puts(out, ", \"logicalLocations\": [{\"fullyQualifiedName\": ");
    lw_buf_json_string(out, frame->function);
    lw_buf_puts(out, ", \"kind\": \"function\"}]");
  }
}

/* A frame SARIF can point at: a line in a file named by an absolute path
 * (debug info names some files relative to a build directory it does not
 * say, as glibc's "./nptl/pthread_create.c": no URI can reach those). */
static bool has_source(const lw_frame *frame) {
  return frame->file && frame->file[0] == '/' && frame->line > 0;
}

static const lw_frame *first_with_source(const lw_frames *frames) {
  for (uint32_t i = 0; i < frames->count; i++)
    if (has_source(&frames->frames[i]))
      return &frames->frames[i];
  return NULL;
}

/* What an event says, in one sentence. */
static void event_sentence(lw_buf *out, const lw_report_event *e) {
  lw_buf text = {0};
  const char *kind = e->object_kind ? e->object_kind : "object";
  switch (e->role) {
  case LW_EVENT_WAITS:
    lw_buf_printf(&text, "T%u waits in %s on %s 0x%" PRIxPTR, e->thread, e->call ? e->call : "?",
                  kind, (uintptr_t)e->object);
    if (e->has_owner)
      lw_buf_printf(&text, ", held by T%u", e->owner);
    break;
  case LW_EVENT_HELD:
    lw_buf_printf(&text, "edge %u: T%u took %s 0x%" PRIxPTR " here", e->edge, e->thread, kind,
                  (uintptr_t)e->object);
    break;
  case LW_EVENT_TAKEN:
    if (e->edge)
      lw_buf_printf(&text, "edge %u: then T%u took %s 0x%" PRIxPTR " here", e->edge, e->thread,
                    kind, (uintptr_t)e->object);
    else
      lw_buf_printf(&text, "T%u took %s 0x%" PRIxPTR " here and never released it", e->thread, kind,
                    (uintptr_t)e->object);
    break;
  case LW_EVENT_CALL:
    lw_buf_printf(&text, "T%u calls %s here", e->thread, e->call ? e->call : "the function");
    break;
  case LW_EVENT_EARLIER:
    lw_buf_puts(&text, e->label ? e->label : "earlier");
    break;
  default:
    break;
  }
  lw_buf_json_string(out, text.data ? text.data : "");
  lw_buf_free(&text);
}

/* One thread flow: the event's stack, innermost frame first, those with a
 * source line. */
static void write_thread_flow(lw_buf *out, const lw_report_event *e, const char *srcroot) {
  lw_buf_puts(out, "{\"message\": {\"text\": ");
  event_sentence(out, e);
  lw_buf_puts(out, "}, \"locations\": [");
  bool first = true;
  for (uint32_t i = 0; i < e->stack.count; i++) {
    const lw_frame *frame = &e->stack.frames[i];
    if (!has_source(frame))
      continue;
    lw_buf_printf(out, "%s{\"location\": {", first ? "" : ", ");
    write_physical(out, frame, srcroot);
    lw_buf_puts(out, "}}");
    first = false;
  }
  lw_buf_puts(out, "]}");
}

static void write_result(lw_buf *out, const lw_finding *f, const char *srcroot) {
  const lw_finding_kind_info *info = &lw_finding_kinds[f->kind];
  lw_buf_printf(
      out, "{\"ruleId\": \"%s\", \"ruleIndex\": %d, \"level\": \"%s\", \"message\": {\"text\": ",
      info->name, (int)f->kind, info->level);
  lw_buf_json_string(out, f->message ? f->message : info->label);
  lw_buf_puts(out, "}");
  if (f->count > 1)
    lw_buf_printf(out, ", \"occurrenceCount\": %u", f->count);
  lw_buf_puts(out, ", \"locations\": [");
  if (f->has_location && has_source(&f->location)) {
    lw_buf_puts(out, "{");
    write_physical(out, &f->location, srcroot);
    lw_buf_puts(out, "}");
  }
  lw_buf_puts(out, "]");
  /* Each event where it happened, and its whole stack as a thread flow. */
  uint32_t related = 0, flows = 0;
  for (uint32_t i = 0; i < f->nevents; i++) {
    const lw_frame *frame = first_with_source(&f->events[i].stack);
    if (!frame)
      continue;
    lw_buf_printf(out, "%s{\"id\": %u, \"message\": {\"text\": ",
                  related ? ", " : ", \"relatedLocations\": [", related);
    event_sentence(out, &f->events[i]);
    lw_buf_puts(out, "}, ");
    write_physical(out, frame, srcroot);
    lw_buf_puts(out, "}");
    related++;
  }
  if (related)
    lw_buf_puts(out, "]");
  for (uint32_t i = 0; i < f->nevents; i++) {
    if (!first_with_source(&f->events[i].stack))
      continue;
    lw_buf_puts(out, flows ? ", " : ", \"codeFlows\": [{\"threadFlows\": [");
    write_thread_flow(out, &f->events[i], srcroot);
    flows++;
  }
  if (flows)
    lw_buf_puts(out, "]}]");
  lw_buf_puts(out, "}");
}

void lw_report_sarif_write(lw_buf *out, const lw_report *r, const char *srcroot) {
  lw_buf_puts(out, "{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n"
                   "  \"version\": \"2.1.0\",\n  \"runs\": [{\n    \"tool\": {\"driver\": {"
                   "\"name\": \"leakwatch\", \"version\": \"" LW_VERSION "\",\n"
                   "      \"rules\": [");
  for (int k = 0; k < LW_FINDING_COUNT; k++) {
    const lw_finding_kind_info *info = &lw_finding_kinds[k];
    lw_buf_printf(
        out, "%s\n        {\"id\": \"%s\", \"name\": \"%s\", \"shortDescription\": {\"text\": ",
        k ? "," : "", info->name, info->name);
    lw_buf_json_string(out, info->label);
    lw_buf_puts(out, "}, \"fullDescription\": {\"text\": ");
    lw_buf_json_string(out, info->help);
    lw_buf_puts(out, "}, \"help\": {\"text\": ");
    lw_buf_json_string(out, info->help);
    lw_buf_printf(out, "}, \"defaultConfiguration\": {\"level\": \"%s\"}}", info->level);
  }
  lw_buf_puts(out, "]}},\n");
  if (srcroot && srcroot[0] == '/') {
    lw_buf_puts(out, "    \"originalUriBaseIds\": {\"SRCROOT\": {\"uri\": \"file://");
    write_uri_path(out, srcroot);
    lw_buf_puts(out, srcroot[strlen(srcroot) - 1] == '/' ? "\"}},\n" : "/\"}},\n");
  }
  lw_buf_puts(
      out, "    \"invocations\": [{\"executionSuccessful\": true, \"properties\": {\"trigger\": ");
  lw_buf_json_string(out, r->trigger);
  lw_buf_printf(out, ", \"pid\": %d, \"exe\": ", r->pid);
  lw_buf_json_string(out, r->exe);
  lw_buf_printf(out, ", \"suppressed\": %u}}],\n    \"results\": [", r->suppressed);
  for (uint32_t i = 0; i < r->nfindings; i++) {
    lw_buf_puts(out, i ? ",\n      " : "\n      ");
    write_result(out, &r->findings[i], srcroot);
  }
  lw_buf_puts(out, r->nfindings ? "\n    ]\n  }]\n}\n" : "]\n  }]\n}\n");
}
