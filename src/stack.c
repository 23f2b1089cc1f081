/*
 * stack.c - libunwind capture, own-frame filtering, and the stacks of other
 * threads: from memory for one blocked in a system call, by a signal for
 * one running in user space.
 */
#define _GNU_SOURCE
#include "stack.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <unwind.h>

#include "loader.h"
#include "options.h"

#define LW_MAX_TEXT_RANGES 4
static struct {
  uintptr_t start, end;
} own_text[LW_MAX_TEXT_RANGES], loader_text[LW_MAX_TEXT_RANGES];
static int own_text_count, loader_text_count;

static int find_text(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  uintptr_t own_base = *(const uintptr_t *)data;
  bool is_own = info->dlpi_addr == own_base;
  bool is_loader = info->dlpi_name && strstr(info->dlpi_name, "/ld-linux") != NULL;
  if (!is_own && !is_loader)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
      continue;
    uintptr_t start = info->dlpi_addr + ph->p_vaddr;
    if (is_own && own_text_count < LW_MAX_TEXT_RANGES) {
      own_text[own_text_count].start = start;
      own_text[own_text_count++].end = start + ph->p_memsz;
    } else if (is_loader && loader_text_count < LW_MAX_TEXT_RANGES) {
      loader_text[loader_text_count].start = start;
      loader_text[loader_text_count++].end = start + ph->p_memsz;
    }
  }
  return 0;
}

bool lw_stack_is_own(uintptr_t pc) {
  for (int i = 0; i < own_text_count; i++)
    if (pc >= own_text[i].start && pc < own_text[i].end)
      return true;
  return false;
}

static bool is_in_loader(uintptr_t pc) {
  for (int i = 0; i < loader_text_count; i++)
    if (pc >= loader_text[i].start && pc < loader_text[i].end)
      return true;
  return false;
}

/* Keep the frames outside the shim, in order, at most `max`. */
static uint32_t drop_own_frames(uintptr_t *pcs, uintptr_t *sps, uint32_t depth, uint32_t max) {
  uint32_t kept = 0;
  for (uint32_t i = 0; i < depth && kept < max; i++) {
    if (lw_stack_is_own(pcs[i]))
      continue;
    pcs[kept] = pcs[i];
    if (sps)
      sps[kept] = sps[i];
    kept++;
  }
  return kept;
}

/*
 * libunwind is loaded with dlopen when first needed, not linked: a process
 * that never reports, whose threads capture few stacks, never maps it nor
 * liblzma behind it (10 page faults at start, 25-30 us each on a VM). It
 * is loaded only where a dlopen cannot hurt the program, never from a
 * wrapper (a dlopen holds the loader's lock while it runs constructors;
 * a thread inside pthread_mutex_lock must not wait for that): by a report,
 * on the thread that makes it (which loads libdw there too); by the helper
 * thread, when a program thread has captured enough stacks to want it
 * (lw_stack_init's `request`); and before chroot (lifecycle.c), after
 * which its file may be out of reach. Each function used is one line,
 * typed by libunwind's own header, named by the symbol its macro names.
 */
#define LW_LIBUNWIND_FUNCTIONS(X)                                                                  \
  X(backtrace, unw_backtrace)                                                                      \
  X(getcontext, unw_tdep_getcontext)                                                               \
  X(init_local, unw_init_local)                                                                    \
  X(init_local2, unw_init_local2)                                                                  \
  X(step, unw_step)                                                                                \
  X(get_reg, unw_get_reg)                                                                          \
  X(get_proc_info, unw_get_proc_info)

#define LW_LIBUNWIND_FIELD(field, symbol) __typeof__(symbol) *field;
static struct { LW_LIBUNWIND_FUNCTIONS(LW_LIBUNWIND_FIELD) } libunwind;
#undef LW_LIBUNWIND_FIELD

enum { UNWINDER_NOT_LOADED, UNWINDER_LOADING, UNWINDER_READY, UNWINDER_UNAVAILABLE };
static _Atomic int unwinder_state;
static void (*request_helper_job)(void (*job)(void));

