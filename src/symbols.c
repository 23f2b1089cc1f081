/*
 * symbols.c - libdw symbolization with a per-address cache.
 *
 * Why in process: libdw gives static functions, inlines and file:line from
 * the same maps the process runs, with no helper program to install or
 * spawn. The costs (libdw allocates with malloc; the first lookup in a
 * module reads its ELF and DWARF) are paid only when a report is made, and
 * each address is resolved once per process.
 */
#define _GNU_SOURCE
#include "symbols.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "mem.h"
#include "uthash_config.h"

#define LW_INLINE_MAX 8

typedef struct cached_pc {
  uintptr_t pc;
  int count;
  lw_symbol frames[LW_INLINE_MAX];
  UT_hash_handle hh;
} cached_pc;

static cached_pc *cache;
static Dwfl *dwfl;
static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

static char *intern(const char *text) {
  if (!text)
    return NULL;
  size_t len = strlen(text);
  char *copy = lw_mem_alloc(len + 1);
  if (copy)
    memcpy(copy, text, len + 1);
  return copy;
}

static void report_modules(void) {
  if (!dwfl) {
    dwfl = dwfl_begin(&callbacks);
    if (!dwfl)
      return;
  }
  dwfl_report_begin(dwfl);
  dwfl_linux_proc_report(dwfl, getpid());
  dwfl_report_end(dwfl, NULL, NULL);
}

void lw_symbols_refresh(void) {
  if (dwfl)
    report_modules();
}

/* C++ names through the program's own libstdc++, when it has one. */
static char *demangle(const char *name) {
  typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);
  static demangle_fn cxa_demangle;
  static int looked;
  if (!name || name[0] != '_' || name[1] != 'Z')
    return NULL;
  if (!looked) {
    cxa_demangle = (demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
    looked = 1;
  }
  if (!cxa_demangle)
    return NULL;
  int status = -1;
  char *result = cxa_demangle(name, NULL, NULL, &status);
  if (status != 0) {
    free(result);
    return NULL;
  }
  return result;
}

static const char *function_name(const char *raw) {
  /* The symbol table spells versioned symbols "name@@VERSION": show name. */
  char plain[512];
  if (raw && strchr(raw, '@')) {
    snprintf(plain, sizeof plain, "%s", raw);
    *strchr(plain, '@') = '\0';
    raw = plain;
  }
  char *pretty = demangle(raw);
  const char *result = intern(pretty ? pretty : raw);
  free(pretty);
  return result;
}

/* Inlined frames at `address` of a module: innermost first, each with the
 * file:line where it stands in its caller. Returns frames added. */
static int add_inline_frames(Dwfl_Module *module, Dwarf_Addr address, lw_symbol *out, int max,
                             const char *module_name) {
  Dwarf_Addr bias = 0;
  Dwarf_Die *cu = dwfl_module_addrdie(module, address, &bias);
  if (!cu)
    return 0;
  Dwarf_Die *scopes = NULL;
  int nscopes = dwarf_getscopes(cu, address - bias, &scopes);
  int count = 0;
  /* scopes[0] is the innermost. Each inlined_subroutine scope is a frame
   * whose name is its own and whose location is its caller's call site. */
  for (int i = 0; i < nscopes && count < max; i++) {
    int tag = dwarf_tag(&scopes[i]);
    if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
      continue;
    Dwarf_Attribute attr_mem;
    const char *name = NULL;
    Dwarf_Die origin;
    if (dwarf_attr_integrate(&scopes[i], DW_AT_linkage_name, &attr_mem))
      name = dwarf_formstring(&attr_mem);
    if (!name)
      name = dwarf_diename(&scopes[i]);
    if (!name &&
        dwarf_formref_die(dwarf_attr(&scopes[i], DW_AT_abstract_origin, &attr_mem), &origin))
      name = dwarf_diename(&origin);
    out[count].function = function_name(name);
    out[count].module = module_name;
    out[count].inlined = tag == DW_TAG_inlined_subroutine;
    count++;
    if (tag == DW_TAG_subprogram)
      break;
  }
  free(scopes);
  return count;
}

