/*
 * api.c - the test-suite API of include/leakwatch.h.
 *
 * The header reaches these through weak references to leakwatch_impl_*; the
 * SPEC's plain names are exported too, for callers that declare them
 * themselves or look them up with dlsym.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "reporting.h"
#include "wait.h"

typedef struct leakwatch_mark {
  unsigned long long serial;
  unsigned thread_id;
} leakwatch_mark_t;

LW_EXPORT int leakwatch_impl_active(void) { return lw_init_ensure() ? 1 : 0; }

LW_EXPORT void leakwatch_impl_ignore_current(void) {
  if (!lw_thread_enter())
    return;
  lw_registry_lock();
  for (lw_thread *t = lw_registry_first(); t; t = lw_registry_next(t))
    atomic_fetch_or(&t->flags, LW_THREAD_IGNORED);
  lw_registry_unlock();
}

LW_EXPORT int leakwatch_impl_report(int fd) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return 0;
  lw_thread *inside = lw_shim_enter();
  int findings = lw_reporting_live(fd, "dump", self);
  lw_shim_leave(inside);
  return findings;
}

LW_EXPORT int leakwatch_impl_verify_none(unsigned timeout_ms) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return 0;
  lw_thread *inside = lw_shim_enter();
  int leaked = lw_reporting_verify(self, 0, 0, timeout_ms, NULL);
  lw_shim_leave(inside);
  return leaked;
}

LW_EXPORT leakwatch_mark_t leakwatch_impl_mark(void) {
  leakwatch_mark_t mark = {0, 0};
  lw_thread *self = lw_thread_enter();
  if (self) {
    mark.thread_id = self->id;
    mark.serial = lw_registry_next_id();
  }
  return mark;
}

LW_EXPORT int leakwatch_impl_verify_since(leakwatch_mark_t mark, unsigned timeout_ms) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return 0;
  lw_thread *inside = lw_shim_enter();
  int leaked = lw_reporting_verify(self, mark.thread_id, (uint32_t)mark.serial, timeout_ms, NULL);
  lw_shim_leave(inside);
  return leaked;
}

/* The findings' text, in the program's own malloc'd memory (the caller
 * frees it with free), or NULL when nothing leaked. Prints nothing. */
static char *verify_text(uint32_t mark_thread, uint32_t mark_serial, int timeout_ms) {
  lw_thread *self = lw_thread_enter();
  if (!self)
    return NULL;
  lw_thread *inside = lw_shim_enter();
  lw_buf text = {0};
  int leaked = lw_reporting_verify(self, mark_thread, mark_serial,
                                   timeout_ms > 0 ? (unsigned)timeout_ms : 0, &text);
  char *copy = NULL;
  if (leaked > 0 && text.len > 0 && (copy = malloc(text.len + 1))) {
    memcpy(copy, text.data, text.len);
    copy[text.len] = '\0';
  }
  lw_buf_free(&text);
  lw_shim_leave(inside);
  return copy;
}

LW_EXPORT char *leakwatch_impl_verify_none_text(int timeout_ms) {
  return verify_text(0, 0, timeout_ms);
}

LW_EXPORT char *leakwatch_impl_verify_since_text(leakwatch_mark_t mark, int timeout_ms) {
  return verify_text(mark.thread_id, (uint32_t)mark.serial, timeout_ms);
}

/* The SPEC's names, for callers without the header. */
LW_EXPORT int leakwatch_active(void) { return leakwatch_impl_active(); }
LW_EXPORT void leakwatch_ignore_current(void) { leakwatch_impl_ignore_current(); }
LW_EXPORT int leakwatch_verify_none(unsigned timeout_ms) {
  return leakwatch_impl_verify_none(timeout_ms);
}
LW_EXPORT int leakwatch_report(int fd) { return leakwatch_impl_report(fd); }
LW_EXPORT leakwatch_mark_t leakwatch_mark(void) { return leakwatch_impl_mark(); }
LW_EXPORT int leakwatch_verify_since(leakwatch_mark_t mark, unsigned timeout_ms) {
  return leakwatch_impl_verify_since(mark, timeout_ms);
}
LW_EXPORT char *leakwatch_verify_none_text(int timeout_ms) {
  return leakwatch_impl_verify_none_text(timeout_ms);
}
LW_EXPORT char *leakwatch_verify_since_text(leakwatch_mark_t mark, int timeout_ms) {
  return leakwatch_impl_verify_since_text(mark, timeout_ms);
}
