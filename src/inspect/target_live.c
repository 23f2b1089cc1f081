/*
 * target_live.c - a live process: stop it, read its threads, let it go.
 *
 * Every thread is stopped with PTRACE_SEIZE + PTRACE_INTERRUPT, which sends
 * no signal: the program's handlers, its parent's waitpid() and job control
 * see nothing, and a blocking call the stop interrupts is restarted by the
 * kernel when the thread goes on. The task list is read again until a pass
 * finds no new thread, so a thread created while we stop the others is
 * stopped too. Everything slow (reading ELF files, their unwind tables and
 * symbol tables) is done before the first thread stops, the file:line
 * lookups after the last one goes on. If this program dies while the
 * threads are stopped, the kernel detaches them and they run on.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "inspect.h"

#define STOP_TIMEOUT_MS 2000

typedef struct seized {
  int tid;
  int signal; /* a signal that arrived meanwhile: given back at the detach */
  bool stopped;
} seized;

static seized *seized_threads;
static uint32_t nseized, seized_capacity;
static uint64_t stop_started_ns;

static bool read_text(const char *path, char *out, size_t size) {
  FILE *f = fopen(path, "re");
  if (!f)
    return false;
  size_t got = fread(out, 1, size - 1, f);
  fclose(f);
  out[got] = '\0';
  return true;
}

static const char *status_field(const char *status, const char *key) {
  const char *line = strstr(status, key);
  return line ? line + strlen(key) : NULL;
}

/* One line that says why the kernel refused, and what to do about it. */
static int permission_failure(int pid, unsigned uid) {
  char text[32];
  int scope = -1;
  if (read_text("/proc/sys/kernel/yama/ptrace_scope", text, sizeof text))
    scope = atoi(text);
  if (scope == 3)
    fprintf(stderr,
            "leakwatch: cannot attach to process %d: kernel.yama.ptrace_scope=3 forbids "
            "attaching to any process until reboot (dump a core with gcore instead: "
            "leakwatch dump --core FILE)\n",
            pid);
  else if (scope == 2 && geteuid() != 0)
    fprintf(stderr,
            "leakwatch: cannot attach to process %d: kernel.yama.ptrace_scope=2 lets only root "
            "attach; run the dump as root (sudo leakwatch dump %d)\n",
            pid, pid);
  else if (uid != geteuid() && geteuid() != 0)
    fprintf(stderr,
            "leakwatch: cannot attach to process %d: it belongs to uid %u; run the dump as that "
            "user or as root (attaching needs CAP_SYS_PTRACE)\n",
            pid, uid);
  else if (scope == 1 && geteuid() != 0)
    fprintf(stderr,
            "leakwatch: cannot attach to process %d: kernel.yama.ptrace_scope=1 allows attaching "
            "only to your own children; run the dump as root (sudo leakwatch dump %d) or set "
            "kernel.yama.ptrace_scope=0\n",
            pid, pid);
  else
    fprintf(stderr,
            "leakwatch: cannot attach to process %d: not permitted (a setuid or non-dumpable "
            "program, or no CAP_SYS_PTRACE in this container); run the dump as root\n",
            pid);
  return LW_INSPECT_NO_PERMISSION;
}

void lw_inspect_release(lw_inspect_target *target) {
  for (uint32_t i = 0; i < nseized; i++)
    if (seized_threads[i].stopped)
      ptrace(PTRACE_DETACH, seized_threads[i].tid, NULL,
             (void *)(intptr_t)seized_threads[i].signal);
    else
      ptrace(PTRACE_DETACH, seized_threads[i].tid, NULL, NULL);
  if (nseized && target)
    target->stopped_ns = lw_now_ns() - stop_started_ns;
  nseized = 0;
}

static bool is_seized(int tid) {
  for (uint32_t i = 0; i < nseized; i++)
    if (seized_threads[i].tid == tid)
      return true;
  return false;
}

