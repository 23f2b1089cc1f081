/* The shim's report arena with a lent buffer (src/mem.c, linked in):
 *   - the first allocations come from the buffer, 16-byte aligned, zero;
 *   - one that does not fit comes from a mapping of the arena's own, zero;
 *   - after a release, the next loan finds the buffer zero again, however
 *     much of it the last report wrote, and serves from its start;
 *   - an arena without a loan is what it was (mappings only).
 * Prints "arena loan: ok" and exits 0, or names the first check that
 * failed and exits 1. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "mem.h"

/* mem.c's pool lock, for this single-threaded program (common.c would
 * bring the whole shim). */
void lw_lock_acquire(lw_lock *lock) { (void)lock; }
void lw_lock_release(lw_lock *lock) { (void)lock; }

static char buffer[8192] __attribute__((aligned(4096)));
static lw_arena_loan loan = {buffer, sizeof buffer, 0};

static int failed(const char *what) {
  printf("arena loan: %s\n", what);
  return 1;
}

static int inside(const void *p) {
  return (const char *)p >= buffer && (const char *)p < buffer + sizeof buffer;
}

static int zero(const void *p, size_t size) {
  for (size_t i = 0; i < size; i++)
    if (((const unsigned char *)p)[i])
      return 0;
  return 1;
}

int main(void) {
  lw_arena arena;
  memset(&arena, 0, sizeof arena);
  lw_mem_arena_lend(&arena, &loan);
  char *first = lw_mem_arena_alloc(&arena, 100);
  char *second = lw_mem_arena_alloc(&arena, 3000);
  if (first != buffer || second != buffer + 112)
    return failed("the first allocations are not the buffer's, in order, 16-byte aligned");
  if (!zero(first, 100) || !zero(second, 3000))
    return failed("lent memory is not zero");
  memset(first, 0xAA, 100);
  memset(second, 0xBB, 3000);
  char *large = lw_mem_arena_alloc(&arena, sizeof buffer);
  if (!large || inside(large) || ((uintptr_t)large & 15) || !zero(large, sizeof buffer))
    return failed("what does not fit is not a zeroed mapping of the arena's own");
  memset(large, 0xCC, sizeof buffer);
  char *copy = lw_mem_arena_strdup(&arena, "after the mapping");
  if (!copy || strcmp(copy, "after the mapping") != 0)
    return failed("strdup after the loan is full");
  lw_mem_arena_release(&arena);

  memset(&arena, 0, sizeof arena); /* as a report is, before its next look */
  lw_mem_arena_lend(&arena, &loan);
  if (!zero(buffer, sizeof buffer))
    return failed("a second loan does not find the buffer zero");
  char *again = lw_mem_arena_alloc(&arena, 4000);
  if (again != buffer)
    return failed("a second loan does not serve from the buffer's start");
  lw_mem_arena_release(&arena);

  lw_arena plain;
  memset(&plain, 0, sizeof plain);
  char *mapped = lw_mem_arena_alloc(&plain, 64);
  if (!mapped || inside(mapped) || !zero(mapped, 64))
    return failed("an arena without a loan does not map its memory");
  lw_mem_arena_release(&plain);
  printf("arena loan: ok\n");
  return 0;
}
