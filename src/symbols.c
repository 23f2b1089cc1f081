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
#include "debuginfo.h"
#include "symbols.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "loader.h"
#include "mem.h"
#include "uthash_config.h"

/*
 * libdw is loaded with dlopen at the first lookup, not linked: a process
 * that never reports never maps it, nor libelf, libz, liblzma and libbz2
 * behind it (they cost every process about a millisecond and 40 page
 * faults at start-up). Each function used is one line here; the pointers
 * take their types from libdw's own headers. Without libdw (not installed,
 * or the dlopen failed), frames fall back to dladdr: exported function
 * names and modules.
 */
#define LW_LIBDW_FUNCTIONS(X)                                                                      \
  X(dwarf_attr)                                                                                    \
  X(dwarf_attr_integrate)                                                                          \
  X(dwarf_diename)                                                                                 \
  X(dwarf_filesrc)                                                                                 \
  X(dwarf_formref_die)                                                                             \
  X(dwarf_formstring)                                                                              \
  X(dwarf_formudata)                                                                               \
  X(dwarf_getscopes)                                                                               \
  X(dwarf_getscopes_die)                                                                           \
  X(dwarf_getsrcfiles)                                                                             \
  X(dwarf_haspc)                                                                                   \
  X(dwarf_tag)                                                                                     \
  X(dwfl_addrmodule)                                                                               \
  X(dwfl_begin)                                                                                    \
  X(dwfl_lineinfo)                                                                                 \
  X(dwfl_linux_proc_find_elf)                                                                      \
  X(dwfl_linux_proc_report)                                                                        \
  X(dwfl_module_addrdie)                                                                           \
  X(dwfl_module_addrinfo)                                                                          \
  X(dwfl_module_build_id)                                                                          \
  X(dwfl_module_getsrc)                                                                            \
  X(dwfl_module_info)                                                                              \
  X(dwfl_report_begin)                                                                             \
  X(dwfl_report_end)                                                                               \
  X(dwfl_report_elf)

#define LW_LIBDW_POINTER(name) __typeof__(name) *name;
static struct { LW_LIBDW_FUNCTIONS(LW_LIBDW_POINTER) } libdw;

typedef struct cached_pc {
  uintptr_t pc;
  int count;
  lw_symbol frames[LW_SYMBOL_FRAMES_MAX];
  UT_hash_handle hh;
} cached_pc;

static cached_pc *cache;
static Dwfl *dwfl;

/* Separate debug info, the local ways, never debuginfod (debuginfo.h). */
static int find_debuginfo(Dwfl_Module *module, void **userdata, const char *module_name,
                          Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                          GElf_Word debuglink_crc, char **debuginfo_file_name) {
  (void)userdata;
  (void)module_name;
  (void)base;
  (void)debuglink_crc;
  const unsigned char *id = NULL;
  GElf_Addr id_address;
  int id_length = libdw.dwfl_module_build_id(module, &id, &id_address);
  return lw_debuginfo_open(id, id_length, file_name, debuglink_file, debuginfo_file_name);
}

static Dwfl_Callbacks callbacks = {.find_debuginfo = find_debuginfo};

/* dlopen inside the loader gate: a fork waits for it, so no child inherits
 * the loader's lock taken by it (see loader.h). */