/* Wait until `s` is in a ptrace stop; false if it ended or would not stop. */
static bool wait_stopped(seized *s) {
  uint64_t deadline = lw_now_ns() + STOP_TIMEOUT_MS * 1000000ull;
  for (unsigned spins = 0;; spins++) {
    int status;
    pid_t got = waitpid(s->tid, &status, __WALL | WNOHANG);
    if (got == s->tid) {
      if (WIFEXITED(status) || WIFSIGNALED(status))
        return false;
      if (WIFSTOPPED(status)) {
        s->stopped = true;
        /* PTRACE_EVENT_STOP: our interrupt, or the group stop of a process
         * already stopped; any other stop is a signal on its way in. */
        if (status >> 16 != PTRACE_EVENT_STOP)
          s->signal = WSTOPSIG(status);
        return true;
      }
    } else if (got < 0 && errno != EINTR) {
      return false;
    }
    if (lw_now_ns() > deadline)
      return false;
    if (spins > 100) {
      struct timespec pause = {0, 200000};
      nanosleep(&pause, NULL);
    }
  }
}

/* Seize and stop every thread not stopped yet: all are interrupted first,
 * then waited for, so they stop together. Returns how many new ones, or -1
 * (the kernel refused: errno kept), -2 (a thread would not stop). */
static int stop_new_threads(int pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *dir = opendir(path);
  if (!dir)
    return 0;
  uint32_t first = nseized;
  struct dirent *entry;
  while ((entry = readdir(dir))) {
    int tid = atoi(entry->d_name);
    if (tid <= 0 || is_seized(tid))
      continue;
    if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0) {
      if (errno == ESRCH)
        continue; /* it ended meanwhile */
      int saved = errno;
      closedir(dir);
      errno = saved;
      return -1;
    }
    if (!stop_started_ns)
      stop_started_ns = lw_now_ns();
    if (nseized == seized_capacity) {
      seized_capacity = seized_capacity ? seized_capacity * 2 : 64;
      seized_threads = realloc(seized_threads, seized_capacity * sizeof *seized_threads);
      if (!seized_threads)
        abort();
    }
    seized_threads[nseized++] = (seized){tid, 0, false};
    ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
  }
  closedir(dir);
  uint32_t kept = first;
  for (uint32_t i = first; i < nseized; i++) {
    seized *s = &seized_threads[i];
    if (!wait_stopped(s)) {
      char stat_path[64], stat[512];
      snprintf(stat_path, sizeof stat_path, "/proc/%d/task/%d/stat", pid, s->tid);
      if (read_text(stat_path, stat, sizeof stat) && !strstr(stat, ") Z ") &&
          !strstr(stat, ") X ")) {
        nseized = kept + (nseized - i); /* keep the rest for the detach */
        memmove(&seized_threads[kept], s, (nseized - kept) * sizeof *s);
        return -2;
      }
      continue; /* it ended while we stopped it */
    }
    seized_threads[kept++] = *s;
  }
  nseized = kept;
  return (int)(kept - first);
}

static bool live_read(lw_inspect_target *target, uintptr_t address, void *out, size_t size) {
  /* What was read while the process was stopped, first. */
  for (uint32_t i = 0; i < target->nthreads; i++) {
    const lw_inspect_thread *t = &target->threads[i];
    if (t->window_size && address >= t->window_base &&
        address + size <= t->window_base + t->window_size) {
      memcpy(out, t->window + (address - t->window_base), size);
      return true;
    }
  }
  struct iovec local = {out, size}, remote = {(void *)address, size};
  return process_vm_readv(target->pid, &local, 1, &remote, 1, 0) == (ssize_t)size;
}

/* Signals whose handlers could wake a sleeping thread: not glibc's own
 * (SIGCANCEL, SIGSETXID) and not the faults a blocked thread cannot raise. */
static bool catches_wakeful_signals(const char *status) {
  const char *field = status_field(status, "SigCgt:");
  if (!field)
    return true;
  unsigned long long caught = strtoull(field, NULL, 16);
  caught &= ~((1ull << 31) | (1ull << 32));
  static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS};
  for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
    caught &= ~(1ull << (faults[i] - 1));
  return caught != 0;
}

int lw_inspect_take_frame(Dwfl_Frame *frame, void *arg) {
  lw_inspect_thread *t = arg;
  Dwarf_Addr pc;
  bool activation = false;
  if (!dwfl_frame_pc(frame, &pc, &activation))
    return DWARF_CB_ABORT;
  if (t->depth > 0 && pc == 0)
    return DWARF_CB_ABORT;
  t->pcs[t->depth++] = (uintptr_t)pc;
  return t->depth < LW_INSPECT_DEPTH ? DWARF_CB_OK : DWARF_CB_ABORT;
}