/*
 * libunwind's thread-local storage (its trace cache's pointer): loaded
 * with dlopen, it is given to each thread by glibc at the thread's first
 * use, with malloc. That first use must not be in a signal handler, which
 * may have stopped the thread inside malloc: a thread uses unw_backtrace
 * only once its storage was set up at a point that is surely not a handler
 * (lw_stack_safe_point: its start, its pthread_create calls).
 */
typedef struct lw_tls_index {
  unsigned long module, offset;
} lw_tls_index;
extern void *__tls_get_addr(lw_tls_index *index);
static size_t unwinder_tls_module; /* 0: libunwind has none */
static LW_TLS bool unwinder_tls_here;

static bool unwinder_ready(void) {
  return atomic_load_explicit(&unwinder_state, memory_order_acquire) == UNWINDER_READY;
}

#define LW_STRINGIFY_EXPANDED(x) #x
#define LW_STRINGIFY(x) LW_STRINGIFY_EXPANDED(x)

static bool open_libunwind(void) {
  void *library = lw_loader_open("libunwind.so.8", "the stacks of blocked threads are missing");
  if (!library)
    return false;
#define LW_LIBUNWIND_RESOLVE(field, symbol)                                                        \
  if (!(*(void **)&libunwind.field = dlsym(library, LW_STRINGIFY(symbol))))                        \
    return false;
  LW_LIBUNWIND_FUNCTIONS(LW_LIBUNWIND_RESOLVE)
#undef LW_LIBUNWIND_RESOLVE
  if (dlinfo(library, RTLD_DI_TLS_MODID, &unwinder_tls_module) != 0)
    unwinder_tls_module = 0;
  /* libunwind sets itself up at its first use: let that be here, not in
   * a capture signal's handler. */
  unw_context_t context;
  unw_cursor_t cursor;
  libunwind.getcontext(&context);
  lw_loader_enter(true);
  libunwind.init_local(&cursor, &context);
  lw_loader_leave();
  return true;
}

bool lw_stack_load_unwinder(void) {
  int state = atomic_load_explicit(&unwinder_state, memory_order_acquire);
  if (state == UNWINDER_NOT_LOADED &&
      atomic_compare_exchange_strong(&unwinder_state, &state, UNWINDER_LOADING)) {
    int saved_errno = errno;
    state = open_libunwind() ? UNWINDER_READY : UNWINDER_UNAVAILABLE;
    errno = saved_errno;
    atomic_store_explicit(&unwinder_state, state, memory_order_release);
    return state == UNWINDER_READY;
  }
  while ((state = atomic_load_explicit(&unwinder_state, memory_order_acquire)) == UNWINDER_LOADING)
    sched_yield(); /* another thread's dlopen: a moment */
  return state == UNWINDER_READY;
}

void lw_stack_fork_child(void) {
  /* A fork taken while another thread was loading it (the loader gate
   * keeps the dlopen itself whole): nobody is loading it in the child. */
  int loading = UNWINDER_LOADING;
  atomic_compare_exchange_strong(&unwinder_state, &loading, UNWINDER_NOT_LOADED);
}

void lw_stack_safe_point(void) {
  if (LW_LIKELY(unwinder_tls_here) || !unwinder_ready())
    return;
  if (unwinder_tls_module) {
    lw_tls_index index = {unwinder_tls_module, 0};
    __tls_get_addr(&index);
  }
  unwinder_tls_here = true;
}

/* The helper's job: cheap once done. */
static void load_unwinder_job(void) {
  if (atomic_load_explicit(&unwinder_state, memory_order_relaxed) == UNWINDER_NOT_LOADED)
    lw_stack_load_unwinder();
}

