/* pages_at_exit LIB PROGRAM ARGS...: run PROGRAM with LIB preloaded (LIB
 * "-": nothing preloaded) and, at the moment its main thread exits (ptrace's
 * exit event: the address space is still whole), print every mapping with
 * how many of its pages are present, and in how many 64 KiB windows (the
 * kernel maps a file's pages around a fault in such windows, so a window is
 * about one fault of a file mapping):
 *
 *   <start>-<end> <perms> <offset> <present> <windows> <name>
 *
 * A mapping without a name right after one of LIB's is shown as
 * "<LIB's path>:bss". What a test counts with it is what a process touched,
 * without timing anything (tests/test_cost.py). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#define WINDOW_PAGES 16

static void census(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  FILE *maps = fopen(path, "r");
  snprintf(path, sizeof path, "/proc/%d/pagemap", (int)pid);
  int pagemap = open(path, O_RDONLY);
  if (!maps || pagemap < 0) {
    perror("pages_at_exit: /proc");
    exit(2);
  }
  const long page = sysconf(_SC_PAGESIZE);
  /* A name is a line's end, or the mapping before's with ":bss". */
  char line[4096], name[sizeof line + sizeof ":bss"], previous_name[sizeof name] = "";
  while (fgets(line, sizeof line, maps)) {
    uintptr_t start, end;
    char perms[8];
    unsigned long long offset;
    int name_at = 0;
    if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %llx %*s %*s %n", &start, &end, perms, &offset,
               &name_at) < 4)
      continue;
    snprintf(name, sizeof name, "%s", line + name_at);
    name[strcspn(name, "\n")] = '\0';
    if (!name[0] && previous_name[0] == '/' && strstr(previous_name, "libleakwatch"))
      snprintf(name, sizeof name, "%.*s:bss", (int)sizeof line, previous_name);
    unsigned long present = 0, windows = 0;
    uintptr_t last_window = UINTPTR_MAX;
    for (uintptr_t at = start; at < end; at += (uintptr_t)page) {
      uint64_t entry = 0;
      if (pread(pagemap, &entry, sizeof entry, (off_t)(at / (uintptr_t)page * sizeof entry)) !=
          (ssize_t)sizeof entry)
        break;
      if (!(entry >> 63))
        continue;
      present++;
      uintptr_t window = at / (uintptr_t)page / WINDOW_PAGES;
      if (window != last_window)
        windows++;
      last_window = window;
    }
    printf("%" PRIxPTR "-%" PRIxPTR " %s %llx %lu %lu %s\n", start, end, perms, offset, present,
           windows, name[0] ? name : "-");
    if (strstr(name, ":bss") == NULL)
      memcpy(previous_name, name, sizeof name);
  }
  fclose(maps);
  close(pagemap);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: pages_at_exit LIB|- PROGRAM ARGS...\n");
    return 2;
  }
  pid_t child = fork();
  if (child == 0) {
    if (strcmp(argv[1], "-") != 0)
      setenv("LD_PRELOAD", argv[1], 1);
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    execvp(argv[2], argv + 2);
    _exit(127);
  }
  int status;
  if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status)) /* the exec's stop */
    return 2;
  ptrace(PTRACE_SETOPTIONS, child, NULL, (void *)(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL));
  int deliver = 0;
  for (;;) {
    ptrace(PTRACE_CONT, child, NULL, (void *)(intptr_t)deliver);
    if (waitpid(child, &status, __WALL) != child)
      return 2;
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      fprintf(stderr, "pages_at_exit: the program ended before its exit event\n");
      return 2;
    }
    if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
      census(child);
      ptrace(PTRACE_CONT, child, NULL, NULL);
      waitpid(child, &status, __WALL);
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    deliver = WIFSTOPPED(status) ? WSTOPSIG(status) : 0;
  }
}
