/*
 * snapshot.c - copy the live registry into a report.
 *
 * Three phases, so that no internal lock is held while libunwind or libdw
 * run (they take the loader's and malloc's locks):
 *  1. under the registry lock: list the records, copy what identifies each,
 *     and pin every thread that is blocked in a wait (ACTIVE -> INSPECTING:
 *     it cannot leave its wrapper, so its frames hold still);
 *  2. unlocked: unwind the pinned threads from their saved contexts, ask the
 *     running ones to unwind themselves (signal), copy held locks, unpin;
 *  3. symbolize every stack.
 * The registry stays pinned throughout: no record is freed under us.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <signal.h>

#include "lifecycle.h"
#include "options.h"
#include "stack.h"
#include "syscalls.h"
#include "symbols.h"
#include "evidence.h"
#include "signals.h"

/* The top of the main thread's stack, as the dynamic loader saw it. */
extern void *__libc_stack_end;

/* Raw, unsymbolized data gathered per thread in phase 2. */
typedef struct raw_thread {
  lw_thread *live;
  bool pinned;    /* its wait is ours to read until we give it back */
  lw_stack stack; /* wait stack (pinned) or current stack (running) */
  bool has_stack;
  uint32_t nheld;
  lw_held held[LW_HELD_MAX];
  uint16_t wait_call;
  uint32_t wait_target;
  int owner_tid;          /* glibc's owner field of the lock waited for, read while pinned */
  bool process_shared;    /* that lock is process-shared: its owner field decides */
  lw_create_stack create; /* copied: the record may be freed after the snapshot */
  uintptr_t start_address;
  uintptr_t stack_top; /* above its stack: the thread descriptor, or main's start-up stack end */
  lw_held *held_of;    /* per report held entry: the raw entry it came from */
} raw_thread;

/* The held list of `t`, which may be locking or unlocking meanwhile: an
 * entry may be a moment stale, never outside the list. */
static void copy_held(raw_thread *raw, lw_thread *t) {
  raw->nheld = lw_held_listed(t);
  memcpy(raw->held, lw_held_list(t), raw->nheld * sizeof *raw->held);
}

static void read_file_line(const char *path, char *out, size_t size) {
  out[0] = '\0';
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  ssize_t got = read(fd, out, size - 1);
  close(fd);
  if (got <= 0)
    return;
  out[got] = '\0';
  char *newline = strchr(out, '\n');
  if (newline)
    *newline = '\0';
}

static lw_frames symbolize(lw_report *r, const uintptr_t *pcs, uint32_t depth, bool first_exact) {
  lw_frames result = {0, NULL};
  if (depth == 0)
    return result;
  uint32_t capacity = depth * LW_SYMBOL_FRAMES_MAX;
  result.frames = lw_mem_arena_alloc(&r->arena, capacity * sizeof *result.frames);
  if (!result.frames)
    return result;
  for (uint32_t i = 0; i < depth && result.count < capacity; i++) {
    lw_symbol symbols[LW_SYMBOL_FRAMES_MAX];
    int count = lw_symbols_lookup(pcs[i], !(i == 0 && first_exact), symbols, LW_SYMBOL_FRAMES_MAX);
    for (int k = 0; k < count && result.count < capacity; k++) {
      lw_frame *f = &result.frames[result.count++];
      f->pc = pcs[i];
      f->function = symbols[k].function;
      f->offset = symbols[k].offset;
      f->module = symbols[k].module;
      f->file = symbols[k].file;
      f->line = symbols[k].line;
      f->inlined = symbols[k].inlined;
    }
  }
  return result;
}

lw_frames lw_snapshot_frames(lw_report *r, const uintptr_t *pcs, uint32_t depth) {
  return symbolize(r, pcs, depth, false);
}

/* Program counters without symbols yet (analysis compares them as they are). */
static lw_frames bare_frames(lw_report *r, const uintptr_t *pcs, uint32_t depth) {
  lw_frames result = {0, NULL};
  result.frames = depth ? lw_mem_arena_alloc(&r->arena, depth * sizeof *result.frames) : NULL;
  for (uint32_t i = 0; result.frames && i < depth; i++)
    result.frames[result.count++].pc = pcs[i];
  return result;
}

