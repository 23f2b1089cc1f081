/*
 * syscalls.h - what a thread blocked in a system call leakwatch does not
 * wrap (read, accept, poll, epoll_wait, nanosleep, waitpid...) waits on:
 * the call's name, the descriptor that matters and what it is
 * (/proc/PID/fd), the timeout asked for. One table, for the shim's reports
 * and for leakwatch-inspect's. Made at snapshot time, from the
 * number and argument registers /proc/self/task/TID/syscall showed (the
 * thread is blocked, so the memory its arguments point at is still there).
 */
#ifndef LW_SYSCALLS_H
#define LW_SYSCALLS_H

#include "report.h"

/* Fill `call`'s name, fd, fd_target, timeout_ms and pid; strings in
 * `report`'s arena. For a thread in a system call of process `pid`: the
 * shim's own (getpid()), or one leakwatch-inspect has stopped; 0 for a
 * core (the call's name only). Not thread-safe: reports are made one at a
 * time. */
void lw_syscalls_describe(lw_report *report, lw_report_syscall *call, int pid);

/* True for a blocking call of the table that has no timeout, or an
 * infinite one (read, accept, pause, poll with -1...): it ends only when
 * something else happens. A call with a timeout ends by itself, like a
 * timed wait; a call not in the table is not known to block at all. */
bool lw_syscalls_untimed(const lw_report_syscall *call); /* a call of this process */

#endif
