/*
 * frames.c - addresses of the inspected process to functions, file:line and
 * inlined calls, through libdw on the modules libdwfl found (the process's
 * maps, or the core's file notes).
 *
 * Two speeds: symbol names alone (symbol tables, already loaded) while the
 * process is stopped, to tell which pthread call a thread is in; file:line
 * and inlines (DWARF) only after it runs again.
 */
#define _GNU_SOURCE
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inspect.h"
#include "debuginfo.h"
#include "symbols.h"
#include "report_text.h"

char *__cxa_demangle(const char *name, char *out, size_t *length, int *status);

/* Separate debug files the local ways, never debuginfod (debuginfo.h). */
static int find_debuginfo(Dwfl_Module *module, void **userdata, const char *module_name,
                          Dwarf_Addr base, const char *file_name, const char *debuglink,
                          GElf_Word crc, char **debuginfo_name) {
  (void)userdata;
  (void)module_name;
  (void)base;
  (void)crc;
  const unsigned char *id = NULL;
  GElf_Addr id_address;
  int id_length = dwfl_module_build_id(module, &id, &id_address);
  return lw_debuginfo_open(id, id_length, file_name, debuglink, debuginfo_name);
}

const Dwfl_Callbacks lw_inspect_proc_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = find_debuginfo,
};

const Dwfl_Callbacks lw_inspect_core_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = find_debuginfo,
};

static int warm_module(Dwfl_Module *module, void **userdata, const char *name, Dwarf_Addr start,
                       void *arg) {
  (void)userdata, (void)name, (void)start, (void)arg;
  Dwarf_Addr bias;
  dwfl_module_getsymtab(module);
  if (!dwfl_module_eh_cfi(module, &bias))
    dwfl_module_dwarf_cfi(module, &bias);
  return DWARF_CB_OK;
}

void lw_inspect_warm_modules(Dwfl *dwfl) { dwfl_getmodules(dwfl, warm_module, NULL, 0); }

static const char *symbol_at(Dwfl *dwfl, Dwarf_Addr address, GElf_Off *offset) {
  Dwfl_Module *module = dwfl_addrmodule(dwfl, address);
  if (!module)
    return NULL;
  GElf_Sym symbol;
  return dwfl_module_addrinfo(module, address, offset, &symbol, NULL, NULL, NULL);
}

void lw_inspect_name_frames(lw_inspect_target *target, lw_inspect_thread *thread) {
  for (uint32_t i = 0; i < thread->depth; i++) {
    GElf_Off offset;
    thread->names[i] = symbol_at(target->dwfl, thread->pcs[i] - (i > 0), &offset);
  }
}

static const char *pretty(lw_report *report, const char *name) {
  if (!name)
    return NULL;
  /* The symbol table spells versioned symbols "name@@VERSION": show name. */
  char plain[512];
  if (strchr(name, '@')) {
    snprintf(plain, sizeof plain, "%.*s", (int)(strchr(name, '@') - name), name);
    name = plain;
  }
  if (name[0] == '_' && name[1] == 'Z') {
    int status = -1;
    char *demangled = __cxa_demangle(name, NULL, NULL, &status);
    if (demangled && status == 0) {
      const char *kept = lw_mem_arena_strdup(&report->arena, demangled);
      free(demangled);
      return kept;
    }
    free(demangled);
  }
  return lw_mem_arena_strdup(&report->arena, name);
}

static const char *die_name(Dwarf_Die *die) {
  Dwarf_Attribute attr;
  const char *name = NULL;
  if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr))
    name = dwarf_formstring(&attr);
  if (!name)
    name = dwarf_diename(die);
  Dwarf_Die origin;
  if (!name && dwarf_formref_die(dwarf_attr(die, DW_AT_abstract_origin, &attr), &origin))
    name = dwarf_diename(&origin);
  return name;
}

static bool is_function(Dwarf_Die *die) {
  int tag = dwarf_tag(die);
  return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram;
}

/* Functions at `address`, innermost first: each inlined call, then the
 * function they were all inlined into. Returns how many (0: none known). */
