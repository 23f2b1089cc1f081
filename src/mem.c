/*
 * mem.c - mmap-backed allocation for the shim.
 *
 * Small sizes round up to a power of two from 64 bytes and come from 64 KiB
 * chunks; a freed block goes on its class's free list for the next request
 * of that class. Large sizes are their own mapping, unmapped on free, so a
 * program that creates 100,000 threads and joins them gets its memory back
 * where it matters (uthash's bucket arrays).
 */
#define _GNU_SOURCE
#include "mem.h"

#include <string.h>
#include <sys/mman.h>

#include "common.h"

#define LW_MEM_MIN_SHIFT 6  /* 64 bytes */
#define LW_MEM_MAX_SHIFT 15 /* 32 KiB: larger is a mapping of its own */
#define LW_MEM_CHUNK (64u * 1024u)
#define LW_MEM_PAGE 4096u

struct lw_free_block {
  struct lw_free_block *next;
};

static lw_lock mem_lock = LW_LOCK_INIT;
static struct lw_free_block *free_lists[LW_MEM_MAX_SHIFT + 1];
static char *chunk_cursor, *chunk_end;

static void *map_pages(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static unsigned size_class(size_t size) {
  unsigned shift = LW_MEM_MIN_SHIFT;
  while (((size_t)1 << shift) < size)
    shift++;
  return shift;
}

void *lw_mem_alloc(size_t size) {
  if (size == 0)
    size = 1;
  unsigned shift = size_class(size);
  if (shift > LW_MEM_MAX_SHIFT)
    return map_pages(size); /* fresh pages are zero */
  size_t block = (size_t)1 << shift;
  void *result = NULL;
  bool recycled = false;
  lw_lock_acquire(&mem_lock);
  if (free_lists[shift]) {
    result = free_lists[shift];
    free_lists[shift] = free_lists[shift]->next;
    recycled = true;
  } else {
    if ((size_t)(chunk_end - chunk_cursor) < block) {
      /* The tail of the old chunk is lost: at most one block per class. */
      char *chunk = map_pages(LW_MEM_CHUNK);
      if (chunk) {
        chunk_cursor = chunk;
        chunk_end = chunk + LW_MEM_CHUNK;
      }
    }
    if ((size_t)(chunk_end - chunk_cursor) >= block && block >= LW_MEM_PAGE) {
      /* Blocks of a page or more from the top of the chunk, small ones from
       * the bottom: a chunk's end is page-aligned, so such a block (a
       * thread's record) starts on a page and touches no page more than
       * it uses. */
      chunk_end -= block;
      result = chunk_end;
    } else if ((size_t)(chunk_end - chunk_cursor) >= block) {
      result = chunk_cursor;
      chunk_cursor += block;
    }
  }
  lw_lock_release(&mem_lock);
  /* A fresh chunk's pages are zero, and untouched: zeroing them would be
   * a page fault for every page a block spans, used or not. */
  if (result && recycled)
    memset(result, 0, block);
  return result;
}

void lw_mem_free(void *ptr, size_t size) {
  if (!ptr)
    return;
  if (size == 0)
    size = 1;
  unsigned shift = size_class(size);
  if (shift > LW_MEM_MAX_SHIFT) {
    munmap(ptr, size);
    return;
  }
  lw_lock_acquire(&mem_lock);
  struct lw_free_block *block = ptr;
  block->next = free_lists[shift];
  free_lists[shift] = block;
  lw_lock_release(&mem_lock);
}

void lw_mem_fork_prepare(void) { lw_lock_acquire(&mem_lock); }
void lw_mem_fork_parent(void) { lw_lock_release(&mem_lock); }
void lw_mem_fork_child(void) { mem_lock.word = 0; }

struct lw_arena_chunk {
  struct lw_arena_chunk *previous;
  size_t size, used;
  _Alignas(16) char data[]; /* the 16-byte alignment lw_mem_arena_alloc promises */
};

void lw_mem_arena_lend(lw_arena *arena, lw_arena_loan *loan) {
  memset(loan->memory, 0, loan->dirty);
  loan->dirty = 0;
  arena->loan = loan;
  arena->loan_used = 0;
}

void *lw_mem_arena_alloc(lw_arena *arena, size_t size) {
  size = (size + 15) & ~(size_t)15;
  lw_arena_loan *loan = arena->loan;
  if (loan && loan->size - arena->loan_used >= size) {
    void *result = loan->memory + arena->loan_used;
    arena->loan_used += size;
    loan->dirty = arena->loan_used;
    return result;
  }
  struct lw_arena_chunk *chunk = arena->chunk;
  if (!chunk || chunk->size - chunk->used < size) {
    size_t want = sizeof *chunk + (size > 256 * 1024 ? size : 256 * 1024);
    struct lw_arena_chunk *fresh = map_pages(want);
    if (!fresh)
      return NULL;
    fresh->previous = chunk;
    fresh->size = want - sizeof *fresh;
    fresh->used = 0;
    arena->chunk = chunk = fresh;
  }
  void *result = chunk->data + chunk->used;
  chunk->used += size;
  return result; /* fresh pages, never reused within an arena: zero */
}

char *lw_mem_arena_strdup(lw_arena *arena, const char *text) {
  if (!text)
    return NULL;
  size_t len = strlen(text);
  char *copy = lw_mem_arena_alloc(arena, len + 1);
  if (copy)
    memcpy(copy, text, len + 1);
  return copy;
}

void lw_mem_arena_release(lw_arena *arena) {
  struct lw_arena_chunk *chunk = arena->chunk;
  while (chunk) {
    struct lw_arena_chunk *previous = chunk->previous;
    munmap(chunk, chunk->size + sizeof *chunk);
    chunk = previous;
  }
  arena->chunk = NULL;
  arena->loan = NULL; /* what it used is zeroed when next lent */
  arena->loan_used = 0;
}
