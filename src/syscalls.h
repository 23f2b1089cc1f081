/*
 * syscalls.h - what a thread blocked in a system call leakwatch does not
 * wrap (read, accept, poll, epoll_wait, nanosleep, waitpid...) waits on:
 * the call's name, the descriptor that matters and what it is
 * (/proc/self/fd), the timeout asked for. Made at snapshot time, from the
 * number and argument registers /proc/self/task/TID/syscall showed (the
 * thread is blocked, so the memory its arguments point at is still there).
 */
#ifndef LW_SYSCALLS_H
#define LW_SYSCALLS_H

#include "report.h"

/* Fill `call`'s name, fd, fd_target, timeout_ms and pid; strings in
 * `report`'s arena. For a thread in a system call only. */
void lw_syscalls_describe(lw_report *report, lw_report_syscall *call);

#endif
