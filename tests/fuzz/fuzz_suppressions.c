/* libFuzzer target: a suppressions file of any content. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "suppress.h"

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
