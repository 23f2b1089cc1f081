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

typedef struct lw_arena {
  struct lw_arena_chunk *chunk;
} lw_arena;

/* Zeroed, 16-byte aligned memory from `arena`, or NULL. Not thread-safe. */
void *lw_mem_arena_alloc(lw_arena *arena, size_t size);
char *lw_mem_arena_strdup(lw_arena *arena, const char *text);
void lw_mem_arena_release(lw_arena *arena);

#endif