/* The name of a start routine; for one without a symbol (libstdc++'s
 * thread entry is local to a stripped library), module+offset. */
static const char *function_at(lw_report *r, uintptr_t address) {
  if (!address)
    return NULL;
  lw_symbol symbol;
  if (lw_symbols_lookup(address, 0, &symbol, 1) < 1)
    return NULL;
  if (symbol.function)
    return symbol.function;
  if (!symbol.module)
    return NULL;
  const char *base = strrchr(symbol.module, '/');
  char text[256];
  snprintf(text, sizeof text, "%s+0x%" PRIx64, base ? base + 1 : symbol.module, symbol.offset);
  return lw_mem_arena_strdup(&r->arena, text);
}

const char *lw_snapshot_function_name(lw_report *r, uintptr_t address) {
  return function_at(r, address);
}

/*
 * The stack where a held lock was taken: the call site, then the callers of
 * the function that made the call, found in the thread's present stack (the
 * innermost frame of that function). When that function has since returned,
 * only the call site is known.
 */
static void held_stack(lw_report *r, const raw_thread *raw, const lw_held *entry,
                       lw_report_held *out) {
  uintptr_t pcs[LW_STACK_MAX];
  uint32_t depth = 0;
  uintptr_t call_pc = lw_held_pc(entry);
  pcs[depth++] = call_pc;
  out->stack_partial = true;
  lw_symbol site;
  const char *function = lw_symbols_lookup(call_pc, 1, &site, 1) == 1 ? site.function : NULL;
  for (uint32_t i = 0; function && raw->has_stack && i < raw->stack.depth; i++) {
    lw_symbol now;
    if (lw_symbols_lookup(raw->stack.pc[i], !(i == 0 && raw->stack.first_exact), &now, 1) != 1 ||
        !now.function || strcmp(now.function, function) != 0)
      continue;
    for (uint32_t k = i + 1; k < raw->stack.depth && depth < (uint32_t)lw_opt.stack_depth; k++)
      pcs[depth++] = raw->stack.pc[k];
    out->stack_partial = false;
    break;
  }
  out->stack = symbolize(r, pcs, depth, false);
}

static bool holds_exclusively(const raw_thread *raw, const void *object) {
  for (uint32_t i = 0; i < raw->nheld; i++)
    if (raw->held[i].object == object && lw_held_kind(&raw->held[i]) != LW_LOCK_READ)
      return true;
  return false;
}

/* A lock wait: its owner is a lock holder (a join's is the joined thread). */
static bool wait_has_owner(enum lw_call call) {
  return lw_calls_has_owner(call) && !lw_calls_is_join(call);
}

/*
 * The kernel thread id glibc keeps in a lock for its exclusive owner:
 * pthread_mutex_t's __owner (mtx_t is the same object), a rwlock's
 * __cur_writer. 0 if none. It names the owner however many locks that
 * thread holds, and even in another process for a process-shared lock.
 * Read while the waiter is pinned: the object is alive.
 */
static int owner_field(enum lw_call call, const void *object, bool *process_shared) {
  int tid = 0;
  *process_shared = false;
  switch (lw_calls_object(call)) {
  case LW_OBJECT_MUTEX:
    tid = __atomic_load_n(&((const pthread_mutex_t *)object)->__data.__owner, __ATOMIC_RELAXED);
    /* PTHREAD_MUTEX_PSHARED_BIT of __kind */
    *process_shared = (((const pthread_mutex_t *)object)->__data.__kind & 128) != 0;
    break;
  case LW_OBJECT_RWLOCK:
    tid = (int)__atomic_load_n(&((const pthread_rwlock_t *)object)->__data.__cur_writer,
                               __ATOMIC_RELAXED);
    *process_shared = ((const pthread_rwlock_t *)object)->__data.__shared != 0;
    break;
  default:
    break;
  }
  /* Robust mutexes mark a dead owner (0x7fffffff) or an unrecoverable
   * state (0x7ffffffe): no thread. */
  return tid > 0 && tid < 0x7ffffffe ? tid : 0;
}

