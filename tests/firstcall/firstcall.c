/*
 * firstcall.c - the executable of tests/test_firstcall.py. Its
 * .preinit_array runs before every library constructor (the shim's
 * included), its constructor after them; both hand over to the scenario
 * library (firstcall.h). `firstcall --list` prints the scenario names.
 */
#include <stdio.h>
#include <string.h>

#include "firstcall.h"

static void preinit(int argc, char **argv, char **envp) {
  (void)argc, (void)argv;
  firstcall_phase("preinit", envp);
}
__attribute__((section(".preinit_array"),
               used)) static void (*const preinit_entry)(int, char **, char **) = preinit;

__attribute__((constructor)) static void constructor(int argc, char **argv, char **envp) {
  (void)argc, (void)argv;
  firstcall_phase("constructor", envp);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--list") == 0)
    firstcall_list();
  return 0;
}
