/* maps_common.h - for test programs: is a library mapped in this process? */
#ifndef LW_TEST_MAPS_COMMON_H
#define LW_TEST_MAPS_COMMON_H

#include <stdio.h>
#include <string.h>

/* True if a line of /proc/self/maps contains `name` ("/libunwind"). */
static inline int maps_has(const char *name) {
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[4096];
  int found = 0;
  while (maps && fgets(line, sizeof line, maps))
    found |= strstr(line, name) != NULL;
  if (maps)
    fclose(maps);
  return found;
}

#endif