static int function_chain(Dwarf_Die *cu, Dwarf_Addr address, Dwarf_Die *chain, int max) {
  Dwarf_Die *scopes = NULL;
  int nscopes = dwarf_getscopes(cu, address, &scopes);
  int count = 0;
  for (int i = 0; i < nscopes && count == 0; i++)
    if (is_function(&scopes[i]))
      chain[count++] = scopes[i];
  free(scopes);
  while (count > 0 && count < max && dwarf_tag(&chain[count - 1]) == DW_TAG_inlined_subroutine) {
    Dwarf_Die *outer = NULL;
    int nouter = dwarf_getscopes_die(&chain[count - 1], &outer);
    int found = 0;
    for (int i = 1; i < nouter && !found; i++)
      if (is_function(&outer[i])) {
        chain[count++] = outer[i];
        found = 1;
      }
    free(outer);
    if (!found)
      break;
  }
  return count;
}

/* Up to `max` frames for one address, innermost first. */
static uint32_t resolve(lw_inspect_target *target, lw_report *report, uintptr_t pc, bool exact,
                        lw_frame *out, uint32_t max) {
  Dwarf_Addr address = exact ? pc : pc - 1;
  memset(out, 0, sizeof *out);
  out->pc = pc;
  Dwfl_Module *module = dwfl_addrmodule(target->dwfl, address);
  if (!module) {
    out->offset = pc;
    return 1;
  }
  Dwarf_Addr base = 0;
  const char *main_file = NULL;
  const char *name = dwfl_module_info(module, NULL, &base, NULL, NULL, NULL, &main_file, NULL);
  const char *module_name = lw_mem_arena_strdup(&report->arena, main_file ? main_file : name);
  GElf_Off offset = 0;
  GElf_Sym symbol;
  const char *symbol_name =
      dwfl_module_addrinfo(module, address, &offset, &symbol, NULL, NULL, NULL);
  const char *file = NULL;
  int line = 0;
  Dwfl_Line *where = dwfl_module_getsrc(module, address);
  if (where)
    file = dwfl_lineinfo(where, &(Dwarf_Addr){0}, &line, NULL, NULL, NULL);

  Dwarf_Die chain[LW_SYMBOL_FRAMES_MAX];
  Dwarf_Addr bias = 0;
  Dwarf_Die *cu = dwfl_module_addrdie(module, address, &bias);
  int count = cu ? function_chain(cu, address - bias, chain, (int)max) : 0;
  Dwarf_Files *files = NULL;
  if (count > 1)
    dwarf_getsrcfiles(cu, &files, NULL);
  if (count <= 1) {
    out->function = pretty(report, symbol_name ? symbol_name : count ? die_name(&chain[0]) : NULL);
    count = 1;
  }
  for (int i = 0; i < count; i++) {
    lw_frame *f = &out[i];
    f->pc = pc;
    f->module = module_name;
    f->file = file ? lw_mem_arena_strdup(&report->arena, file) : NULL;
    f->line = line;
    if (count > 1) {
      f->inlined = dwarf_tag(&chain[i]) == DW_TAG_inlined_subroutine;
      /* The real function: the symbol table's name, with its parameters. */
      f->function =
          pretty(report, i == count - 1 && symbol_name ? symbol_name : die_name(&chain[i]));
      if (f->inlined) {
        Dwarf_Attribute attr;
        Dwarf_Word call_file = 0, call_line = 0;
        dwarf_formudata(dwarf_attr(&chain[i], DW_AT_call_file, &attr), &call_file);
        dwarf_formudata(dwarf_attr(&chain[i], DW_AT_call_line, &attr), &call_line);
        file = files ? dwarf_filesrc(files, call_file, NULL, NULL) : NULL;
        line = (int)call_line;
      }
    }
  }
  out[count - 1].offset = symbol_name ? offset : (uint64_t)(address - base);
  return (uint32_t)count;
}

lw_frames lw_inspect_frames(lw_inspect_target *target, lw_report *report, const uintptr_t *pcs,
                            uint32_t depth, bool first_exact) {
  lw_frames frames = {0, NULL};
  frames.frames = lw_mem_arena_alloc(&report->arena, (depth ? depth : 1) * LW_SYMBOL_FRAMES_MAX *
                                                         sizeof *frames.frames);
  if (!frames.frames)
    return frames;
  for (uint32_t i = 0; i < depth; i++)
    frames.count += resolve(target, report, pcs[i], i == 0 && first_exact,
                            frames.frames + frames.count, LW_SYMBOL_FRAMES_MAX);
  return frames;
}