/*
 * Two unwinders for the stack here and now, chosen by what a thread has
 * done so far. libunwind's unw_backtrace is the fastest once warm (0.1 us
 * for 10 frames), but its first call in a thread maps and fills a 256 KiB
 * trace cache (64 page faults: 1-2 ms on a busy VM), which a thread that
 * captures a few stacks, the main thread of a small test process above
 * all, never pays back. libgcc's _Unwind_Backtrace keeps no cache and
 * makes no system call (2 us for 10 frames; libgcc finds unwind tables
 * through glibc's _dl_find_object, without the loader lock). So a thread
 * starts with libgcc's and moves to libunwind's at its LW_TRACE_CACHE_AFTER-th
 * capture, where the cache pays for itself (asking the helper to load
 * libunwind then, and going on with libgcc's until it is).
 *
 * libgcc's unwinder is linked into the shim (-static-libgcc; its symbols
 * stay private, --exclude-libs): no libgcc_s to map and relocate at every
 * start (0.2 ms of a short process on the test VM, bench/README.md, fifth
 * round), and no other _Unwind_Backtrace can take its place (libunwind
 * exports one, a slower unw_step loop with two system calls a frame). Only
 * captures use it: the shim is C without exceptions, so a cancellation
 * unwinds through its frames with glibc's libgcc_s alone.
 */
#define LW_TRACE_CACHE_AFTER 64
static LW_TLS uint32_t captures_here;

typedef struct gcc_trace {
  uintptr_t *pcs;
  uint32_t depth, max;
} gcc_trace;

static _Unwind_Reason_Code gcc_frame(struct _Unwind_Context *context, void *data) {
  gcc_trace *trace = data;
  uintptr_t pc = (uintptr_t)_Unwind_GetIP(context);
  if (pc == 0 || trace->depth == trace->max)
    return _URC_END_OF_STACK;
  trace->pcs[trace->depth++] = pc;
  return _URC_NO_REASON;
}

uint32_t lw_stack_capture_here(uintptr_t *pcs, uint32_t max) {
  /* A few extra slots for the shim's own frames at the top. */
  uintptr_t all[LW_STACK_MAX + 8];
  uint32_t depth = 0;
  lw_loader_enter(true);
  if (captures_here < LW_TRACE_CACHE_AFTER || !unwinder_tls_here) {
    if (++captures_here == LW_TRACE_CACHE_AFTER && !unwinder_ready() && request_helper_job)
      request_helper_job(load_unwinder_job);
    gcc_trace trace = {all, 0, LW_ARRAY_SIZE(all)};
    _Unwind_Backtrace(gcc_frame, &trace);
    depth = trace.depth;
  } else if (unwinder_tls_here) { /* so libunwind is ready */
    void *raw[LW_STACK_MAX + 8];
    int got = libunwind.backtrace(raw, (int)LW_ARRAY_SIZE(raw));
    for (int i = 0; i < got; i++)
      all[depth++] = (uintptr_t)raw[i];
  }
  lw_loader_leave();
  uint32_t kept = drop_own_frames(all, NULL, depth, max);
  memcpy(pcs, all, kept * sizeof *pcs);
  return kept;
}

/*
 * The registers /proc/self/task/TID/syscall does not show (rbp, rbx,
 * r12-r15) point into this block, whose every word holds the address of
 * its middle. A frame that needs one of them (a frame-pointer-based CFA
 * with rbp never saved below it) finds a return address inside the block,
 * where the walk ends, rather than reading a wild address; an expression
 * that dereferences one lands in the block again.
 */
#define LW_UNKNOWN_WORDS 1024
LW_COLD static uintptr_t unknown_register_block[LW_UNKNOWN_WORDS];

static uintptr_t unknown_register(void) {
  return (uintptr_t)&unknown_register_block[LW_UNKNOWN_WORDS / 2];
}

/* Filled at the first unwind from memory, not at start-up (two pages a
 * process would touch for nothing). 0 empty, 1 filling, 2 ready. */
static _Atomic int unknown_block_state;

static void fill_unknown_block(void) {
  int expected = 0;
  if (atomic_load(&unknown_block_state) == 2)
    return;
  if (atomic_compare_exchange_strong(&unknown_block_state, &expected, 1)) {
    for (int i = 0; i < LW_UNKNOWN_WORDS; i++)
      unknown_register_block[i] = unknown_register();
    atomic_store(&unknown_block_state, 2);
    return;
  }
  while (atomic_load(&unknown_block_state) != 2)
    sched_yield();
}

