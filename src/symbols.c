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
  X(dwarf_getelf)                                                                                  \
  X(dwarf_haspc)                                                                                   \
  X(dwarf_ranges)                                                                                  \
  X(dwarf_tag)                                                                                     \
  X(dwfl_addrmodule)                                                                               \
  X(dwfl_begin)                                                                                    \
  X(dwfl_lineinfo)                                                                                 \
  X(dwfl_linux_proc_find_elf)                                                                      \
  X(dwfl_linux_proc_report)                                                                        \
  X(dwfl_module_addrdie)                                                                           \
  X(dwfl_module_addrinfo)                                                                          \
  X(dwfl_module_build_id)                                                                          \
  X(dwfl_module_getdwarf)                                                                          \
  X(dwfl_module_getsrc)                                                                            \
  X(dwfl_module_info)                                                                              \
  X(dwfl_report_begin)                                                                             \
  X(dwfl_report_end)                                                                               \
  X(dwfl_report_elf)                                                                               \
  X(elf_getdata)                                                                                   \
  X(elf_getshdrstrndx)                                                                             \
  X(elf_nextscn)                                                                                   \
  X(elf_strptr)                                                                                    \
  X(gelf_getshdr)

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
  /* Said once (state): why frames are bare. */
  void *library = lw_loader_open("libdw.so.1", "frames show exported functions only");
  if (!library)
    return false;
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
static char exe_path_short[256];             /* most paths: a page every process touches anyway */
LW_COLD static char exe_path_long[PATH_MAX]; /* the others */
static const char *exe_path = "";

__attribute__((constructor)) static void remember_exe_path(void) {
  ssize_t length = readlink("/proc/self/exe", exe_path_short, sizeof exe_path_short - 1);
  if (length > 0 && (size_t)length < sizeof exe_path_short - 1) {
    exe_path_short[length] = '\0';
    exe_path = exe_path_short;
    return;
  }
  length = readlink("/proc/self/exe", exe_path_long, sizeof exe_path_long - 1);
  exe_path_long[length > 0 ? length : 0] = '\0';
  exe_path = exe_path_long;
}

const char *lw_symbols_exe_path(void) { return exe_path; }

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

/*
 * Line tables, read here rather than through dwfl_module_getsrc.
 *
 * When the linker drops a function (--gc-sections, or the second copy of
 * an inline or template function), GNU ld resolves the addresses in its
 * debug information to 0: its line rows and its DIE ranges now claim
 * [0, size), over the first kilobytes of the module, where crt1's _start
 * and the program's .text.startup (main) are. libdw sorts the rows of a
 * unit by address, so those rows interleave with the live code's, and
 * libdwfl picks a unit for an address by the last range starting below it
 * without looking where that range ends: "_start minisrv.cpp:203",
 * "main x.cpp:13" (a line of the dropped function). Both are fixed by the
 * rule gdb follows: a row counts only inside its own sequence, and a
 * sequence only if it starts in code (an executable section); a function
 * DIE only if its range around the address starts in code too.
 *
 * The reader keeps, per unit, the sequences that start in code, each with
 * its rows (address, file, line), built on first use and kept until a
 * library is unloaded. Addresses are the module's own (before load bias).
 */
typedef struct line_row {
  Dwarf_Addr address;
  uint32_t file;
  int line;
} line_row;

typedef struct line_sequence {
  Dwarf_Addr start, end;
  uint32_t first, count; /* rows[first .. first+count) */
} line_sequence;

typedef struct unit_lines {
  struct {
    Dwarf *dwarf;
    Dwarf_Word offset; /* of the unit's line program in .debug_line */
  } key;
  bool usable; /* false: the table could not be read; use libdwfl's */
  line_row *rows;
  uint32_t nrows, rows_capacity;
  line_sequence *sequences;
  uint32_t nsequences, sequences_capacity;
  UT_hash_handle hh;
} unit_lines;

static unit_lines *unit_cache;

/* Grow `*array` (of `*capacity` items of `size`) to hold one more. */
static bool grow(void **array, uint32_t *capacity, uint32_t count, size_t size) {
  if (count < *capacity)
    return true;
  uint32_t wanted = *capacity ? *capacity * 2 : 64;
  void *bigger = lw_mem_alloc(wanted * size);
  if (!bigger)
    return false;
  if (*array) {
    memcpy(bigger, *array, count * size);
    lw_mem_free(*array, *capacity * size);
  }
  *array = bigger;
  *capacity = wanted;
  return true;
}

