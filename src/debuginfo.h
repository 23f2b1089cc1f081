/*
 * debuginfo.h - finding a module's separate debug file the local ways: by
 * build ID under /usr/lib/debug/.build-id/ (where Debian's -dbgsym packages
 * put it), then .gnu_debuglink next to the file, in its .debug/ and under
 * /usr/lib/debug. Never debuginfod: libdw's own callbacks would load
 * libdebuginfod, and with it libcurl and OpenSSL, into the program being
 * reported on, and a dump must not go to the network while a process waits.
 * Shared by the shim (symbols.c) and leakwatch-inspect.
 */
#ifndef LW_DEBUGINFO_H
#define LW_DEBUGINFO_H

/* An open descriptor of the debug file, its path in *found_path (malloc'd,
 * as libdwfl frees it), or -1 with errno ENOENT. `build_id` may be NULL,
 * `debuglink` NULL for a module without one. */
int lw_debuginfo_open(const unsigned char *build_id, int build_id_length, const char *file_name,
                      const char *debuglink, char **found_path);

#endif