/* The process of thread `tid` (its Tgid), or 0 if /proc does not say. */
static int process_of(int tid) {
  char path[64], text[1024];
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t got = read(fd, text, sizeof text - 1);
  close(fd);
  if (got <= 0)
    return 0;
  text[got] = '\0';
  const char *line = strstr(text, "\nTgid:");
  return line ? atoi(line + 6) : 0;
}

/* Who last woke what `w` waits on, and how (evidence.h). */
static void last_wake(lw_report *r, lw_report_wait *w) {
  lw_evidence_wake wake;
  w->evidence = (int)lw_evidence_lookup_wake(w->object, &wake);
  w->signalled_by = wake.thread_id;
  if (w->evidence != LW_EVIDENCE_LAST || !wake.call)
    return;
  w->signal_call = wake.call;
  w->signal_waiters = wake.waiters;
  w->signal_count = wake.count;
  w->signal_stack = bare_frames(r, wake.pcs, wake.depth);
}

static bool is_join(enum lw_call call) { return lw_calls_is_join(call); }

/*
 * `seconds` since the epoch as "YYYY-MM-DDTHH:MM:SSZ", by arithmetic. Not
 * gmtime_r and strftime: both take glibc's time-zone lock, which fork does
 * not reset, so a child forked while another thread of its parent held it
 * (the helper's own deadlock check, say) would hang in its exit report.
 * The date is the proleptic Gregorian calendar counted in 400-year eras of
 * 146,097 days, with years starting in March so that leap days come last.
 */
static void format_utc(char *out, size_t size, int64_t seconds) {
  int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  int64_t second_of_day = seconds - days * 86400;
  int64_t from_march_0000 = days + 719468; /* 1970-01-01 is day 719,468 */
  int64_t era = (from_march_0000 >= 0 ? from_march_0000 : from_march_0000 - 146096) / 146097;
  int64_t day_of_era = from_march_0000 - era * 146097; /* [0, 146096] */
  /* [0, 399]: the era's leap days taken out, then plain 365-day years. */
  int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  int64_t month_from_march = (5 * day_of_year + 2) / 153; /* [0, 11]: March is 0 */
  int64_t day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
  int64_t month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
  int64_t year = year_of_era + era * 400 + (month <= 2);
  /* The modulos cost nothing and tell the compiler each field's width. */
  snprintf(out, size, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)year % 10000u,
           (unsigned)month % 13u, (unsigned)day % 32u, (unsigned)(second_of_day / 3600) % 24u,
           (unsigned)(second_of_day / 60) % 60u, (unsigned)second_of_day % 60u);
}

static void fill_header(lw_report *r, const char *trigger) {
  r->trigger = trigger;
  r->pid = getpid();
  r->uptime_ms = (lw_now_ns() - lw_start_ns) / 1000000u;
  if (r->unseen) {
    /* Nobody reads this header: no path, and no clock formatting (a
     * process's first snprintf is four page faults). */
    r->exe = "";
    return;
  }
  /* The path read at load (symbols.c: it must be readable after a
   * privilege drop too), not a second readlink at every report. */
  const char *exe = lw_symbols_exe_path();
  char now_read[LW_PATH_MAX];
  if (!exe[0]) {
    ssize_t len = readlink("/proc/self/exe", now_read, sizeof now_read - 1);
    now_read[len > 0 ? len : 0] = '\0';
    exe = now_read;
  }
  r->exe = lw_mem_arena_strdup(&r->arena, exe);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  format_utc(r->time, sizeof r->time, now.tv_sec);
}

/* The held lists do not name the owner of what `out` waits for: glibc's
 * owner field `tid` does, a thread of ours or of another process. */
static void owner_from_field(lw_report *r, lw_report_thread *out, int tid) {
  /* The waiter itself: glibc has just given it the lock, and it is on its
   * way out of the wait (a relock of a held mutex is found through the held
   * list). Not a cycle of one. */
  if (tid == out->tid)
    return;
  for (uint32_t k = 0; k < r->nthreads; k++) {
    if (r->threads[k].tid == tid && r->threads[k].state != LW_STATE_EXITED) {
      out->wait.has_owner = true;
      out->wait.owner = r->threads[k].id;
      out->wait.owner_unlisted = true;
      return;
    }
  }
  int pid = process_of(tid);
  if (pid > 0 && pid != r->pid) {
    out->wait.owner_tid = tid;
    out->wait.owner_pid = pid;
  }
}