static void forget_unit_lines(void) {
  unit_lines *unit, *next;
  HASH_ITER(hh, unit_cache, unit, next) {
    HASH_DEL(unit_cache, unit);
    if (unit->rows)
      lw_mem_free(unit->rows, unit->rows_capacity * sizeof *unit->rows);
    if (unit->sequences)
      lw_mem_free(unit->sequences, unit->sequences_capacity * sizeof *unit->sequences);
    lw_mem_free(unit, sizeof *unit);
  }
}

/* A bounded reader of .debug_line: every read checks the end; a short
 * read sets `bad` and returns 0. */
typedef struct reader {
  const unsigned char *at, *end;
  bool bad;
} reader;

static uint64_t read_fixed(reader *in, int size) {
  if (in->end - in->at < size) {
    in->bad = true;
    in->at = in->end;
    return 0;
  }
  uint64_t value = 0;
  for (int i = 0; i < size; i++) /* x86_64: little endian */
    value |= (uint64_t)in->at[i] << (8 * i);
  in->at += size;
  return value;
}

static uint64_t read_uleb(reader *in) {
  uint64_t value = 0;
  for (int shift = 0; in->at < in->end; shift += 7) {
    unsigned char byte = *in->at++;
    if (shift < 64)
      value |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80))
      return value;
  }
  in->bad = true;
  return value;
}

static int64_t read_sleb(reader *in) {
  int64_t value = 0;
  int shift = 0;
  unsigned char byte = 0x80;
  while (in->at < in->end && (byte & 0x80)) {
    byte = *in->at++;
    if (shift < 64)
      value |= (int64_t)((uint64_t)(byte & 0x7f) << shift);
    shift += 7;
  }
  if (byte & 0x80)
    in->bad = true;
  else if (shift < 64 && (byte & 0x40))
    value |= -((int64_t)1 << shift);
  return value;
}

/* The executable sections' address ranges, to tell live code from the
 * dropped code's zeroes. */
typedef struct code_ranges {
  uint32_t count;
  Dwarf_Addr start[32], end[32];
} code_ranges;

static bool in_code(const code_ranges *code, Dwarf_Addr address) {
  for (uint32_t i = 0; i < code->count; i++)
    if (address >= code->start[i] && address < code->end[i])
      return true;
  return false;
}

/* .debug_line's bytes and the executable sections of the ELF file holding
 * `dwarf`'s debug information (a separate debug file keeps the sections'
 * addresses and flags). */
static bool line_section(Dwarf *dwarf, Elf_Data **data, code_ranges *code) {
  Elf *elf = libdw.dwarf_getelf(dwarf);
  size_t names = 0;
  if (!elf || libdw.elf_getshdrstrndx(elf, &names) != 0)
    return false;
  *data = NULL;
  code->count = 0;
  for (Elf_Scn *section = libdw.elf_nextscn(elf, NULL); section;
       section = libdw.elf_nextscn(elf, section)) {
    GElf_Shdr header;
    if (!libdw.gelf_getshdr(section, &header))
      continue;
    if ((header.sh_flags & SHF_EXECINSTR) && header.sh_size && code->count < 32) {
      code->start[code->count] = header.sh_addr;
      code->end[code->count++] = header.sh_addr + header.sh_size;
    }
    const char *name = libdw.elf_strptr(elf, names, header.sh_name);
    /* libdw decompressed it in place when it opened the file. */
    if (name && strcmp(name, ".debug_line") == 0 && !(header.sh_flags & SHF_COMPRESSED))
      *data = libdw.elf_getdata(section, NULL);
  }
  return *data && (*data)->d_buf && code->count > 0;
}

static bool add_row(unit_lines *unit, Dwarf_Addr address, uint32_t file, int line) {
  if (!grow((void **)&unit->rows, &unit->rows_capacity, unit->nrows, sizeof *unit->rows))
    return false;
  unit->rows[unit->nrows++] = (line_row){address, file, line};
  return true;
}

/* Run the unit's line program (DWARF 2 to 5), keeping the sequences that
 * start in code. The header's file tables are skipped: libdw reads them
 * (dwarf_getsrcfiles), and rows keep the program's file numbers. */
