/* Does elfsym.c answer as the loader does? For every function of the
 * shim's table (LW_REAL_FUNCTIONS, so the next function added is checked
 * too), plus names and versions that must not be answered, compare its
 * answer for the objects after this program with dlsym(RTLD_NEXT) and
 * dlvsym(RTLD_NEXT). Run plain (the next object is libc) and with the shim
 * preloaded (the next is the shim: unversioned definitions and its own
 * GLIBC_2.2.5 / GLIBC_2.3.2 ones).
 *
 * Prints "wrapped: answered A of N; others answered: B; agreed" and exits
 * 0, or names each disagreement and exits 1. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "elfsym.h"
#include "interpose.h"

struct name {
  const char *name, *version;
};

#define TABLE_NAME(ret, name, params, args, version) {#name, version},
static const struct name table[] = {
    LW_REAL_FUNCTIONS(TABLE_NAME)
    /* Others: none may be answered (dlsym is asked for them). */
    {"lw_no_such_function", NULL},
    {"pthread_mutex_lock", "GLIBC_9.9"},
    {"memcpy", NULL}, /* an IFUNC in libc: left to dlsym */
    {"stdout", NULL}, /* data */
};

int main(void) {
  lw_elfsym_scope scope;
  if (!lw_elfsym_scope_after(&scope, (const void *)main) || scope.count == 0) {
    printf("no scope after the program\n");
    return 1;
  }
  int answered_wrapped = 0, answered_others = 0, disagreed = 0;
  const int count = (int)(sizeof table / sizeof table[0]), wrapped = count - 4;
  for (int i = 0; i < count; i++) {
    const char *name = table[i].name, *version = table[i].version;
    if (strncmp(name, "compat_", 7) == 0)
      name += 7;
    void *ours = lw_elfsym_find(&scope, name, version);
    void *loader = version ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
    if (!ours)
      continue; /* "ask dlsym": always right */
    if (i < wrapped)
      answered_wrapped++;
    else
      answered_others++;
    if (ours != loader) {
      printf("%s@%s: elfsym %p, loader %p\n", name, version ? version : "", ours, loader);
      disagreed++;
    }
  }
  if (disagreed)
    return 1;
  printf("wrapped: answered %d of %d; others answered: %d; agreed\n", answered_wrapped, wrapped,
         answered_others);
  return 0;
}