void lw_snapshot_take(lw_report *r, const char *trigger, lw_thread *reporter) {
  fill_header(r, trigger);
  uint64_t now_ns = lw_now_ns();
  /* The process's name is its main thread's. The thread reporting reads
   * its own with prctl, a system call, not a file of /proc (three). */
  char process_comm[LW_NAME_MAX + 1] = "", own_comm[LW_NAME_MAX + 1] = "";
  const int own_tid = lw_gettid();
  if (!r->unseen) {
    if (prctl(PR_GET_NAME, own_comm, 0, 0, 0) != 0)
      own_comm[0] = '\0';
    if (own_tid == r->pid && own_comm[0])
      memcpy(process_comm, own_comm, sizeof process_comm);
    else
      read_file_line("/proc/self/comm", process_comm, sizeof process_comm);
  }

  /* Phase 1: list and pin. */
  lw_registry_pin();
  lw_registry_lock();
  uint32_t capacity = lw_registry_count();
  raw_thread *raws = lw_mem_arena_alloc(&r->arena, (capacity + 1) * sizeof *raws);
  r->threads = lw_mem_arena_alloc(&r->arena, (capacity + 1) * sizeof *r->threads);
  uint32_t n = 0;
  for (lw_thread *t = lw_registry_first(); t && raws && r->threads && n < capacity;
       t = lw_registry_next(t)) {
    if (r->only && r->only != t)
      continue;
    uint32_t flags = atomic_load(&t->flags);
    lw_report_thread *out = &r->threads[n];
    raw_thread *raw = &raws[n];
    raw->live = t;
    out->id = t->id;
    out->tid = atomic_load(&t->tid);
    out->is_main = flags & LW_THREAD_MAIN;
    out->adopted = flags & LW_THREAD_ADOPTED;
    out->detached = flags & LW_THREAD_DETACHED;
    out->ignored = flags & LW_THREAD_IGNORED;
    out->is_reporter = t == reporter;
    out->has_parent = !out->is_main && !out->adopted;
    out->parent = t->parent_id;
    out->state = (flags & LW_THREAD_ENDED) ? LW_STATE_EXITED : LW_STATE_RUNNING;
    if (out->state == LW_STATE_EXITED)
      out->ended_ms_ago = t->end_ns ? (now_ns - t->end_ns) / 1000000u : 0;
    if (t->name[0])
      out->name = lw_mem_arena_strdup(&r->arena, t->name);
    raw->create = t->create_stack;
    raw->start_address = t->c11_start ? (uintptr_t)t->c11_start : (uintptr_t)t->start_routine;
    out->start_address = raw->start_address;
    /* glibc puts a thread's descriptor (its pthread_t) at the top of the
     * thread's stack block; the main thread's stack ends at the loader's
     * __libc_stack_end. Object names use the bound (snapshot_object_name). */
    raw->stack_top = (flags & LW_THREAD_MAIN) ? (uintptr_t)__libc_stack_end : (uintptr_t)t->handle;
    uint32_t expected = LW_WAIT_ACTIVE;
    raw->pinned = out->state != LW_STATE_EXITED &&
                  atomic_compare_exchange_strong(&t->wait.state, &expected, LW_WAIT_INSPECTING);
    n++;
  }
  lw_registry_unlock();
  r->nthreads = n;

  /* Phase 2: stacks and held locks, unlocked. */
  const lw_signals_interrupted *stopped =
      strcmp(trigger, "signal") == 0 ? lw_signals_interrupted_thread() : NULL;
  for (uint32_t i = 0; i < n; i++) {
    raw_thread *raw = &raws[i];
    lw_thread *t = raw->live;
    lw_report_thread *out = &r->threads[i];
    if (raw->pinned) {
      lw_wait *w = &t->wait;
      out->has_wait = true;
      out->state = w->timed ? LW_STATE_RUNNING : LW_STATE_BLOCKED;
      out->wait.call = lw_calls_name(w->call);
      out->wait.call_id = w->call;
      out->wait.object = w->object;
      out->wait.mutex = w->mutex;
      out->wait.timed = w->timed;
      out->wait.seq = w->seq;
      out->wait.waited_ms = lw_age_ns(now_ns, w->start_ns) / 1000000u;
      raw->wait_call = w->call;
      if (!wait_has_owner(w->call) && !is_join(w->call) && w->call != LW_CALL_pthread_barrier_wait)
        last_wake(r, &out->wait);
      raw->wait_target = w->target_id;
      raw->owner_tid = owner_field(w->call, w->object, &raw->process_shared);
      if (!r->no_stacks) {
        lw_stack_unwind_context(&w->context, false, &raw->stack, (uint32_t)lw_opt.stack_depth);
        raw->has_stack = true;
      }
      copy_held(raw, t);
      atomic_store(&w->state, LW_WAIT_ACTIVE); /* unpin */
      /* A timed wait is still "running": it will end by itself. */
      if (w->timed)
        out->state = LW_STATE_RUNNING;
      continue;
    }
    if (out->state == LW_STATE_EXITED) {
      if (r->only == t)
        copy_held(raw, t); /* what it ended holding (abandoned_lock) */
      continue;
    }
    if (out->adopted && out->tid && syscall(SYS_tgkill, getpid(), out->tid, 0) != 0 &&
        errno == ESRCH) {
      out->state = LW_STATE_EXITED; /* an adopted thread that ended unseen */
      continue;
    }
    if (r->no_stacks) {
      /* held list only */
    } else if (stopped && stopped->thread == t) {
      /* In a report signal's handler: where the signal found it. The
       * handler waits while its context is unwound: the frames stay put. */
      if (stopped->has_context) {
        unw_context_t context = stopped->context;
        lw_stack_unwind_context(&context, true, &raw->stack, (uint32_t)lw_opt.stack_depth);
      }
      raw->has_stack = raw->stack.depth > 0;
      out->syscall = stopped->syscall;
      if (out->syscall.where == LW_WHERE_SYSCALL)
        lw_syscalls_describe(r, &out->syscall, r->pid);
    } else if (t == reporter) {
      /* With stack pointers, so held locks anchor in it (stack.c). */
      lw_stack_capture_self(&raw->stack, (uint32_t)lw_opt.stack_depth);
      raw->has_stack = true;
    } else {
      /* no_signals still unwinds a thread blocked in a system call: that
       * one is read from memory, never signalled. */
      raw->has_stack = lw_stack_capture_thread(t, 100, !r->no_signals, &raw->stack, &out->syscall);
      if (out->syscall.where == LW_WHERE_SYSCALL)
        lw_syscalls_describe(r, &out->syscall, r->pid);
    }
    copy_held(raw, t);
  }

  /* Names: what pthread_setname_np set, else the kernel's comm when the
   * thread (or prctl) changed it from the process's. */
  for (uint32_t i = 0; i < n; i++) {
    lw_report_thread *out = &r->threads[i];
    if (r->unseen || out->name || out->state == LW_STATE_EXITED || !out->tid)
      continue;
    char path[64], comm[LW_NAME_MAX + 1];
    if (out->tid == own_tid && own_comm[0]) {
      memcpy(comm, own_comm, sizeof comm);
    } else {
      snprintf(path, sizeof path, "/proc/self/task/%d/comm", out->tid);
      read_file_line(path, comm, sizeof comm);
    }
    if (comm[0] && strcmp(comm, process_comm) != 0)
      out->name = lw_mem_arena_strdup(&r->arena, comm);
  }

  lw_registry_unpin();

  /* Owners and held locks; frames stay bare program counters until
   * lw_snapshot_symbolize(), which a report without findings never needs. */
  for (uint32_t i = 0; i < n; i++) {
    raw_thread *raw = &raws[i];
    lw_report_thread *out = &r->threads[i];
    out->create_stack = bare_frames(r, raw->create.pc, raw->create.depth);
    if (raw->has_stack) {
      lw_frames frames = bare_frames(r, raw->stack.pc, raw->stack.depth);
      if (out->has_wait)
        out->wait.stack = frames;
      else
        out->stack = frames;
    }
    uint32_t kept = raw->nheld;
    if (kept && (out->state != LW_STATE_EXITED || r->only)) {
      out->held = lw_mem_arena_alloc(&r->arena, kept * sizeof *out->held);
      raw->held_of = lw_mem_arena_alloc(&r->arena, kept * sizeof *raw->held_of);
      for (uint32_t k = 0; out->held && raw->held_of && k < kept; k++) {
        if (!raw->held[k].object)
          continue;
        raw->held_of[out->nheld] = raw->held[k];
        lw_report_held *h = &out->held[out->nheld++];
        h->object = raw->held[k].object;
        h->kind = lw_held_kind(&raw->held[k]);
        h->call = lw_lock_kind_calls[h->kind];
      }
    }
    if (out->has_wait && is_join(raw->wait_call) && raw->wait_target != LW_NO_THREAD) {
      out->wait.has_owner = true;
      out->wait.owner = raw->wait_target;
    } else if (out->has_wait && wait_has_owner(raw->wait_call) && raw->process_shared &&
               raw->owner_tid) {
      /* Another process may own it, and a held list copied by fork from
       * the thread that locked it before forking would name us. */
      owner_from_field(r, out, raw->owner_tid);
    } else if (out->has_wait && wait_has_owner(raw->wait_call)) {
      for (uint32_t k = 0; k < n; k++) {
        if (holds_exclusively(&raws[k], out->wait.object)) {
          out->wait.has_owner = true;
          out->wait.owner = r->threads[k].id;
          break;
        }
      }
      if (!out->wait.has_owner && raw->owner_tid)
        owner_from_field(r, out, raw->owner_tid);
    }
  }
  r->raw = raws;
  r->nraw = n;
}

