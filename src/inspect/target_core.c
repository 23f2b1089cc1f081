/*
 * target_core.c - a core file (gcore's, or the kernel's): its threads from
 * the NT_PRSTATUS notes (registers, so the system call each was in), their
 * stacks through libdwfl's core support, memory from the PT_LOAD segments.
 * The program and its libraries are found by build id and the core's file
 * notes, or given with --exe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/reg.h>
#include <unistd.h>

#include "inspect.h"

static bool core_read(lw_inspect_target *target, uintptr_t address, void *out, size_t size) {
  Elf *elf = target->core_elf;
  size_t nphdr;
  if (elf_getphdrnum(elf, &nphdr) != 0)
    return false;
  for (size_t i = 0; i < nphdr; i++) {
    GElf_Phdr phdr;
    if (!gelf_getphdr(elf, (int)i, &phdr) || phdr.p_type != PT_LOAD)
      continue;
    if (address < phdr.p_vaddr || address + size > phdr.p_vaddr + phdr.p_filesz)
      continue;
    Elf_Data *data = elf_getdata_rawchunk(elf, (int64_t)(phdr.p_offset + (address - phdr.p_vaddr)),
                                          size, ELF_T_BYTE);
    if (!data || data->d_size < size)
      return false;
    memcpy(out, data->d_buf, size);
    return true;
  }
  return false;
}

typedef struct main_module {
  const char *fname; /* pr_fname: the first 15 bytes of the program's name */
  Dwfl_Module *module;
  const char *path;
} main_module;

static int find_main(Dwfl_Module *module, void **userdata, const char *name, Dwarf_Addr start,
                     void *arg) {
  (void)userdata, (void)start;
  main_module *m = arg;
  const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
  if (!m->module && m->fname[0] && strncmp(base, m->fname, strlen(m->fname)) == 0) {
    m->module = module;
    m->path = name;
  }
  return DWARF_CB_OK;
}

