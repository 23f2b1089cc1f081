/* Shared by the attach_* programs (tests/test_attach.py), run WITHOUT the
 * shim: print "label 0x…" lines, then "ready" once every thread had time to
 * block; then main waits for a line on stdin and prints what it does after
 * ("after …"), which must be the same whether or not the process was dumped
 * meanwhile. */
#ifndef ATTACH_COMMON_H
#define ATTACH_COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void attach_ready(void) {
  usleep(300 * 1000); /* the threads reach their blocking calls */
  printf("ready\n");
  fflush(stdout);
}

/* Main blocks in read(0): a wait from outside the pthread calls. */
static inline void attach_wait_for_go(void) {
  char line[64];
  if (!fgets(line, sizeof line, stdin))
    line[0] = '\0';
  printf("after go: %s", line);
  fflush(stdout);
}
#endif
