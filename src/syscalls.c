/*
 * syscalls.c - the table of blocking system calls a report can name (see
 * syscalls.h). One line a call: which argument is its descriptor, and how
 * its timeout is given.
 */
#define _GNU_SOURCE
#include "syscalls.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

enum timeout_kind {
  NO_TIMEOUT,
  MS_INT,       /* an int of milliseconds; negative: none */
  TIMESPEC,     /* a struct timespec pointer, relative; NULL: none */
  TIMESPEC_ABS, /* clock_nanosleep: relative unless flags say TIMER_ABSTIME */
  TIMEVAL,      /* select: a struct timeval pointer; NULL: none */
};

/* X(name, descriptor argument or -1, timeout kind, timeout argument) */
#define LW_BLOCKING_SYSCALLS(X)                                                                    \
  X(read, 0, NO_TIMEOUT, 0)                                                                        \
  X(write, 0, NO_TIMEOUT, 0)                                                                       \
  X(readv, 0, NO_TIMEOUT, 0)                                                                       \
  X(writev, 0, NO_TIMEOUT, 0)                                                                      \
  X(pread64, 0, NO_TIMEOUT, 0)                                                                     \
  X(pwrite64, 0, NO_TIMEOUT, 0)                                                                    \
  X(recvfrom, 0, NO_TIMEOUT, 0)                                                                    \
  X(recvmsg, 0, NO_TIMEOUT, 0)                                                                     \
  X(recvmmsg, 0, TIMESPEC, 4)                                                                      \
  X(sendto, 0, NO_TIMEOUT, 0)                                                                      \
  X(sendmsg, 0, NO_TIMEOUT, 0)                                                                     \
  X(accept, 0, NO_TIMEOUT, 0)                                                                      \
  X(accept4, 0, NO_TIMEOUT, 0)                                                                     \
  X(connect, 0, NO_TIMEOUT, 0)                                                                     \
  X(flock, 0, NO_TIMEOUT, 0)                                                                       \
  X(fcntl, 0, NO_TIMEOUT, 0)                                                                       \
  X(poll, -2, MS_INT, 2)                                                                           \
  X(ppoll, -2, TIMESPEC, 2)                                                                        \
  X(select, -1, TIMEVAL, 4)                                                                        \
  X(pselect6, -1, TIMESPEC, 4)                                                                     \
  X(epoll_wait, 0, MS_INT, 3)                                                                      \
  X(epoll_pwait, 0, MS_INT, 3)                                                                     \
  X(epoll_pwait2, 0, TIMESPEC, 3)                                                                  \
  X(nanosleep, -1, TIMESPEC, 0)                                                                    \
  X(clock_nanosleep, -1, TIMESPEC_ABS, 2)                                                          \
  X(wait4, -1, NO_TIMEOUT, 0)                                                                      \
  X(waitid, -1, NO_TIMEOUT, 0)                                                                     \
  X(pause, -1, NO_TIMEOUT, 0)                                                                      \
  X(rt_sigsuspend, -1, NO_TIMEOUT, 0)                                                              \
  X(rt_sigtimedwait, -1, TIMESPEC, 2)                                                              \
  X(futex, -1, TIMESPEC, 3)                                                                        \
  X(msgrcv, -1, NO_TIMEOUT, 0)                                                                     \
  X(semop, -1, NO_TIMEOUT, 0)                                                                      \
  X(semtimedop, -1, TIMESPEC, 3)                                                                   \
  X(io_getevents, -1, TIMESPEC, 4)

/* -2: poll's first pollfd names the descriptor. */
#define POLL_FDS (-2)