int lw_inspect_core(lw_inspect_target *target, const char *core, const char *exe) {
  elf_version(EV_CURRENT);
  int fd = open(core, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "leakwatch: cannot open core %s: %s\n", core, strerror(errno));
    return LW_INSPECT_FAILED;
  }
  Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  GElf_Ehdr ehdr;
  if (!elf || !gelf_getehdr(elf, &ehdr) || ehdr.e_type != ET_CORE) {
    fprintf(stderr, "leakwatch: %s is not a core file (make one with gcore PID)\n", core);
    return LW_INSPECT_FAILED;
  }
  if (exe && access(exe, R_OK) != 0) {
    fprintf(stderr, "leakwatch: cannot read --exe %s: %s\n", exe, strerror(errno));
    return LW_INSPECT_FAILED;
  }
  target->core = true;
  target->core_elf = elf;
  target->core_fd = fd;
  target->read = core_read;

  /* The notes: the process, then one NT_PRSTATUS per thread. */
  size_t nphdr = 0;
  elf_getphdrnum(elf, &nphdr);
  char fname[sizeof((struct elf_prpsinfo *)0)->pr_fname + 1] = "";
  uint32_t capacity = 0;
  for (size_t i = 0; i < nphdr; i++) {
    GElf_Phdr phdr;
    if (!gelf_getphdr(elf, (int)i, &phdr) || phdr.p_type != PT_NOTE)
      continue;
    Elf_Data *data = elf_getdata_rawchunk(elf, (int64_t)phdr.p_offset, phdr.p_filesz, ELF_T_NHDR);
    if (!data)
      continue;
    size_t offset = 0, name_at, desc_at;
    GElf_Nhdr nhdr;
    while ((offset = gelf_getnote(data, offset, &nhdr, &name_at, &desc_at)) > 0) {
      const char *desc = (const char *)data->d_buf + desc_at;
      if (nhdr.n_type == NT_PRPSINFO && nhdr.n_descsz >= sizeof(struct elf_prpsinfo)) {
        const struct elf_prpsinfo *ps = (const void *)desc;
        memcpy(fname, ps->pr_fname, sizeof ps->pr_fname);
        target->pid = ps->pr_pid;
      } else if (nhdr.n_type == NT_PRSTATUS && nhdr.n_descsz >= sizeof(struct elf_prstatus)) {
        struct elf_prstatus status;
        memcpy(&status, desc, sizeof status);
        if (target->nthreads == capacity) {
          capacity = capacity ? capacity * 2 : 16;
          target->threads = realloc(target->threads, capacity * sizeof *target->threads);
          if (!target->threads)
            return LW_INSPECT_FAILED;
        }
        lw_inspect_thread *t = &target->threads[target->nthreads++];
        memset(t, 0, sizeof *t);
        t->tid = status.pr_pid;
        long result = (long)status.pr_reg[RAX];
        t->syscall = (long)status.pr_reg[ORIG_RAX];
        t->in_syscall = t->syscall >= 0 && result <= -512 && result >= -516;
        uint64_t args[6] = {status.pr_reg[RDI], status.pr_reg[RSI], status.pr_reg[RDX],
                            status.pr_reg[R10], status.pr_reg[R8],  status.pr_reg[R9]};
        memcpy(t->args, args, sizeof args);
      }
    }
  }
  if (target->nthreads == 0) {
    fprintf(stderr, "leakwatch: core %s has no threads (NT_PRSTATUS notes)\n", core);
    return LW_INSPECT_FAILED;
  }
  /* Main first, as in a live dump. */
  for (uint32_t i = 1; i < target->nthreads; i++)
    if (target->threads[i].tid == target->pid) {
      lw_inspect_thread main_thread = target->threads[i];
      memmove(&target->threads[1], &target->threads[0], i * sizeof *target->threads);
      target->threads[0] = main_thread;
    }
  if (!target->pid)
    target->pid = target->threads[0].tid;
  snprintf(target->threads[0].name, sizeof target->threads[0].name, "%s", fname);
  target->tasks = (int)target->nthreads;
  target->catches_signals = false; /* not in a core: the note says so */

  target->dwfl = dwfl_begin(&lw_inspect_core_callbacks);
  dwfl_report_begin(target->dwfl);
  int modules = dwfl_core_file_report(target->dwfl, elf, exe);
  dwfl_report_end(target->dwfl, NULL, NULL);
  main_module m = {fname, NULL, NULL};
  if (modules > 0)
    dwfl_getmodules(target->dwfl, find_main, &m, 0);
  Dwarf_Addr bias;
  if (!m.module || !dwfl_module_getelf(m.module, &bias)) {
    fprintf(stderr,
            "leakwatch: core %s: its program (%s%s) is not found or does not match the core "
            "(moved, rebuilt, or from another machine): give it with --exe PROGRAM\n",
            core, m.path ? m.path : fname, m.path ? "" : ", by name");
    return LW_INSPECT_FAILED;
  }
  /* The program's build id, from its file, against the copy the core's
   * memory holds at the same place. */
  const unsigned char *file_id = NULL;
  GElf_Addr id_address = 0;
  int id_length = dwfl_module_build_id(m.module, &file_id, &id_address);
  unsigned char core_id[64];
  if (id_length > 0 && id_length <= (int)sizeof core_id &&
      core_read(target, (uintptr_t)id_address, core_id, (size_t)id_length) &&
      memcmp(core_id, file_id, (size_t)id_length) != 0) {
    fprintf(stderr,
            "leakwatch: core %s was not made by %s (their build ids differ): give the program "
            "that dumped it with --exe PROGRAM\n",
            core, exe ? exe : m.path);
    return LW_INSPECT_FAILED;
  }
  snprintf(target->exe, sizeof target->exe, "%s", exe ? exe : m.path);
  if (dwfl_core_file_attach(target->dwfl, elf) < 0) {
    fprintf(stderr, "leakwatch: core %s: %s\n", core, dwfl_errmsg(-1));
    return LW_INSPECT_FAILED;
  }
  lw_inspect_warm_modules(target->dwfl);
  for (uint32_t i = 0; i < target->nthreads; i++) {
    lw_inspect_thread *t = &target->threads[i];
    dwfl_getthread_frames(target->dwfl, t->tid, lw_inspect_take_frame, t);
  }
  return 0;
}
