/*
 * uthash_config.h - uthash, allocating from the shim's own memory.
 *
 * uthash would call malloc(), which may be the program's allocator and may
 * lock a mutex that lands back in our wrappers. Its tables live in mem.c's
 * mmap-backed pools instead, and running out of memory is survivable.
 */
#ifndef LW_UTHASH_CONFIG_H
#define LW_UTHASH_CONFIG_H

#include "mem.h"

#define uthash_malloc(size) lw_mem_alloc(size)
#define uthash_free(ptr, size) lw_mem_free((ptr), (size))
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#endif
