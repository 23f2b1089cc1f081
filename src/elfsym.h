/*
 * elfsym.h - what dlsym(RTLD_NEXT) would answer, read from the loaded
 * objects' own GNU hash tables.
 *
 * The shim looks up every function it wraps once, at start (71 names).
 * Through dlsym that was 77,000 instructions of every process, a fifth of
 * all the shim added to a start (bench/README.md, fifth round): dlsym takes
 * the loader's lock, sets up its error catching and finds the caller's
 * object, for each name. Reading the hash tables directly costs a few dozen
 * instructions a name, and takes no lock and no memory.
 *
 * Only a certain answer is given: a function found, defined, not an IFUNC,
 * in an object that comes after the caller's in the load order (which is
 * the loader's search order for the objects a process starts with). For
 * anything else (not found, an object without a GNU hash table, an IFUNC,
 * only hidden versions of the name) the caller asks dlsym, which knows
 * every case: a shim opened with dlopen finds glibc before itself, so all
 * of its names go that way.
 *
 * Self-contained (glibc and <link.h> only): tests/programs/elfsym_agrees.c
 * links it and compares every answer with dlsym's.
 */
#ifndef LW_ELFSYM_H
#define LW_ELFSYM_H

#include <link.h>
#include <stdbool.h>

/* Enough for the objects before libc in any program seen (a process with
 * more asks dlsym for what lies beyond); 768 bytes of stack. */
#define LW_ELFSYM_OBJECTS 16

typedef struct {
  uintptr_t base;
  const uint32_t *gnu_hash;
  const ElfW(Sym) * symbols;
  const char *strings;
  const ElfW(Versym) * versions;     /* NULL: the object has no versions */
  const ElfW(Verdef) * version_defs; /* NULL: none defined */
} lw_elfsym_object;

typedef struct {
  lw_elfsym_object objects[LW_ELFSYM_OBJECTS];
  int count;
} lw_elfsym_scope;

/* The objects loaded after the one containing `inside`, in order. False
 * when that object is unknown (then nothing can be answered). */
bool lw_elfsym_scope_after(lw_elfsym_scope *scope, const void *inside);

/* The first definition of `name` (of `version`; NULL for the default one)
 * in the scope, when certain; NULL means "ask dlsym". */
void *lw_elfsym_find(const lw_elfsym_scope *scope, const char *name, const char *version);

#endif
