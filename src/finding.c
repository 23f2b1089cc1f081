/*
 * finding.c - the table of finding kinds (finding.h) as data.
 */
#include <string.h>

#include "finding.h"

#define LW_FINDING_INFO(id, name, label, level, help) {name, label, level, help},
const lw_finding_kind_info lw_finding_kinds[LW_FINDING_COUNT] = {LW_FINDING_KINDS(LW_FINDING_INFO)};

bool lw_finding_kind_parse(const char *name, lw_finding_kind *out) {
  for (int k = 0; k < LW_FINDING_COUNT; k++)
    if (strcmp(lw_finding_kinds[k].name, name) == 0) {
      *out = (lw_finding_kind)k;
      return true;
    }
  return false;
}