static bool read_line_program(unit_lines *unit, Elf_Data *data, Dwarf_Word offset,
                              const code_ranges *code) {
  if (offset >= data->d_size)
    return false;
  reader in = {(const unsigned char *)data->d_buf + offset,
               (const unsigned char *)data->d_buf + data->d_size, false};
  uint64_t length = read_fixed(&in, 4);
  int offset_size = 4;
  if (length == 0xffffffffu) {
    length = read_fixed(&in, 8);
    offset_size = 8;
  }
  if (in.bad || length > (uint64_t)(in.end - in.at))
    return false;
  in.end = in.at + length;
  unsigned version = (unsigned)read_fixed(&in, 2);
  if (version < 2 || version > 5)
    return false;
  if (version >= 5)
    read_fixed(&in, 2); /* address_size, segment_selector_size */
  uint64_t header_length = read_fixed(&in, offset_size);
  if (in.bad || header_length > (uint64_t)(in.end - in.at))
    return false;
  const unsigned char *program = in.at + header_length;
  unsigned min_instruction_length = (unsigned)read_fixed(&in, 1);
  if (version >= 4)
    read_fixed(&in, 1); /* maximum_operations_per_instruction: VLIW only */
  read_fixed(&in, 1);   /* default_is_stmt */
  int line_base = (int8_t)read_fixed(&in, 1);
  unsigned line_range = (unsigned)read_fixed(&in, 1);
  unsigned opcode_base = (unsigned)read_fixed(&in, 1);
  unsigned char standard_lengths[256] = {0};
  for (unsigned i = 1; i < opcode_base && !in.bad; i++)
    standard_lengths[i] = (unsigned char)read_fixed(&in, 1);
  if (in.bad || line_range == 0 || opcode_base == 0)
    return false;
  in.at = program;

  Dwarf_Addr address = 0;
  uint32_t file = 1, sequence_first = unit->nrows;
  int line = 1;
  bool sequence_open = false;
  while (in.at < in.end && !in.bad) {
    unsigned opcode = *in.at++;
    bool emit = false, end_sequence = false;
    if (opcode >= opcode_base) {
      unsigned adjusted = opcode - opcode_base;
      address += (adjusted / line_range) * min_instruction_length;
      line += line_base + (int)(adjusted % line_range);
      emit = true;
    } else if (opcode == 0) { /* extended */
      uint64_t size = read_uleb(&in);
      if (size == 0 || size > (uint64_t)(in.end - in.at))
        return false;
      const unsigned char *next = in.at + size;
      unsigned sub = *in.at++;
      if (sub == 1) /* DW_LNE_end_sequence */
        emit = end_sequence = true;
      else if (sub == 2) /* DW_LNE_set_address */
        address = read_fixed(&in, (int)(size - 1 <= 8 ? size - 1 : 8));
      in.at = next;
    } else if (opcode == 1) { /* DW_LNS_copy */
      emit = true;
    } else if (opcode == 2) {
      address += read_uleb(&in) * min_instruction_length;
    } else if (opcode == 3) {
      line += (int)read_sleb(&in);
    } else if (opcode == 4) {
      file = (uint32_t)read_uleb(&in);
    } else if (opcode == 8) { /* DW_LNS_const_add_pc */
      address += ((255 - opcode_base) / line_range) * min_instruction_length;
    } else if (opcode == 9) { /* DW_LNS_fixed_advance_pc */
      address += read_fixed(&in, 2);
    } else {
      for (unsigned i = 0; i < standard_lengths[opcode]; i++)
        read_uleb(&in);
    }
    if (!emit)
      continue;
    if (!sequence_open) {
      sequence_open = true;
      sequence_first = unit->nrows;
    }
    if (!end_sequence) {
      if (!add_row(unit, address, file, line))
        return false;
      continue;
    }
    /* The sequence is whole: keep it if it starts in code. */
    uint32_t count = unit->nrows - sequence_first;
    if (count > 0 && in_code(code, unit->rows[sequence_first].address)) {
      if (!grow((void **)&unit->sequences, &unit->sequences_capacity, unit->nsequences,
                sizeof *unit->sequences))
        return false;
      unit->sequences[unit->nsequences++] =
          (line_sequence){unit->rows[sequence_first].address, address, sequence_first, count};
    } else {
      unit->nrows = sequence_first; /* dropped code: forget its rows */
    }
    sequence_open = false;
    address = 0;
    file = 1;
    line = 1;
  }
  return !in.bad;
}