static void resolve(uintptr_t pc, int is_return_address, cached_pc *entry) {
  Dwarf_Addr address = is_return_address ? pc - 1 : pc;
  Dwfl_Module *module = dwfl ? dwfl_addrmodule(dwfl, address) : NULL;
  if (!module && dwfl) {
    report_modules(); /* a module loaded since the last look */
    module = dwfl_addrmodule(dwfl, address);
  }
  entry->count = 1;
  lw_symbol *frame = &entry->frames[0];
  if (!module) {
    frame->offset = pc;
    return;
  }
  Dwarf_Addr base = 0;
  const char *main_file = NULL;
  const char *name = dwfl_module_info(module, NULL, &base, NULL, NULL, NULL, &main_file, NULL);
  const char *module_name = intern(main_file ? main_file : name);
  GElf_Off symbol_offset = 0;
  GElf_Sym symbol;
  const char *symbol_name =
      dwfl_module_addrinfo(module, address, &symbol_offset, &symbol, NULL, NULL, NULL);

  /* Inlined frames first, then the outer function from the symbol table. */
  lw_symbol inlines[LW_INLINE_MAX];
  memset(inlines, 0, sizeof inlines);
  int ninline = add_inline_frames(module, address, inlines, LW_INLINE_MAX, module_name);

  int count = 0;
  /* Source lines: the innermost frame gets the line of the address; each
   * outer frame of an inline chain gets the call site of the one inside it. */
  Dwfl_Line *line = dwfl_module_getsrc(module, address);
  const char *file = NULL;
  int lineno = 0;
  if (line) {
    Dwarf_Addr line_addr;
    file = dwfl_lineinfo(line, &line_addr, &lineno, NULL, NULL, NULL);
  }
  if (ninline > 1) {
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(module, address, &bias);
    Dwarf_Die *scopes = NULL;
    int nscopes = cu ? dwarf_getscopes(cu, address - bias, &scopes) : 0;
    Dwarf_Files *files = NULL;
    if (cu)
      dwarf_getsrcfiles(cu, &files, NULL);
    const char *cur_file = file;
    int cur_line = lineno;
    int k = 0;
    for (int i = 0; i < nscopes && k < ninline; i++) {
      int tag = dwarf_tag(&scopes[i]);
      if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
        continue;
      inlines[k].file = intern(cur_file);
      inlines[k].line = cur_line;
      if (tag == DW_TAG_inlined_subroutine) {
        Dwarf_Attribute attr_mem;
        Dwarf_Word call_file = 0, call_line = 0;
        dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr_mem), &call_file);
        dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr_mem), &call_line);
        cur_file = files ? dwarf_filesrc(files, call_file, NULL, NULL) : NULL;
        cur_line = (int)call_line;
      }
      k++;
    }
    free(scopes);
    for (int i = 0; i < ninline && count < LW_INLINE_MAX; i++)
      entry->frames[count++] = inlines[i];
    /* The outermost (the real function) takes the symbol table's name when
     * DWARF had none, and the offset. */
    lw_symbol *outer = &entry->frames[count - 1];
    if (!outer->function && symbol_name)
      outer->function = function_name(symbol_name);
    outer->offset = symbol_name ? symbol_offset : address - base;
    entry->count = count;
    for (int i = 0; i < count; i++)
      entry->frames[i].module = module_name;
    return;
  }
  frame->function = symbol_name ? function_name(symbol_name) : NULL;
  frame->offset = symbol_name ? symbol_offset : (uint64_t)(pc - base);
  frame->module = module_name;
  frame->file = intern(file);
  frame->line = lineno;
}

int lw_symbols_lookup(uintptr_t pc, int is_return_address, lw_symbol *out, int max) {
  if (!dwfl)
    report_modules();
  uintptr_t key = pc | (is_return_address ? 0 : (uintptr_t)1 << 63);
  cached_pc *entry = NULL;
  HASH_FIND(hh, cache, &key, sizeof key, entry);
  if (!entry) {
    entry = lw_mem_alloc(sizeof *entry);
    if (!entry) {
      memset(out, 0, sizeof *out);
      out->offset = pc;
      return 1;
    }
    resolve(pc, is_return_address, entry);
    entry->pc = key;
    HASH_ADD(hh, cache, pc, sizeof entry->pc, entry);
  }
  int count = entry->count < max ? entry->count : max;
  memcpy(out, entry->frames, (size_t)count * sizeof *out);
  return count;
}