static bool is_unknown_register(uintptr_t value) {
  return value >= (uintptr_t)unknown_register_block &&
         value < (uintptr_t)(unknown_register_block + LW_UNKNOWN_WORDS);
}

static void unwind_context(unw_context_t *context, bool signal_frame, lw_stack *out, uint32_t max) {
  unw_cursor_t cursor;
  uintptr_t pcs[LW_STACK_MAX + 8], sps[LW_STACK_MAX + 8];
  uint32_t depth = 0;
  out->depth = 0;
  out->first_exact = 0;
  if (!unwinder_ready() ||
      libunwind.init_local2(&cursor, context, signal_frame ? UNW_INIT_SIGNAL_FRAME : 0) < 0)
    return;
  do {
    unw_word_t ip = 0, sp = 0;
    if (libunwind.get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0 || is_unknown_register(ip))
      break;
    libunwind.get_reg(&cursor, UNW_REG_SP, &sp);
    pcs[depth] = ip;
    sps[depth] = sp;
    depth++;
  } while (depth < LW_ARRAY_SIZE(pcs) && libunwind.step(&cursor) > 0);
  /* The interrupted instruction of a signal frame is exact; every other pc
   * is a return address. Only frame 0 can be exact, and it is exact only if
   * it is the program's (not ours). */
  out->first_exact = signal_frame && depth > 0 && !lw_stack_is_own(pcs[0]);
  out->depth = drop_own_frames(pcs, sps, depth, max);
  memcpy(out->pc, pcs, out->depth * sizeof *pcs);
  memcpy(out->sp, sps, out->depth * sizeof *sps);
}

void lw_stack_unwind_context(unw_context_t *context, bool signal_frame, lw_stack *out,
                             uint32_t max) {
  lw_stack_load_unwinder();
  lw_loader_enter(true);
  unwind_context(context, signal_frame, out, max);
  lw_loader_leave();
}

/* Not inlined: the context is this frame's, which stays put while it is
 * unwound (and is the shim's, dropped by address). */
LW_NOINLINE void lw_stack_capture_self(lw_stack *out, uint32_t max) {
  out->depth = 0;
  out->first_exact = 0;
  if (!lw_stack_load_unwinder())
    return;
  unw_context_t context;
  libunwind.getcontext(&context);
  lw_loader_enter(true);
  unwind_context(&context, false, out, max);
  lw_loader_leave();
}

bool lw_stack_context_unwindable(const void *ucontext_raw) {
  const ucontext_t *uc = ucontext_raw;
  return !is_in_loader((uintptr_t)uc->uc_mcontext.gregs[REG_RIP]);
}

/* ---- signal capture of a running thread ---- */

static int capture_signal;

int lw_stack_signal(void) { return capture_signal; }

bool lw_stack_unwind_interrupted(void *ucontext_raw, lw_stack *out) {
  ucontext_t *uc = ucontext_raw;
  uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  /* Interrupted inside the dynamic loader, it may hold the lock that
   * libunwind's dl_iterate_phdr takes; or a fork is under way, maybe in
   * this very thread: no stack rather than a deadlock. */
  if (is_in_loader(pc) || !lw_loader_enter(false)) {
    out->depth = 0;
    return false;
  }
  lw_thread *inside = lw_shim_enter();
  unwind_context((unw_context_t *)uc, true, out, (uint32_t)lw_opt.stack_depth);
  lw_shim_leave(inside);
  lw_loader_leave();
  return true;
}

static void (*outside_request)(int value);

static void capture_handler(int signo, siginfo_t *info, void *ucontext_raw) {
  (void)signo;
  int saved_errno = errno;
  /* Queued from another process (the shim's own captures are tgkill's,
   * SI_TKILL): a request for the helper thread. */
  if (info && info->si_code == SI_QUEUE && info->si_pid != getpid()) {
    if (outside_request)
      outside_request(info->si_value.sival_int);
    errno = saved_errno;
    return;
  }
  lw_thread *t = lw_self_any();
  uint32_t expected = LW_CAPTURE_REQUESTED;
  if (t && atomic_compare_exchange_strong(&t->capture_state, &expected, LW_CAPTURE_RUNNING)) {
    lw_stack_unwind_interrupted(ucontext_raw, &t->now_stack);
    atomic_store(&t->capture_state, LW_CAPTURE_DONE);
  }
  errno = saved_errno;
}