/* A futex wait is made by a library (libstdc++'s std::latch, GLib's
 * g_cond_wait, Rust's futex_wait): the first frame outside libc, which made
 * the syscall() call, says which; past the standard library's reserved
 * helpers (std::__detail::__platform_wait...), to the call the program
 * made (std::latch::wait). NULL for other waits. */
/* "void std::__detail::__platform_wait<int>(...)": a name in the standard
 * library's reserved namespace, before its template arguments and
 * parameters (std::barrier<std::__empty_completion> is not one). */
static bool is_library_detail(const char *function) {
  size_t name_length = strcspn(function, "<(");
  const char *detail = strstr(function, "std::__");
  return detail && (size_t)(detail - function) < name_length;
}

static const char *library_call(int call, const lw_frames *stack) {
  if (lw_calls_object(call) != LW_OBJECT_FUTEX)
    return NULL;
  for (uint32_t i = 0; i < stack->count; i++) {
    const lw_frame *f = &stack->frames[i];
    const char *base = f->module ? strrchr(f->module, '/') : NULL;
    if (base && strncmp(base, "/libc.so", 8) == 0)
      continue;
    if (f->function && is_library_detail(f->function) && i + 1 < stack->count)
      continue;
    return f->function;
  }
  return NULL;
}

/*
 * std::thread's name: its callable. Every std::thread starts in libstdc++'s
 * execute_native_thread_routine, which calls the virtual
 * std::thread::_State_impl<...>::_M_run(), which invokes the callable
 * through std::__invoke and friends. In a stack of the thread, the first
 * frame inward of _M_run that is not the standard library's is the
 * callable: a function, a lambda's operator(), a functor's.
 */