static const struct blocking_call {
  long number;
  const char *name;
  int fd_arg;
  enum timeout_kind timeout;
  int timeout_arg;
} blocking_calls[] = {
#define LW_BLOCKING_ENTRY(name, fd_arg, kind, timeout_arg)                                         \
  {SYS_##name, #name, fd_arg, kind, timeout_arg},
    LW_BLOCKING_SYSCALLS(LW_BLOCKING_ENTRY)};

/* The process whose thread is described: this one (the shim), or the one
 * leakwatch-inspect has stopped; 0 for a core, whose descriptors are gone
 * and whose memory this module does not read. */
static int described_pid;

/* Read `size` bytes of that process's memory at `address`, failing (not
 * faulting) on a bad address: the pointer is the blocked thread's
 * argument. */
static bool read_memory(uint64_t address, void *out, size_t size) {
  if (!address || described_pid <= 0)
    return false;
  struct iovec local = {out, size}, remote = {(void *)(uintptr_t)address, size};
  return process_vm_readv(described_pid, &local, 1, &remote, 1, 0) == (ssize_t)size;
}

static int64_t timespec_ms(const struct timespec *ts) {
  return (int64_t)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

static int64_t timeout_of(const struct blocking_call *call, const uint64_t *args) {
  uint64_t arg = args[call->timeout_arg];
  struct timespec ts;
  switch (call->timeout) {
  case MS_INT:
    return (int)arg < 0 ? -1 : (int)arg;
  case TIMESPEC:
    return read_memory(arg, &ts, sizeof ts) ? timespec_ms(&ts) : -1;
  case TIMESPEC_ABS: {
    if (!read_memory(arg, &ts, sizeof ts))
      return -1;
    if (!(args[1] & TIMER_ABSTIME))
      return timespec_ms(&ts);
    struct timespec now;
    clock_gettime((clockid_t)args[0], &now);
    int64_t left = timespec_ms(&ts) - timespec_ms(&now);
    return left > 0 ? left : 0;
  }
  case TIMEVAL: {
    struct timeval tv;
    return read_memory(arg, &tv, sizeof tv) ? (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000 : -1;
  }
  default:
    return -1;
  }
}

/* An IPv4 TCP socket's addresses, from /proc/self/net/tcp (the line with
 * its inode): " tcp 127.0.0.1:8080 listening" or " tcp 10.0.0.1:5000 ->
 * 10.0.0.2:443". Cheap enough at report time; other families keep the
 * inode alone. */
static void tcp_addresses(unsigned long inode, char *out, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/net/tcp", described_pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  char text[16384];
  ssize_t got = read(fd, text, sizeof text - 1);
  close(fd);
  if (got <= 0)
    return;
  text[got] = '\0';
  for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
    unsigned local_ip, local_port, peer_ip, peer_port, state;
    unsigned long line_inode;
    if (sscanf(line + 1, " %*u: %x:%x %x:%x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &local_ip,
               &local_port, &peer_ip, &peer_port, &state, &line_inode) != 6 ||
        line_inode != inode)
      continue;
    /* The addresses are the kernel's 32-bit words, in host order here. */
    const unsigned char *l = (const unsigned char *)&local_ip, *p = (const unsigned char *)&peer_ip;
    if (state == 0x0A) /* TCP_LISTEN */
      snprintf(out, size, " tcp %u.%u.%u.%u:%u listening", l[0], l[1], l[2], l[3], local_port);
    else
      snprintf(out, size, " tcp %u.%u.%u.%u:%u -> %u.%u.%u.%u:%u", l[0], l[1], l[2], l[3],
               local_port, p[0], p[1], p[2], p[3], peer_port);
    return;
  }
}

static const char *fd_target(lw_report *report, int fd) {
  char path[64], target[512];
  if (described_pid <= 0)
    return NULL;
  snprintf(path, sizeof path, "/proc/%d/fd/%d", described_pid, fd);
  ssize_t length = readlink(path, target, sizeof target - 128);
  if (length <= 0)
    return NULL;
  target[length] = '\0';
  unsigned long inode;
  if (sscanf(target, "socket:[%lu]", &inode) == 1)
    tcp_addresses(inode, target + length, sizeof target - (size_t)length);
  return lw_mem_arena_strdup(&report->arena, target);
}

void lw_syscalls_describe(lw_report *report, lw_report_syscall *call, int pid) {
  described_pid = pid;
  call->name = NULL;
  call->fd = -1;
  call->fd_target = NULL;
  call->timeout_ms = -1;
  call->pid = 0;
  const struct blocking_call *known = NULL;
  for (size_t i = 0; i < LW_ARRAY_SIZE(blocking_calls) && !known; i++)
    if (blocking_calls[i].number == call->number)
      known = &blocking_calls[i];
  if (!known)
    return;
  call->name = known->name;
  if (known->fd_arg >= 0) {
    call->fd = (int)call->args[known->fd_arg];
  } else if (known->fd_arg == POLL_FDS && call->args[1] >= 1) {
    struct pollfd first;
    if (read_memory(call->args[0], &first, sizeof first))
      call->fd = first.fd;
  }
  if (call->fd >= 0)
    call->fd_target = fd_target(report, call->fd);
  if (known->timeout != NO_TIMEOUT)
    call->timeout_ms = timeout_of(known, call->args);
  if (call->number == SYS_wait4)
    call->pid = (int64_t)(int)call->args[0];
  else if (call->number == SYS_waitid)
    call->pid = call->args[0] == P_PID ? (int64_t)(int)call->args[1] : -1;
}

bool lw_syscalls_untimed(const lw_report_syscall *call) {
  described_pid = getpid(); /* the shim's own thread: its timeout is in our memory */
  for (size_t i = 0; i < LW_ARRAY_SIZE(blocking_calls); i++)
    if (blocking_calls[i].number == call->number)
      return blocking_calls[i].timeout == NO_TIMEOUT ||
             timeout_of(&blocking_calls[i], call->args) < 0;
  return false;
}