/* Ask thread `t`, running in user space, to unwind itself into
 * t->now_stack; waits up to timeout_ms. */
static bool capture_by_signal(lw_thread *t, int tid, int timeout_ms) {
  /* Loaded (and set up) here, never in the handler. */
  if (!capture_signal || !lw_stack_load_unwinder())
    return false;
  atomic_store(&t->capture_state, LW_CAPTURE_REQUESTED);
  if (syscall(SYS_tgkill, getpid(), tid, capture_signal) != 0) {
    atomic_store(&t->capture_state, LW_CAPTURE_NONE);
    return false;
  }
  uint64_t deadline = lw_now_ns() + (uint64_t)timeout_ms * 1000000u;
  while (atomic_load(&t->capture_state) != LW_CAPTURE_DONE) {
    if (lw_now_ns() > deadline) {
      /* Too late: a handler that runs now must not write. */
      uint32_t expected = LW_CAPTURE_REQUESTED;
      if (atomic_compare_exchange_strong(&t->capture_state, &expected, LW_CAPTURE_NONE))
        return false;
      /* The handler is unwinding: that ends soon, wait for it. */
      deadline = UINT64_MAX;
    }
    struct timespec pause = {0, 200000};
    nanosleep(&pause, NULL);
  }
  atomic_store(&t->capture_state, LW_CAPTURE_NONE);
  return true;
}

/* One reading of /proc/self/task/TID/syscall. */
typedef struct syscall_file {
  char text[256]; /* as read: two readings that agree saw the same call */
  enum lw_thread_where where;
  long number;
  uint64_t args[6];
  uintptr_t sp, pc;
} syscall_file;

/* The file holds "running" (on a CPU now), "-1 SP PC" (off a CPU, but not
 * in a system call: preempted, or in a page fault), or "NR A1 ... A6 SP PC"
 * (the number in decimal, the rest in hex). False if unreadable. */
static bool read_syscall_file(int tid, syscall_file *out) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t got;
  do
    got = read(fd, out->text, sizeof out->text - 1);
  while (got < 0 && errno == EINTR);
  close(fd);
  if (got <= 0)
    return false;
  out->text[got] = '\0';
  out->where = LW_WHERE_USER;
  out->number = -1;
  if (strncmp(out->text, "running", 7) == 0)
    return true;
  char *cursor = out->text, *end;
  out->number = strtol(cursor, &end, 10);
  if (end == cursor)
    return false;
  unsigned long long fields[8];
  int count = 0;
  for (cursor = end; count < 8; cursor = end) {
    fields[count] = strtoull(cursor, &end, 16);
    if (end == cursor)
      break;
    count++;
  }
  if (out->number < 0) {
    if (count != 2)
      return false;
    out->sp = (uintptr_t)fields[0];
    out->pc = (uintptr_t)fields[1];
    return true;
  }
  if (count != 8)
    return false;
  out->where = LW_WHERE_SYSCALL;
  for (int i = 0; i < 6; i++)
    out->args[i] = fields[i];
  out->sp = (uintptr_t)fields[6];
  out->pc = (uintptr_t)fields[7];
  return true;
}

/* Our own memory, read without the risk of a fault: fails instead. */
static size_t read_own(uintptr_t address, void *buffer, size_t size) {
  struct iovec local = {buffer, size}, remote = {(void *)address, size};
  ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
  return got > 0 ? (size_t)got : 0;
}

/* True if `ra` is the return address of a direct call (e8 rel32) to
 * `target`. */
