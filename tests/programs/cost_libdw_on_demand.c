/* libdw (and libelf, libz, liblzma, libbz2 behind it) is loaded only when a
 * report needs symbols: a process that has made no report has not mapped
 * it. Prints whether libdw is mapped after a clean thread's life, then again
 * after a live report (leakwatch_report). */
#include <fcntl.h>
#include <leakwatch.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int libdw_mapped(void) {
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[4096];
  int found = 0;
  while (maps && fgets(line, sizeof line, maps))
    found |= strstr(line, "/libdw") != NULL;
  if (maps)
    fclose(maps);
  return found;
}

static void *work(void *arg) { return arg; }

int main(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, work, NULL);
  pthread_join(thread, NULL);
  printf("before a report: %s\n", libdw_mapped() ? "mapped" : "not mapped");
  int null_fd = open("/dev/null", O_WRONLY);
  leakwatch_report(null_fd);
  close(null_fd);
  printf("after a report: %s\n", libdw_mapped() ? "mapped" : "not mapped");
  return 0;
}
