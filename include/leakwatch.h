/*
 * leakwatch.h - assert "no thread leaked" from a test.
 *
 *   leakwatch_ignore_current();            // threads alive now are expected
 *   run_the_code_under_test();
 *   assert(leakwatch_verify_none(1000) == 0);
 *
 * The same source works three ways:
 *  - linked with -lleakwatch (pkg-config leakwatch, or find_package(leakwatch)
 *    and leakwatch::leakwatch): the calls go to the library;
 *  - not linked, run with LD_PRELOAD=libleakwatch.so: the calls find the
 *    preloaded library at run time;
 *  - neither: leakwatch_active() is 0 and every call is a harmless no-op.
 * How: the functions below are declared weak. A weak reference that nothing
 * defines resolves to NULL instead of failing to link or load, so each
 * inline wrapper checks the address first. Nothing else is needed: no
 * dlopen, no macros to define.
 */
#ifndef LEAKWATCH_H
#define LEAKWATCH_H

#ifdef __cplusplus
extern "C" {
#endif

/* A point in a test from which leakwatch_verify_since() counts threads. */
typedef struct leakwatch_mark {
  unsigned long long serial; /* opaque */
  unsigned thread_id;        /* opaque */
} leakwatch_mark_t;

int leakwatch_impl_active(void) __attribute__((weak));
void leakwatch_impl_ignore_current(void) __attribute__((weak));
int leakwatch_impl_verify_none(unsigned timeout_ms) __attribute__((weak));
int leakwatch_impl_report(int fd) __attribute__((weak));
leakwatch_mark_t leakwatch_impl_mark(void) __attribute__((weak));
int leakwatch_impl_verify_since(leakwatch_mark_t mark, unsigned timeout_ms) __attribute__((weak));
char *leakwatch_impl_verify_none_text(int timeout_ms) __attribute__((weak));
char *leakwatch_impl_verify_since_text(leakwatch_mark_t mark, int timeout_ms) __attribute__((weak));

/* 1 when the shim is loaded in this process. */
static inline int leakwatch_active(void) {
  return leakwatch_impl_active ? leakwatch_impl_active() : 0;
}

/* Threads alive now are expected from here on (like goleak's IgnoreCurrent):
 * neither verify calls nor the exit report count them. */
static inline void leakwatch_ignore_current(void) {
  if (leakwatch_impl_ignore_current)
    leakwatch_impl_ignore_current();
}

/* Retries with back-off until every thread created since start (or since
 * leakwatch_ignore_current) has ended and been joined or detached, or until
 * timeout_ms passes; then reports the leaked ones (trigger "verify") and
 * returns their number. 0 without the shim. */
static inline int leakwatch_verify_none(unsigned timeout_ms) {
  return leakwatch_impl_verify_none ? leakwatch_impl_verify_none(timeout_ms) : 0;
}

/* Writes the live report as text to fd; returns the number of findings. */
static inline int leakwatch_report(int fd) {
  return leakwatch_impl_report ? leakwatch_impl_report(fd) : 0;
}

/* A mark for one test: from here on, the threads that the calling thread and
 * its descendants create. */
static inline leakwatch_mark_t leakwatch_mark(void) {
  if (leakwatch_impl_mark)
    return leakwatch_impl_mark();
  leakwatch_mark_t none = {0, 0};
  return none;
}

/* Like leakwatch_verify_none, for the threads created since `mark` by the
 * marking thread or its descendants only: tests running side by side in one
 * process each check their own threads. */
static inline int leakwatch_verify_since(leakwatch_mark_t mark, unsigned timeout_ms) {
  return leakwatch_impl_verify_since ? leakwatch_impl_verify_since(mark, timeout_ms) : 0;
}

/* The two verify calls for a test framework's failure message, like
 * goleak's VerifyNone: they print nothing, and return NULL when nothing
 * leaked, or the findings' text as the report would print it (stacks and
 * all), allocated with malloc: the caller frees it.
 *
 *   char *leaks = leakwatch_verify_since_text(mark_, 1000);
 *   EXPECT_EQ(leaks, nullptr) << leaks;
 *   free(leaks);
 *
 * Threads either form of verify call reported are not reported again (by a
 * later verify call, or at exit) and do not change the exit status: the
 * framework has failed the test already. NULL without the shim. */
static inline char *leakwatch_verify_none_text(int timeout_ms) {
  return leakwatch_impl_verify_none_text ? leakwatch_impl_verify_none_text(timeout_ms) : 0;
}

static inline char *leakwatch_verify_since_text(leakwatch_mark_t mark, int timeout_ms) {
  return leakwatch_impl_verify_since_text ? leakwatch_impl_verify_since_text(mark, timeout_ms) : 0;
}

#ifdef __cplusplus
}
#endif

#endif