static uint64_t boot_uptime_ms(int pid) {
  char path[64], stat[1024], uptime[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (!read_text(path, stat, sizeof stat) || !read_text("/proc/uptime", uptime, sizeof uptime))
    return 0;
  const char *after_name = strrchr(stat, ')');
  if (!after_name)
    return 0;
  /* Field 22, starttime in clock ticks; the name ends field 2. */
  const char *p = after_name + 2;
  for (int field = 3; field < 22 && p; field++) {
    p = strchr(p, ' ');
    if (p)
      p++;
  }
  if (!p)
    return 0;
  double start_s = (double)strtoull(p, NULL, 10) / (double)sysconf(_SC_CLK_TCK);
  double now_s = strtod(uptime, NULL);
  return now_s > start_s ? (uint64_t)((now_s - start_s) * 1000.0) : 0;
}

int lw_inspect_live(lw_inspect_target *target, int pid) {
  char path[64], status[4096];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  if (!read_text(path, status, sizeof status)) {
    fprintf(stderr, "leakwatch: no such process: %d\n", pid);
    return LW_INSPECT_NO_PROCESS;
  }
  const char *tgid = status_field(status, "Tgid:");
  if (tgid && atoi(tgid) > 0)
    pid = atoi(tgid); /* a thread's id names its process */
  const char *state = status_field(status, "State:");
  if (state && (strstr(state, "Z (") || strstr(state, "X ("))) {
    fprintf(stderr, "leakwatch: no such process: %d (it has exited)\n", pid);
    return LW_INSPECT_NO_PROCESS;
  }
  const char *uid_field = status_field(status, "Uid:");
  unsigned uid = uid_field ? (unsigned)strtoul(uid_field, NULL, 10) : 0;
  const char *tracer = status_field(status, "TracerPid:");
  if (tracer && atoi(tracer) != 0) {
    fprintf(stderr,
            "leakwatch: cannot attach to process %d: it is being traced by process %d (a "
            "debugger?); detach that first\n",
            pid, atoi(tracer));
    return LW_INSPECT_NO_PERMISSION;
  }
  target->pid = pid;
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  ssize_t len = readlink(path, target->exe, sizeof target->exe - 1);
  if (len < 0 && (errno == EACCES || errno == EPERM))
    return permission_failure(pid, uid);
  target->exe[len > 0 ? len : 0] = '\0';
  target->read = live_read;

  /* Before the stop: every module, its unwind and symbol tables. */
  target->dwfl = dwfl_begin(&lw_inspect_proc_callbacks);
  if (!target->dwfl) {
    fprintf(stderr, "leakwatch: libdw: %s\n", dwfl_errmsg(-1));
    return LW_INSPECT_FAILED;
  }
  dwfl_report_begin(target->dwfl);
  int err = dwfl_linux_proc_report(target->dwfl, pid);
  dwfl_report_end(target->dwfl, NULL, NULL);
  if (err == EACCES || err == EPERM)
    return permission_failure(pid, uid);
  if (err == ENOENT || err == ESRCH) {
    fprintf(stderr, "leakwatch: no such process: %d (it has exited)\n", pid);
    return LW_INSPECT_NO_PROCESS;
  }
  lw_inspect_warm_modules(target->dwfl);
  target->uptime_ms = boot_uptime_ms(pid);

  /* The threads are ours to stop: libdwfl only reads them. */
  if (dwfl_linux_proc_attach(target->dwfl, pid, true) != 0) {
    fprintf(stderr, "leakwatch: process %d exited during the dump\n", pid);
    return LW_INSPECT_NO_PROCESS;
  }

  /* For the tests of a process that ends in the middle of a dump. */
  const char *pause_ms = getenv("LEAKWATCH_INSPECT_PAUSE_MS");
  if (pause_ms && atoi(pause_ms) > 0) {
    fprintf(stderr, "leakwatch-inspect: pausing %d ms before the stop\n", atoi(pause_ms));
    usleep((useconds_t)atoi(pause_ms) * 1000u);
  }

  /* The stop. */
  for (;;) {
    int added = stop_new_threads(pid);
    if (added == -1) {
      int saved = errno;
      lw_inspect_release(NULL);
      /* The kernel refuses to seize the threads of a process that is
       * exiting, too: say that, not "no permission". */
      snprintf(path, sizeof path, "/proc/%d/status", pid);
      if (!read_text(path, status, sizeof status) || strstr(status, "State:\tZ") ||
          strstr(status, "State:\tX")) {
        fprintf(stderr, "leakwatch: process %d exited during the dump\n", pid);
        return LW_INSPECT_NO_PROCESS;
      }
      if (saved == EPERM || saved == EACCES)
        return permission_failure(pid, uid);
      fprintf(stderr, "leakwatch: cannot attach to process %d: %s\n", pid, strerror(saved));
      return LW_INSPECT_FAILED;
    }
    if (added == -2) {
      lw_inspect_release(NULL);
      fprintf(stderr,
              "leakwatch: process %d: a thread did not stop within %d ms (uninterruptible "
              "sleep in the kernel, state D?); try again\n",
              pid, STOP_TIMEOUT_MS);
      return LW_INSPECT_FAILED;
    }
    if (added == 0)
      break;
  }
  if (nseized == 0 || !is_seized(pid)) {
    lw_inspect_release(NULL);
    fprintf(stderr, "leakwatch: process %d exited during the dump\n", pid);
    return LW_INSPECT_NO_PROCESS;
  }
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  target->catches_signals =
      !read_text(path, status, sizeof status) || catches_wakeful_signals(status);
  target->tasks = (int)nseized;

  uint64_t stopped_all_ns = lw_now_ns();
  /* For the test that kills this program while the process is stopped. */
  const char *hold_ms = getenv("LEAKWATCH_INSPECT_HOLD_MS");
  if (hold_ms && atoi(hold_ms) > 0) {
    fprintf(stderr, "leakwatch-inspect: holding %u threads stopped for %d ms\n", nseized,
            atoi(hold_ms));
    usleep((useconds_t)atoi(hold_ms) * 1000u);
  }
  /* The threads, main first. */
  target->threads = calloc(nseized, sizeof *target->threads);
  if (!target->threads) {
    lw_inspect_release(NULL);
    return LW_INSPECT_FAILED;
  }
  for (uint32_t pass = 0; pass < 2; pass++)
    for (uint32_t i = 0; i < nseized; i++) {
      int tid = seized_threads[i].tid;
      if ((pass == 0) != (tid == pid))
        continue;
      lw_inspect_thread *t = &target->threads[target->nthreads++];
      t->tid = tid;
      snprintf(path, sizeof path, "/proc/%d/task/%d/comm", pid, tid);
      if (read_text(path, t->name, sizeof t->name))
        t->name[strcspn(t->name, "\n")] = '\0';
      struct user_regs_struct regs;
      if (ptrace(PTRACE_GETREGS, tid, NULL, &regs) == 0) {
        long result = (long)regs.rax;
        /* Stopped inside a call: the kernel will restart it (-ERESTART*). */
        t->in_syscall = (long)regs.orig_rax >= 0 && result <= -512 && result >= -516;
        t->syscall = (long)regs.orig_rax;
        uint64_t args[6] = {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9};
        memcpy(t->args, args, sizeof args);
      }
      dwfl_getthread_frames(target->dwfl, tid, lw_inspect_take_frame, t);
      /* glibc's fields around the futex word, read now, looked at later. */
      if (t->in_syscall && t->syscall == SYS_futex) {
        t->window_base = (uintptr_t)t->args[0] - LW_INSPECT_WINDOW_BEFORE;
        if (live_read(target, t->window_base, t->window, sizeof t->window))
          t->window_size = sizeof t->window;
        else if (t->window_base = (uintptr_t)t->args[0] - 64,
                 live_read(target, t->window_base, t->window, 128))
          t->window_size = 128; /* near the start of a mapping: the lock's own fields */
      }
    }
  if (getenv("LEAKWATCH_INSPECT_TIMES"))
    fprintf(stderr, "leakwatch-inspect: stopping %.2f ms, reading %.2f ms\n",
            (double)(stopped_all_ns - stop_started_ns) / 1e6,
            (double)(lw_now_ns() - stopped_all_ns) / 1e6);
  return 0;
}
