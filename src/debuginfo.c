/*
 * debuginfo.c - a module's separate debug file (see debuginfo.h).
 */
#define _GNU_SOURCE
#include "debuginfo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int open_debug_file(const char *path, char **found_path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    *found_path = strdup(path);
  return fd;
}

int lw_debuginfo_open(const unsigned char *build_id, int build_id_length, const char *file_name,
                      const char *debuglink, char **found_path) {
  char path[PATH_MAX];
  if (build_id && build_id_length > 1) {
    int used = snprintf(path, sizeof path, "/usr/lib/debug/.build-id/%02x/", build_id[0]);
    for (int i = 1; i < build_id_length && used < (int)sizeof path - 8; i++)
      used += snprintf(path + used, sizeof path - (size_t)used, "%02x", build_id[i]);
    snprintf(path + used, sizeof path - (size_t)used, ".debug");
    int fd = open_debug_file(path, found_path);
    if (fd >= 0)
      return fd;
  }
  if (debuglink && file_name) {
    const char *slash = strrchr(file_name, '/');
    int dir_length = slash ? (int)(slash - file_name) : 0;
    const char *formats[] = {"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s"};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
      snprintf(path, sizeof path, formats[i], dir_length, file_name, debuglink);
      if (strcmp(path, file_name) == 0)
        continue;
      int fd = open_debug_file(path, found_path);
      if (fd >= 0)
        return fd;
    }
  }
  errno = ENOENT;
  return -1;
}
