/*
 * mem.h - the shim's own memory: mmap-backed, never the program's malloc.
 *
 * lw_mem_alloc/free serve fixed records and uthash tables (size classes,
 * recycled through free lists). lw_arena is a bump allocator for one report,
 * released whole when the report is written.
 */
#ifndef LW_MEM_H
#define LW_MEM_H

#include <stddef.h>

/* Zeroed memory of `size` bytes, or NULL. Thread-safe (its own lock). */
void *lw_mem_alloc(size_t size);
/* Give back memory from lw_mem_alloc; `size` as allocated. */
void lw_mem_free(void *ptr, size_t size);

/* fork: hold the pool lock across fork() so the child's copy is whole. */
void lw_mem_fork_prepare(void);
void lw_mem_fork_parent(void);
void lw_mem_fork_child(void);

/* A zeroed buffer an arena serves its first allocations from
 * (lw_mem_arena_lend), kept by its owner across reports. */
typedef struct lw_arena_loan {
  char *memory;
  size_t size;
  size_t dirty; /* how much of it a report has handed out since it was zeroed */
} lw_arena_loan;

typedef struct lw_arena {
  struct lw_arena_chunk *chunk;
  lw_arena_loan *loan; /* or NULL */
  size_t loan_used;
} lw_arena;

/* Zeroed, 16-byte aligned memory from `arena`, or NULL. Not thread-safe. */
void *lw_mem_arena_alloc(lw_arena *arena, size_t size);
/* Serve `arena`'s first allocations from `loan` rather than a mapping of
 * its own, for a report most processes take once and keep small (the exit
 * look): a mapping there is an mmap, a munmap and, with threads on other
 * CPUs, a TLB flush on each. What an earlier report used is zeroed here,
 * when the buffer is lent again, not at its release: a process that takes
 * one look (most do) writes no more of it than that look does. One arena
 * at a time may hold a loan (its owner's lock). */
void lw_mem_arena_lend(lw_arena *arena, lw_arena_loan *loan);
char *lw_mem_arena_strdup(lw_arena *arena, const char *text);
void lw_mem_arena_release(lw_arena *arena);

#endif