static bool load_libdw(void) {
  static int state; /* 0 not tried, 1 loaded, -1 unavailable */
  if (state)
    return state > 0;
  state = -1;
  lw_loader_enter(true);
  void *library = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
  lw_loader_leave();
  if (!library) {
    /* Not installed, or the process has left the file system it started
     * in: say once why frames are bare. */
    lw_warn("cannot open libdw.so.1 (not installed, or after chroot?): frames show exported "
            "functions only");
    return false;
  }
#define LW_LIBDW_RESOLVE(name)                                                                     \
  if (!(*(void **)&libdw.name = dlsym(library, #name)))                                            \
    return false;
  LW_LIBDW_FUNCTIONS(LW_LIBDW_RESOLVE)
  callbacks.find_elf = libdw.dwfl_linux_proc_find_elf;
  state = 1;
  return true;
}

static char *intern(const char *text) {
  if (!text)
    return NULL;
  size_t len = strlen(text);
  char *copy = lw_mem_alloc(len + 1);
  if (copy)
    memcpy(copy, text, len + 1);
  return copy;
}

/* The program's own file, read at load: after setuid the process is not
 * dumpable and /proc/self/exe (like /proc/self/maps) is root's. */
static char exe_path[PATH_MAX];

__attribute__((constructor)) static void remember_exe_path(void) {
  ssize_t length = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
  exe_path[length > 0 ? length : 0] = '\0';
}

/* One loaded module, as the dynamic loader lists it: by its path, at its
 * load bias. The vDSO and modules without a path are skipped. */
static int report_loaded(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  unsigned *unreadable = data;
  const char *path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : exe_path;
  if (path[0] != '/')
    return 0;
  if (!libdw.dwfl_report_elf(dwfl, path, path, -1, info->dlpi_addr, false))
    ++*unreadable;
  return 0;
}

static void report_modules(void) {
  if (!dwfl) {
    if (!load_libdw())
      return;
    dwfl = libdw.dwfl_begin(&callbacks);
    if (!dwfl)
      return;
  }
  libdw.dwfl_report_begin(dwfl);
  /* /proc/PID/maps of a thread: the process's is empty once main has
   * exited. Unreadable after setuid (the process is no longer dumpable):
   * then the loader's own list of modules, which needs no /proc. */
  if (libdw.dwfl_linux_proc_report(dwfl, lw_gettid()) != 0) {
    static bool warned;
    unsigned unreadable = 0;
    lw_loader_iterate(report_loaded, &unreadable);
    if (unreadable && !warned) {
      /* After chroot the modules' paths name other files, or none. */
      warned = true;
      lw_warn("cannot open %u of the program's modules by their paths (after chroot?): "
              "their frames show addresses only",
              unreadable);
    }
  }
  libdw.dwfl_report_end(dwfl, NULL, NULL);
}

static int read_load_counts(struct dl_phdr_info *info, size_t size, void *data) {
  unsigned long long *counts = data;
  if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
    counts[0] = info->dlpi_adds;
    counts[1] = info->dlpi_subs;
  }
  return 1; /* the counters are the same in every entry: one is enough */
}

void lw_symbols_check_modules(void) {
  static unsigned long long seen[2];
  unsigned long long now[2] = {0, 0};
  lw_loader_iterate(read_load_counts, now);
  if (now[0] == seen[0] && now[1] == seen[1])
    return;
  bool unloaded = now[1] != seen[1];
  seen[0] = now[0];
  seen[1] = now[1];
  if (dwfl)
    report_modules();
  if (!unloaded)
    return; /* new libraries only: known addresses keep their meaning */
  cached_pc *entry, *next;
  HASH_ITER(hh, cache, entry, next) {
    HASH_DEL(cache, entry);
    lw_mem_free(entry, sizeof *entry);
  }
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
    if (!cxa_demangle) {
      /* A C++ program that does not load libstdc++ (nothing of it needed at
       * run time): load it for its demangler, at report time only. */
      void *library = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
      if (library)
        cxa_demangle = (demangle_fn)dlsym(library, "__cxa_demangle");
    }
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

static bool is_function_scope(Dwarf_Die *die) {
  int tag = libdw.dwarf_tag(die);
  return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram;
}

/*
 * The chain of functions at `address`, innermost first: the inlined
 * subroutines, then the function they were inlined into. dwarf_getscopes
 * gives the innermost one; the scopes around an inlined subroutine's
 * *definition* are not its caller, so each next link comes from
 * dwarf_getscopes_die on the inlined instance itself.
 */
static int function_chain(Dwarf_Die *cu, Dwarf_Addr address, Dwarf_Die *chain, int max) {
  Dwarf_Die *scopes = NULL;
  int nscopes = libdw.dwarf_getscopes(cu, address, &scopes);
  int count = 0;
  for (int i = 0; i < nscopes && count == 0; i++)
    if (is_function_scope(&scopes[i]))
      chain[count++] = scopes[i];
  free(scopes);
  while (count > 0 && count < max &&
         libdw.dwarf_tag(&chain[count - 1]) == DW_TAG_inlined_subroutine) {
    Dwarf_Die *outer = NULL;
    int nouter = libdw.dwarf_getscopes_die(&chain[count - 1], &outer);
    int found = 0;
    for (int i = 1; i < nouter && !found; i++) /* outer[0] is the die itself */
      if (is_function_scope(&outer[i])) {
        chain[count++] = outer[i];
        found = 1;
      }
    free(outer);
    if (!found)
      break;
  }
  return count;
}

static const char *die_name(Dwarf_Die *die) {
  Dwarf_Attribute attr;
  const char *name = NULL;
  if (libdw.dwarf_attr_integrate(die, DW_AT_linkage_name, &attr))
    name = libdw.dwarf_formstring(&attr);
  if (!name)
    name = libdw.dwarf_diename(die);
  Dwarf_Die origin;
  if (!name &&
      libdw.dwarf_formref_die(libdw.dwarf_attr(die, DW_AT_abstract_origin, &attr), &origin))
    name = libdw.dwarf_diename(&origin);
  return name;
}

/* Frames at `address` when functions were inlined there: innermost first,
 * each at its own line, the outer ones at the call site of the one inside.
 * Returns how many (0: nothing was inlined here). */
static int inline_frames(Dwfl_Module *module, Dwarf_Addr address, const char *file, int line,
                         lw_symbol *out) {
  Dwarf_Addr bias = 0;
  Dwarf_Die *cu = libdw.dwfl_module_addrdie(module, address, &bias);
  if (!cu)
    return 0;
  Dwarf_Die chain[LW_SYMBOL_FRAMES_MAX];
  int count = function_chain(cu, address - bias, chain, LW_SYMBOL_FRAMES_MAX);
  if (count < 2)
    return 0;
  Dwarf_Files *files = NULL;
  libdw.dwarf_getsrcfiles(cu, &files, NULL);
  for (int i = 0; i < count; i++) {
    out[i].function = function_name(die_name(&chain[i]));
    out[i].file = intern(file);
    out[i].line = line;
    out[i].inlined = libdw.dwarf_tag(&chain[i]) == DW_TAG_inlined_subroutine;
    if (out[i].inlined) {
      Dwarf_Attribute attr;
      Dwarf_Word call_file = 0, call_line = 0;
      libdw.dwarf_formudata(libdw.dwarf_attr(&chain[i], DW_AT_call_file, &attr), &call_file);
      libdw.dwarf_formudata(libdw.dwarf_attr(&chain[i], DW_AT_call_line, &attr), &call_line);
      file = files ? libdw.dwarf_filesrc(files, call_file, NULL, NULL) : NULL;
      line = (int)call_line;
    }
  }
  return count;
}

/*
 * Does the debug information of the compilation unit libdwfl picks for
 * `address` describe it? libdwfl finds the unit by the last address range
 * starting at or below the address, without checking where that range
 * ends: code without debug information (crt1's _start, an assembler file)
 * that follows a unit's code lands in that unit, whose line table then
 * gives the nearest row below, a line of some other function or header.
 * Only a unit whose own ranges hold the address describes it.
 */
static bool described_by_its_unit(Dwfl_Module *module, Dwarf_Addr address) {
  Dwarf_Addr bias = 0;
  Dwarf_Die *cu = libdw.dwfl_module_addrdie(module, address, &bias);
  return cu && libdw.dwarf_haspc(cu, address - bias) > 0;
}

static void resolve(uintptr_t pc, int is_return_address, cached_pc *entry) {
  Dwarf_Addr address = is_return_address ? pc - 1 : pc;
  Dwfl_Module *module = dwfl ? libdw.dwfl_addrmodule(dwfl, address) : NULL;
  if (!module && dwfl) {
    report_modules(); /* a module loaded since the last look */
    module = libdw.dwfl_addrmodule(dwfl, address);
  }
  entry->count = 1;
  lw_symbol *frame = &entry->frames[0];
  if (!module) {
    frame->offset = pc;
    Dl_info info;
    if (dwfl)
      return;
    /* No libdw: what the dynamic symbol tables say (inside the gate:
     * dladdr takes the loader's lock). */
    lw_loader_enter(true);
    int found = dladdr((void *)address, &info);
    lw_loader_leave();
    if (found && info.dli_fname) {
      frame->module = intern(info.dli_fname);
      frame->function = info.dli_sname ? function_name(info.dli_sname) : NULL;
      frame->offset = info.dli_sname ? address - (uintptr_t)info.dli_saddr
                                     : address - (uintptr_t)info.dli_fbase;
    }
    return;
  }
  Dwarf_Addr base = 0;
  const char *main_file = NULL;
  const char *name =
      libdw.dwfl_module_info(module, NULL, &base, NULL, NULL, NULL, &main_file, NULL);
  const char *module_name = intern(main_file ? main_file : name);
  GElf_Off symbol_offset = 0;
  GElf_Sym symbol;
  const char *symbol_name =
      libdw.dwfl_module_addrinfo(module, address, &symbol_offset, &symbol, NULL, NULL, NULL);
  const char *file = NULL;
  int lineno = 0;
  bool described = described_by_its_unit(module, address);
  Dwfl_Line *line = described ? libdw.dwfl_module_getsrc(module, address) : NULL;
  Dwarf_Addr line_address = 0;
  if (line)
    file = libdw.dwfl_lineinfo(line, &line_address, &lineno, NULL, NULL, NULL);
  /* The nearest row below the address, from before the function's start:
   * a row of some other code (a discarded copy's rows sit at 0 upward). */
  if (file && symbol_name && line_address < address - symbol_offset) {
    file = NULL;
    lineno = 0;
  }

  int count = described ? inline_frames(module, address, file, lineno, entry->frames) : 0;
  if (count == 0) {
    frame->function = symbol_name ? function_name(symbol_name) : NULL;
    frame->file = intern(file);
    frame->line = lineno;
    count = 1;
  } else if (symbol_name) {
    /* The real function: the symbol table's name, with its parameters. */
    entry->frames[count - 1].function = function_name(symbol_name);
  }
  for (int i = 0; i < count; i++)
    entry->frames[i].module = module_name;
  /* The offset: from the function's start, or the module's base. */
  entry->frames[count - 1].offset = symbol_name ? symbol_offset : (uint64_t)(address - base);
  entry->count = count;
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
  /* Cut from the inside: the outermost frame is the real function. */
  int count = entry->count < max ? entry->count : max;
  memcpy(out, entry->frames + (entry->count - count), (size_t)count * sizeof *out);
  return count;
}

bool lw_symbols_data(uintptr_t address, lw_symbol *out) {
  memset(out, 0, sizeof *out);
  if (!dwfl)
    report_modules();
  Dwfl_Module *module = dwfl ? libdw.dwfl_addrmodule(dwfl, address) : NULL;
  if (!module)
    return false;
  Dwarf_Addr base = 0, end = 0;
  const char *main_file = NULL;
  const char *name =
      libdw.dwfl_module_info(module, NULL, &base, &end, NULL, NULL, &main_file, NULL);
  if (address < base || address >= end)
    return false;
  out->module = intern(main_file ? main_file : name);
  out->offset = address - base;
  GElf_Off offset = 0;
  GElf_Sym symbol;
  const char *symbol_name =
      libdw.dwfl_module_addrinfo(module, address, &offset, &symbol, NULL, NULL, NULL);
  /* A variable's symbol, and the address inside it (the nearest symbol
   * below may be a function, or a variable that ends before). */
  if (symbol_name && GELF_ST_TYPE(symbol.st_info) == STT_OBJECT &&
      (offset < symbol.st_size || (symbol.st_size == 0 && offset == 0))) {
    out->function = function_name(symbol_name);
    out->offset = offset;
  }
  return true;
}