static bool is_thread_run(const char *function) {
  return function && strncmp(function, "std::thread::_State_impl<", 25) == 0 &&
         strstr(function, ">::_M_run()") != NULL;
}

/* A lambda or functor is named by its class: "main::{lambda()#1}", not
 * "main::{lambda()#1}::operator()() const". */
static const char *callable_name(lw_report *r, const char *function) {
  const char *call = strstr(function, "::operator()(");
  if (!call)
    return function;
  char name[512];
  snprintf(name, sizeof name, "%.*s", (int)(call - function), function);
  return lw_mem_arena_strdup(&r->arena, name);
}

/* The first template argument after `open` (a '<'), when it names the
 * callable's own type (a lambda, a functor class) rather than only a
 * signature ("void (*)(int)", "void (ns::Worker::*)()"); else NULL. */
static const char *callable_type(lw_report *r, const char *open) {
  int depth = 0;
  const char *end = open + 1;
  for (; *end && !(depth == 0 && (*end == ',' || *end == '>')); end++)
    depth += (*end == '<' || *end == '(') - (*end == '>' || *end == ')');
  size_t length = (size_t)(end - (open + 1));
  bool lambda = memmem(open + 1, length, "lambda", 6) != NULL;
  if (!length || !*end || (!lambda && memchr(open + 1, '(', length)))
    return NULL;
  char name[512];
  snprintf(name, sizeof name, "%.*s", (int)length, open + 1);
  return lw_mem_arena_strdup(&r->arena, name);
}