static bool returns_from_call_to(uintptr_t ra, uintptr_t target) {
  unsigned char code[5];
  if (read_own(ra - 5, code, sizeof code) != sizeof code || code[0] != 0xe8)
    return false;
  int32_t relative;
  memcpy(&relative, code + 1, sizeof relative);
  return ra + (uintptr_t)(intptr_t)relative == target;
}

/*
 * A function that keeps a frame pointer (CFA = rbp + 16) cannot be stepped
 * out of without rbp, which the kernel does not show. Its frame record
 * (the caller's rbp, then the return address) lies above its stack
 * pointer `sp`, at an unknown distance: take the first pair whose return
 * address follows a direct call to this very function `start` and whose
 * saved rbp is 0 or higher up the stack. Stale words of an earlier call
 * could match only if they were a direct call to the same function, left
 * inside its present frame.
 */
static bool find_frame_record(uintptr_t sp, uintptr_t start, uintptr_t record[2], uintptr_t *at) {
  /* 32 KiB of frame at most, read 2 KiB at a time: the reporting thread
   * may run on a small stack. Chunks overlap by a word, for pairs that
   * straddle two. */
  uintptr_t window[256];
  for (uintptr_t base = sp; start && base < sp + 32 * 1024;
       base += (LW_ARRAY_SIZE(window) - 1) * sizeof *window) {
    size_t words = read_own(base, window, sizeof window) / sizeof *window;
    for (size_t i = 0; i + 1 < words; i++) {
      uintptr_t address = base + i * sizeof *window;
      uintptr_t saved = window[i], ra = window[i + 1];
      if (saved != 0 && (saved <= address || saved - address > ((uintptr_t)1 << 24)))
        continue;
      if (!returns_from_call_to(ra, start))
        continue;
      record[0] = saved;
      record[1] = ra;
      *at = address;
      return true;
    }
    if (words < LW_ARRAY_SIZE(window))
      break; /* the end of the stack's mapping */
  }
  return false;
}

/* Unwind a thread blocked in a system call from its stack pointer and
 * program counter alone. Its stack is our memory and holds still while
 * the call blocks; the caller checks afterwards that it still does. The
 * walk goes in legs: each ends where a frame needs a register nobody
 * knows, and the next starts from that frame's frame record, if found. */
static void unwind_blocked(const syscall_file *at, lw_stack *out, uint32_t max) {
  uintptr_t pcs[LW_STACK_MAX + 8], sps[LW_STACK_MAX + 8];
  uint32_t depth = 0;
  uintptr_t sp = at->sp, pc = at->pc, rbp = unknown_register();
  out->depth = 0;
  out->first_exact = 0;
  if (!lw_stack_load_unwinder())
    return;
  lw_loader_enter(true); /* before the fill: no fork while it is half done */
  fill_unknown_block();
  for (int leg = 0; leg < 16 && depth < LW_ARRAY_SIZE(pcs); leg++) {
    unw_context_t context;
    libunwind.getcontext(&context); /* a well-formed context; the registers are replaced */
    greg_t *regs = ((ucontext_t *)&context)->uc_mcontext.gregs;
    for (int i = 0; i < NGREG; i++)
      regs[i] = (greg_t)unknown_register();
    regs[REG_RSP] = (greg_t)sp;
    regs[REG_RIP] = (greg_t)pc;
    regs[REG_RBP] = (greg_t)rbp;
    unw_cursor_t cursor;
    /* The first leg as a signal frame: its pc is where the call resumes,
     * not a return address. */
    if (libunwind.init_local2(&cursor, &context, leg == 0 ? UNW_INIT_SIGNAL_FRAME : 0) < 0)
      break;
    bool stuck = false;
    uintptr_t start = 0;
    for (;;) {
      unw_word_t ip = 0, frame_sp = 0;
      if (libunwind.get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0)
        break;
      if (is_unknown_register(ip)) {
        stuck = true;
        break;
      }
      libunwind.get_reg(&cursor, UNW_REG_SP, &frame_sp);
      unw_proc_info_t info;
      start = libunwind.get_proc_info(&cursor, &info) == 0 ? (uintptr_t)info.start_ip : 0;
      pcs[depth] = ip;
      sps[depth] = frame_sp;
      if (++depth == LW_ARRAY_SIZE(pcs) || libunwind.step(&cursor) <= 0)
        break;
    }
    uintptr_t record[2], record_at;
    if (!stuck || depth == 0 || !find_frame_record(sps[depth - 1], start, record, &record_at))
      break;
    rbp = record[0] ? record[0] : unknown_register();
    pc = record[1];
    sp = record_at + 2 * sizeof(uintptr_t);
  }
  lw_loader_leave();
  out->first_exact = depth > 0 && !lw_stack_is_own(pcs[0]);
  out->depth = drop_own_frames(pcs, sps, depth, max);
  memcpy(out->pc, pcs, out->depth * sizeof *pcs);
  memcpy(out->sp, sps, out->depth * sizeof *sps);
}