static unit_lines *lines_of_unit(Dwfl_Module *module, Dwarf_Die *cu) {
  Dwarf_Addr bias = 0;
  Dwarf *dwarf = libdw.dwfl_module_getdwarf(module, &bias);
  Dwarf_Attribute attribute;
  Dwarf_Word offset = 0;
  if (!dwarf || libdw.dwarf_formudata(libdw.dwarf_attr(cu, DW_AT_stmt_list, &attribute), &offset))
    return NULL;
  unit_lines probe;
  memset(&probe, 0, sizeof probe);
  probe.key.dwarf = dwarf;
  probe.key.offset = offset;
  unit_lines *unit = NULL;
  HASH_FIND(hh, unit_cache, &probe.key, sizeof probe.key, unit);
  if (unit)
    return unit;
  unit = lw_mem_alloc(sizeof *unit);
  if (!unit)
    return NULL;
  unit->key = probe.key;
  Elf_Data *data = NULL;
  code_ranges code;
  unit->usable = line_section(dwarf, &data, &code) && read_line_program(unit, data, offset, &code);
  HASH_ADD(hh, unit_cache, key, sizeof unit->key, unit);
  return unit;
}

/* The row for `address` (the module's own) in a sequence of `unit` that
 * holds it: the last row at or below it. */
static const line_row *row_at(const unit_lines *unit, Dwarf_Addr address) {
  for (uint32_t i = 0; i < unit->nsequences; i++) {
    const line_sequence *sequence = &unit->sequences[i];
    if (address < sequence->start || address >= sequence->end)
      continue;
    const line_row *rows = unit->rows + sequence->first;
    uint32_t low = 0, high = sequence->count; /* first row above: high */
    while (low < high) {
      uint32_t middle = low + (high - low) / 2;
      if (rows[middle].address <= address)
        low = middle + 1;
      else
        high = middle;
    }
    return low ? &rows[low - 1] : NULL;
  }
  return NULL;
}

/* Does the range of `die` around `address` (the module's own) start in
 * live code, in a sequence of `unit`? A dropped function's DIE claims
 * [0, size) and may be found first for an address of live code. */
static bool live_range(Dwarf_Die *die, Dwarf_Addr address, const unit_lines *unit) {
  Dwarf_Addr base, start, end;
  ptrdiff_t offset = 0;
  while ((offset = libdw.dwarf_ranges(die, offset, &base, &start, &end)) > 0)
    if (address >= start && address < end)
      return row_at(unit, start) != NULL;
  return false;
}

typedef struct source_line {
  const char *file; /* libdw's string, or NULL */
  int line;
  bool live; /* the address is in live code of the unit: inline frames may be trusted */
} source_line;

/* file:line of `address` (biased, as the process sees it). */
static source_line line_at(Dwfl_Module *module, Dwarf_Addr address) {
  source_line result = {NULL, 0, false};
  Dwarf_Addr bias = 0;
  Dwarf_Die *cu = libdw.dwfl_module_addrdie(module, address, &bias);
  if (!cu)
    return result;
  unit_lines *unit = lines_of_unit(module, cu);
  if (!unit || !unit->usable) {
    /* Unreadable here: libdwfl's answer, if the unit's ranges hold it. */
    Dwfl_Line *line = libdw.dwarf_haspc(cu, address - bias) > 0
                          ? libdw.dwfl_module_getsrc(module, address)
                          : NULL;
    if (line)
      result.file = libdw.dwfl_lineinfo(line, &(Dwarf_Addr){0}, &result.line, NULL, NULL, NULL);
    result.live = result.file != NULL;
    return result;
  }
  const line_row *row = row_at(unit, address - bias);
  if (!row)
    return result;
  Dwarf_Files *files = NULL;
  size_t nfiles = 0;
  if (libdw.dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && row->file < nfiles)
    result.file = libdw.dwarf_filesrc(files, row->file, NULL, NULL);
  result.line = row->line;
  result.live = true;
  return result;
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
    return;            /* new libraries only: known addresses keep their meaning */
  forget_unit_lines(); /* keyed by libdw handles, which die with their modules */
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
  const unit_lines *unit = lines_of_unit(module, cu);
  if (unit && unit->usable && !live_range(&chain[count - 1], address - bias, unit))
    return 0; /* a dropped function's DIEs */
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
  source_line where = line_at(module, address);
  const char *file = where.file;
  int lineno = where.line;

  int count = where.live ? inline_frames(module, address, file, lineno, entry->frames) : 0;
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
