/*
 * calls.c - the table of waiting calls (calls.h) as data.
 */
#include <string.h>

#include "calls.h"

#define LW_CALL_INFO(name, object, access, wait)                                                   \
  {#name, LW_OBJECT_##object, LW_ACCESS_##access, LW_WAIT_##wait},
const lw_call_info lw_calls[LW_CALL_COUNT] = {LW_CALLS(LW_CALL_INFO)};

#define LW_OBJECT_NAME(id, name) name,
const char *const lw_object_names[LW_OBJECT_COUNT] = {LW_OBJECTS(LW_OBJECT_NAME)};

bool lw_calls_parse(const char *name, enum lw_call *out) {
  for (int c = 0; c < LW_CALL_COUNT; c++)
    if (strcmp(lw_calls[c].name, name) == 0) {
      *out = (enum lw_call)c;
      return true;
    }
  return false;
}