bool lw_stack_in_syscall(int tid, lw_report_syscall *call, uint64_t *signature) {
  syscall_file now;
  if (tid == 0 || !read_syscall_file(tid, &now) || now.where != LW_WHERE_SYSCALL)
    return false;
  call->where = LW_WHERE_SYSCALL;
  call->number = now.number;
  memcpy(call->args, now.args, sizeof call->args);
  *signature = (uint64_t)now.number * 31 + now.sp * 17 + now.pc;
  return true;
}

bool lw_stack_capture_thread(lw_thread *t, int timeout_ms, bool may_signal, lw_stack *out,
                             lw_report_syscall *where) {
  int tid = atomic_load(&t->tid);
  where->where = LW_WHERE_UNKNOWN;
  if (tid == 0)
    return false;
  /* A thread that moves between the readings is looked at again. */
  for (int attempt = 0; attempt < 4; attempt++) {
    syscall_file before, after;
    if (!read_syscall_file(tid, &before))
      return false; /* ended, or no such file: nothing tells a signal is safe */
    if (before.where == LW_WHERE_USER) {
      where->where = LW_WHERE_USER;
      if (!may_signal)
        return false;
      /* "running" also covers a thread on its way into a call: look once
       * more a moment later, and signal only if it is still in user space
       * (a thread about to sleep is asleep by then). */
      struct timespec moment = {0, 1000000};
      nanosleep(&moment, NULL);
      if (!read_syscall_file(tid, &after))
        return false;
      if (after.where != LW_WHERE_USER)
        continue;
      if (!capture_by_signal(t, tid, timeout_ms))
        return false;
      *out = t->now_stack;
      return true;
    }
    unwind_blocked(&before, out, (uint32_t)lw_opt.stack_depth);
    if (!read_syscall_file(tid, &after) || strcmp(before.text, after.text) != 0)
      continue;
    where->where = LW_WHERE_SYSCALL;
    where->number = before.number;
    memcpy(where->args, before.args, sizeof where->args);
    return true;
  }
  out->depth = 0;
  return false;
}

/*
 * Nothing of libunwind runs at start-up, nor is it loaded: its first use
 * sets up its caches and a pipe (page faults and system calls a process
 * that never unwinds with it should not pay). Its caching policy stays the default,
 * UNW_CACHE_GLOBAL: Debian's libunwind is built without per-thread caches,
 * and there UNW_CACHE_PER_THREAD means the one global cache used without
 * its lock, by every unwinding thread at once.
 */
void lw_stack_init(void (*request)(void (*job)(void)), void (*outside)(int value)) {
  request_helper_job = request;
  outside_request = outside;
  uintptr_t own_base = 0;
  struct dl_find_object own; /* not dladdr: no loader lock, no symbol search */
  if (_dl_find_object((void *)&lw_stack_init, &own) == 0 && own.dlfo_link_map)
    own_base = (uintptr_t)own.dlfo_link_map->l_addr;
  lw_loader_iterate(find_text, &own_base);
  /* A real-time signal the program is unlikely to use; SA_RESTART so that
   * restartable calls the thread was in carry on. */
  capture_signal = SIGRTMAX - 3;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = capture_handler;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sigaction(capture_signal, &action, NULL) != 0)
    capture_signal = 0;
}