/* In a stack of the thread: the first named frame inward of _M_run that is
 * not the standard library's, else the callable's type in _M_run's own
 * name ("..._Invoker<std::tuple<main::{lambda()#1}> >..._M_run()": a lambda
 * inlined into _M_run has only "operator()" for a name). */
static const char *callable_in_stack(lw_report *r, const lw_frames *stack) {
  for (uint32_t i = stack->count; i-- > 0;) {
    const char *run = stack->frames[i].function;
    if (!is_thread_run(run))
      continue;
    for (uint32_t k = i; k-- > 0;) {
      const lw_frame *f = &stack->frames[k];
      if (!f->function || lw_report_frame_is_std(f))
        continue;
      if (strncmp(f->function, "operator()", 10) != 0)
        return callable_name(r, f->function);
      break;
    }
    const char *tuple = strstr(run, "std::tuple<");
    return tuple ? callable_type(r, tuple + 10) : NULL;
  }
  return NULL;
}

/* Without such a stack (a thread that ended, a stack cut short): the type
 * std::thread's constructor was instantiated for, in the creation stack. */
static const char *callable_in_constructor(lw_report *r, const lw_frames *stack) {
  for (uint32_t i = 0; i < stack->count; i++) {
    const char *function = stack->frames[i].function;
    if (function && strncmp(function, "std::thread::thread<", 20) == 0)
      return callable_type(r, function + 19);
    if (function && strncmp(function, "thread<", 7) == 0)
      return callable_type(r, function + 6);
  }
  return NULL;
}

static bool in_libstdcxx(uintptr_t start_address) {
  lw_symbol symbol;
  if (!start_address || lw_symbols_lookup(start_address, 0, &symbol, 1) < 1 || !symbol.module)
    return false;
  const char *base = strrchr(symbol.module, '/');
  return strncmp(base ? base + 1 : symbol.module, "libstdc++", 9) == 0;
}

/*
 * Where `object` lives, said the way a debugger would: "on T0's stack, in
 * main" (the thread whose stack holds it, between its innermost stack
 * pointer and its stack's top, and the frame whose bracket holds it: from
 * its own stack pointer to its caller's), its variable ("queue_lock",
 * "accounts+48"), or "heap" (no stack and no module maps it). Stacks
 * first: libdwfl may stretch a module's bounds. Report time only.
 */
