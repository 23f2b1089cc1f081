/* libFuzzer target: a suppressions file of any content. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "interpose.h"
#include "suppress.h"

/* The parser's module links loader.c, which reaches glibc's
 * dl_iterate_phdr through the shim's table of real functions (interpose.c,
 * which would bring the whole shim). Here nothing is interposed: glibc's
 * definition is the next one after this program's, found at the first
 * walk (the sanitizer's runtime walks before any constructor runs). */
static int first_walk(int (*callback)(struct dl_phdr_info *, size_t, void *), void *data) {
  *(void **)&lw_real.dl_iterate_phdr = dlsym(RTLD_NEXT, "dl_iterate_phdr");
  return lw_real.dl_iterate_phdr(callback, data);
}
struct lw_real_table lw_real = {.dl_iterate_phdr = first_walk};

static void ignore(const char *file, int line, const char *why) {
  (void)file;
  (void)line;
  (void)why;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Not NUL-terminated on purpose: the parser takes a length. */
  char *text = malloc(size ? size : 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  int rules = lw_suppress_parse(text, size, "fuzz.supp", ignore);
  if (rules < 0 || rules > LW_SUPPRESS_MAX)
    abort();
  free(text);
  return 0;
}
