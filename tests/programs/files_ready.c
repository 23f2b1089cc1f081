/* Prints "ready", then waits in pause() until killed; with an argument
 * "crash", dereferences a null pointer instead (SIGSEGV).
 * Under leakwatch: the dump tests' target, and a crash that must end the
 * process whatever dump_signal says. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "crash") == 0) {
    volatile int *nowhere = NULL;
    return *nowhere;
  }
  printf("ready\n");
  fflush(stdout);
  for (;;)
    pause();
}
