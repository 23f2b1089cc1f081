/*
 * elfsym.c - what dlsym(RTLD_NEXT) would answer, from the GNU hash tables
 * (see elfsym.h).
 *
 * The rules are the loader's (glibc elf/dl-lookup.c, check_match), kept to
 * the cases it answers the same way every time:
 *  - a defined function (STT_FUNC, not SHN_UNDEF) whose name matches;
 *  - with a version asked for (dlvsym): the definition of exactly that
 *    version, hidden or not (that is how glibc's old pthread_cond_* are
 *    reached); an object without version information satisfies any;
 *  - with none: the default (non-hidden) version;
 *  - the first object in load order that has one wins.
 */
#define _GNU_SOURCE
#include "elfsym.h"

#include <dlfcn.h>
#include <elf.h>
#include <string.h>

_Static_assert(__ELF_NATIVE_CLASS == 64, "ELF64_ST_TYPE below: a 64-bit build");

/* glibc adds the load address to some entries of a writable dynamic
 * section (not DT_VERDEF, and none in a read-only one such as the vDSO's):
 * an address below the object's base is still an offset. */
static uintptr_t dynamic_address(uintptr_t value, uintptr_t base) {
  return value < base ? value + base : value;
}

static bool read_object(const struct link_map *map, lw_elfsym_object *object) {
  memset(object, 0, sizeof *object);
  object->base = (uintptr_t)map->l_addr;
  if (!map->l_ld)
    return false;
  for (const ElfW(Dyn) *entry = map->l_ld; entry->d_tag != DT_NULL; entry++) {
    uintptr_t address = dynamic_address((uintptr_t)entry->d_un.d_ptr, object->base);
    switch (entry->d_tag) {
    case DT_GNU_HASH:
      object->gnu_hash = (const uint32_t *)address;
      break;
    case DT_SYMTAB:
      object->symbols = (const ElfW(Sym) *)address;
      break;
    case DT_STRTAB:
      object->strings = (const char *)address;
      break;
    case DT_VERSYM:
      object->versions = (const ElfW(Versym) *)address;
      break;
    case DT_VERDEF:
      object->version_defs = (const ElfW(Verdef) *)address;
      break;
    default:
      break;
    }
  }
  return object->gnu_hash && object->symbols && object->strings;
}

bool lw_elfsym_scope_after(lw_elfsym_scope *scope, const void *inside) {
  scope->count = 0;
  struct dl_find_object found;
  if (_dl_find_object((void *)inside, &found) != 0 || !found.dlfo_link_map)
    return false;
  for (const struct link_map *map = found.dlfo_link_map->l_next;
       map && scope->count < LW_ELFSYM_OBJECTS; map = map->l_next) {
    /* The scope ends before an object without a GNU hash table (none on a
     * current system): a name it might define must not be answered from
     * an object after it. Not found means "ask dlsym". */
    if (!read_object(map, &scope->objects[scope->count]))
      break;
    scope->count++;
  }
  return true;
}

/* The GNU hash of a name (the ELF gABI extension's djb2 variant). */
static uint32_t gnu_hash(const char *name) {
  uint32_t hash = 5381;
  for (const unsigned char *c = (const unsigned char *)name; *c; c++)
    hash = hash * 33 + *c;
  return hash;
}

/* The index a version name has in this object (0: not defined here). */
static ElfW(Half) version_index(const lw_elfsym_object *object, const char *version) {
  const ElfW(Verdef) *def = object->version_defs;
  while (def) {
    const ElfW(Verdaux) *aux = (const ElfW(Verdaux) *)((const char *)def + def->vd_aux);
    if (!(def->vd_flags & VER_FLG_BASE) && strcmp(object->strings + aux->vda_name, version) == 0)
      return def->vd_ndx;
    def = def->vd_next ? (const ElfW(Verdef) *)((const char *)def + def->vd_next) : NULL;
  }
  return 0;
}

enum match { NO_MATCH, MATCH, UNSURE };

static enum match version_matches(const lw_elfsym_object *object, uint32_t index,
                                  const char *version, ElfW(Half) wanted) {
  if (!object->versions)
    return MATCH; /* an unversioned object satisfies any version */
  ElfW(Versym) tag = object->versions[index];
  if (version)
    return (tag & 0x7fff) == wanted ? MATCH : NO_MATCH;
  /* The default version: the one not hidden. The loader passes hidden
   * ones over; a name that only has hidden ones here is left to dlsym
   * (rare enough not to follow the loader further). */
  return (tag & 0x8000) ? UNSURE : MATCH;
}

/* NULL, with *unsure set when the loader might answer differently. */
static void *find_in(const lw_elfsym_object *object, const char *name, uint32_t hash,
                     const char *version, bool *unsure) {
  const uint32_t *header = object->gnu_hash;
  uint32_t nbuckets = header[0], symoffset = header[1], bloom_size = header[2],
           bloom_shift = header[3];
  if (nbuckets == 0 || bloom_size == 0)
    return NULL;
  const ElfW(Addr) *bloom = (const ElfW(Addr) *)&header[4];
  const uint32_t *buckets = (const uint32_t *)&bloom[bloom_size];
  const uint32_t *chain = &buckets[nbuckets];
  const unsigned bits = sizeof(ElfW(Addr)) * 8;
  ElfW(Addr) word = bloom[(hash / bits) % bloom_size];
  ElfW(Addr) mask =
      ((ElfW(Addr))1 << (hash % bits)) | ((ElfW(Addr))1 << ((hash >> bloom_shift) % bits));
  if ((word & mask) != mask)
    return NULL;
  uint32_t index = buckets[hash % nbuckets];
  if (index < symoffset)
    return NULL;
  ElfW(Half) wanted = 0;
  if (version && object->versions) {
    wanted = version_index(object, version);
    if (wanted == 0)
      return NULL; /* this object does not define that version at all */
  }
  for (;; index++) {
    uint32_t chain_hash = chain[index - symoffset];
    const ElfW(Sym) *symbol = &object->symbols[index];
    /* A definition (not an import: SHN_UNDEF, nor a value of 0, which the
     * loader skips too) of this name. */
    if ((chain_hash | 1) == (hash | 1) && symbol->st_shndx != SHN_UNDEF && symbol->st_value != 0 &&
        strcmp(object->strings + symbol->st_name, name) == 0) {
      enum match match = version_matches(object, index, version, wanted);
      if (match == UNSURE)
        *unsure = true; /* unless the default version follows */
      if (match == MATCH) {
        if (ELF64_ST_TYPE(symbol->st_info) != STT_FUNC || symbol->st_shndx == SHN_ABS) {
          *unsure = true; /* an IFUNC, data, an absolute symbol */
          return NULL;
        }
        *unsure = false;
        return (void *)(object->base + symbol->st_value);
      }
    }
    if (chain_hash & 1)
      return NULL;
  }
}

void *lw_elfsym_find(const lw_elfsym_scope *scope, const char *name, const char *version) {
  uint32_t hash = gnu_hash(name);
  bool unsure = false;
  for (int i = 0; i < scope->count; i++) {
    void *address = find_in(&scope->objects[i], name, hash, version, &unsure);
    if (address)
      return address;
    if (unsure)
      return NULL;
  }
  return NULL;
}
