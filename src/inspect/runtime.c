/*
 * runtime.c - the few pieces of the shim's runtime that the analysis and
 * writers it shares with leakwatch-inspect refer to, as the tool has them:
 * no helper thread, no capture signal, default options.
 */
#include "options.h"
#include "registry.h"
#include "stack.h"
#include "userfile.h"
#include "watcher.h"

lw_options lw_opt;
uint64_t lw_tick_resolution_ns;

int lw_stack_signal(void) { return 0; }
unsigned lw_watcher_internal_threads(void) { return 0; }

/* The tool's stderr is its own. */
bool lw_userfile_std_intact(int fd) {
  (void)fd;
  return true;
}
