/*
 * userfile.h - the files a user names (log_path, json_path, suppressions,
 * and any later one such as sarif_path), and the process's own stderr.
 *
 * One rule for all of them, so that no option opens a path its own way:
 *   - nothing ever blocks: every open is O_NONBLOCK (a FIFO nobody reads or
 *     writes), every write gives up after LW_WRITE_STALL_MS (common.h) without
 *     progress;
 *   - an input (suppressions) must be a regular file;
 *   - an output is written into a regular file the process's user owns
 *     (appended, or replaced by a rename), created 0600 if there is none,
 *     or written directly into a FIFO that has a reader, a character device,
 *     or /dev/stdout and /dev/stderr (the descriptors the program started
 *     with, if they still are);
 *   - everything else is refused: a symbolic link, a file owned by another
 *     user, a FIFO nobody reads, a directory, socket or block device.
 * Every refusal and failure is one line on stderr that names the option, the
 * path and why (lw_userfile_* never prints more than that one line).
 *
 * stderr: the shim writes to fd 2 only while it is the stderr the process
 * started with (same device and inode as at start-up). A program that closed
 * fd 2 and then opened its own file on it gets nothing written there.
 */
#ifndef LW_USERFILE_H
#define LW_USERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"

enum lw_userfile_mode {
  LW_USERFILE_APPEND,  /* a text log: regular files are appended to */
  LW_USERFILE_REPLACE, /* a whole document: a regular file is replaced by rename */
};

typedef struct lw_userfile {
  int fd;
  bool borrowed; /* fd 1 or 2: never closed */
  const char *option;
  char path[LW_PATH_MAX];
  char temp[LW_PATH_MAX + 32]; /* non-empty: renamed over path at commit */
  char why[160];               /* what went wrong, for the one line */
} lw_userfile;

/* Save the identity of fd 1 and fd 2. Start-up, before any diagnostic. */
void lw_userfile_init(void);

/* Is fd (1 or 2) still the descriptor the process started with? */
bool lw_userfile_std_intact(int fd);

/* Open the output `path` (already expanded) for `option` by the rule above.
 * On refusal, says so in one line and returns false. */
bool lw_userfile_open(lw_userfile *f, const char *option, const char *path,
                      enum lw_userfile_mode mode);

/* Write all of buf; on failure remembers why (the caller commits or gives
 * up, and one line is said then). */
bool lw_userfile_write(lw_userfile *f, const void *buf, size_t len);

/* Finish: close, and rename a temporary file over the path. If `ok` is
 * false or anything fails, the temporary file is removed and one line says
 * why. Returns true if the whole content arrived. */
bool lw_userfile_close(lw_userfile *f, bool ok);

/* Read at most `cap` bytes of the regular file `path` into a buffer from
 * lw_mem_alloc (*size is its capacity, to give back with lw_mem_free).
 * *truncated says the file was longer. On refusal or failure, says so in one
 * line and returns NULL. */
char *lw_userfile_read(const char *option, const char *path, size_t cap, size_t *len, size_t *size,
                       bool *truncated);

#endif
