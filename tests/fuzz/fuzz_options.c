/* libFuzzer target: LEAKWATCH_OPTIONS of any content. The parser must never
 * crash, read out of bounds or leave a field unterminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

static void ignore(const char *message) { (void)message; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  lw_options options;
  lw_options_parse(text, &options, ignore);
  /* Every string option stays a terminated string within its field. */
  if (memchr(options.log_path, '\0', sizeof options.log_path) == NULL ||
      memchr(options.json_path, '\0', sizeof options.json_path) == NULL ||
      memchr(options.suppressions, '\0', sizeof options.suppressions) == NULL)
    abort();
  if (options.stack_depth < 1 || options.stack_depth > 64 || options.exitcode < 0 ||
      options.exitcode > 255)
    abort();
  char expanded[LW_PATH_MAX];
  lw_options_expand_path(options.log_path, 12345, expanded, sizeof expanded);
  free(text);
  return 0;
}
