/*
 * symbols.h - program counters to function, file:line and module, at report
 * time only, through elfutils' libdw, cached per address.
 *
 * libdw reads the symbol tables and DWARF of every module of the process
 * (finding separate debug files through .gnu_debuglink and build-ids), so
 * static functions and inlined frames have names, and frames with debug info
 * have file:line. Without debug info a frame degrades to function+offset or
 * module+offset. Never called on a lock path.
 */
#ifndef LW_SYMBOLS_H
#define LW_SYMBOLS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct lw_symbol {
  const char *function; /* demangled; NULL if unknown */
  uint64_t offset;      /* from the function's start, or from the module's base */
  const char *module;   /* path of the module; NULL if unknown */
  const char *file;     /* NULL without debug info */
  int line;             /* 0 without debug info */
  int inlined;          /* this frame was inlined into the next one */
} lw_symbol;

/* At most this many frames for one pc (inlined functions and the one they
 * were inlined into). */
#define LW_SYMBOL_FRAMES_MAX 8

/* Symbolize `pc`; `is_return_address` makes it look up pc-1, the call
 * instruction. Fills up to `max` frames (more than one when functions were
 * inlined at pc, innermost first) and returns how many. The strings live as
 * long as the process. Callers serialize (the report lock). */
int lw_symbols_lookup(uintptr_t pc, int is_return_address, lw_symbol *out, int max);

/* The variable at `address` (a global or static mutex, or a struct or
 * array holding one), in `out`: `function` is the data symbol's name
 * (demangled), `offset` the distance into it, `module` the module. A module
 * without a symbol there leaves `function` NULL with `offset` from the
 * module's base. False when no module maps the address (heap, stacks).
 * Callers serialize (the report lock). */
bool lw_symbols_data(uintptr_t address, lw_symbol *out);

/* Before a report: if libraries were loaded or unloaded since the last one,
 * forget what was learned of addresses (a dlclosed library's addresses may
 * now belong to another). */
void lw_symbols_check_modules(void);

/* The program's file, as /proc/self/exe named it when the shim was loaded
 * ("" if it could not be read then). */
const char *lw_symbols_exe_path(void);

#endif