static const char *object_name(lw_report *r, const void *object) {
  uintptr_t address = (uintptr_t)object;
  if (!address)
    return NULL;
  char text[512];
  raw_thread *raws = r->raw;
  for (uint32_t i = 0; raws && i < r->nraw; i++) {
    const lw_stack *stack = &raws[i].stack;
    if (!raws[i].has_stack || stack->depth == 0 || !stack->sp[0] || address < stack->sp[0] ||
        address >= raws[i].stack_top)
      continue;
    const char *function = NULL;
    for (uint32_t k = 0; k + 1 < stack->depth; k++) {
      if (address >= stack->sp[k] && address < stack->sp[k + 1]) {
        lw_symbol frame;
        if (lw_symbols_lookup(stack->pc[k], !(k == 0 && stack->first_exact), &frame, 1) == 1)
          function = frame.function;
        break;
      }
    }
    int used = snprintf(text, sizeof text, "on T%u's stack", r->threads[i].id);
    if (function)
      snprintf(text + used, sizeof text - (size_t)used, ", in %s", function);
    return lw_mem_arena_strdup(&r->arena, text);
  }
  lw_symbol data;
  if (lw_symbols_data(address, &data)) {
    const char *base = data.module ? strrchr(data.module, '/') : NULL;
    if (data.function && data.offset)
      snprintf(text, sizeof text, "%s+%" PRIu64, data.function, data.offset);
    else if (data.function)
      snprintf(text, sizeof text, "%s", data.function);
    else
      snprintf(text, sizeof text, "%s+0x%" PRIx64,
               base ? base + 1 : (data.module ? data.module : "?"), data.offset);
    return lw_mem_arena_strdup(&r->arena, text);
  }
  return "heap";
}

const char *lw_snapshot_object_name(lw_report *r, const void *object) {
  return object_name(r, object);
}

void lw_snapshot_symbolize(lw_report *r) {
  raw_thread *raws = r->raw;
  if (!raws || r->symbolized)
    return;
  r->symbolized = true;
  lw_symbols_check_modules();
  for (uint32_t i = 0; i < r->nraw; i++) {
    raw_thread *raw = &raws[i];
    lw_report_thread *out = &r->threads[i];
    out->start = function_at(r, raw->start_address);
    out->create_stack = symbolize(r, raw->create.pc, raw->create.depth, false);
    if (raw->has_stack) {
      lw_frames frames = symbolize(r, raw->stack.pc, raw->stack.depth, raw->stack.first_exact);
      if (out->has_wait) {
        out->wait.stack = frames;
        out->wait.through = library_call(out->wait.call_id, &frames);
      } else {
        out->stack = frames;
      }
    }
    for (uint32_t k = 0; k < out->nheld; k++)
      held_stack(r, raw, &raw->held_of[k], &out->held[k]);
    if (out->has_wait && out->wait.signal_stack.count) {
      /* bare return addresses until now */
      uintptr_t pcs[LW_EVIDENCE_STACK_MAX];
      uint32_t depth = 0;
      for (; depth < out->wait.signal_stack.count && depth < LW_EVIDENCE_STACK_MAX; depth++)
        pcs[depth] = out->wait.signal_stack.frames[depth].pc;
      out->wait.signal_stack = symbolize(r, pcs, depth, false);
    }
    if (in_libstdcxx(raw->start_address)) {
      const char *callable = callable_in_stack(r, out->has_wait ? &out->wait.stack : &out->stack);
      if (!callable)
        callable = callable_in_constructor(r, &out->create_stack);
      if (callable)
        out->start = callable;
    }
  }
  /* Object names last: a stack object is found in every thread's frames. */
  for (uint32_t i = 0; i < r->nraw; i++) {
    lw_report_thread *out = &r->threads[i];
    if (out->has_wait && is_join(out->wait.call_id)) {
      /* The object is the joined thread's handle: that thread is its name. */
      char text[32];
      snprintf(text, sizeof text, "T%u", out->wait.owner);
      out->wait.object_name = out->wait.has_owner ? lw_mem_arena_strdup(&r->arena, text) : NULL;
    } else if (out->has_wait) {
      out->wait.object_name = object_name(r, out->wait.object);
      out->wait.mutex_name = object_name(r, out->wait.mutex);
    }
    for (uint32_t k = 0; k < out->nheld; k++)
      out->held[k].object_name = object_name(r, out->held[k].object);
  }
  /* The objects of the findings' events, by the same rules. */
  for (uint32_t i = 0; i < r->nfindings; i++)
    for (uint32_t k = 0; k < r->findings[i].nevents; k++) {
      lw_report_event *e = &r->findings[i].events[k];
      const lw_report_thread *t = lw_report_thread_by_id(r, e->thread);
      if (e->role == LW_EVENT_WAITS && t && t->has_wait)
        e->object_name = t->wait.object_name; /* a join's is the joined thread */
      else if (e->object && !e->object_name)
        e->object_name = object_name(r, e->object);
    }
}
