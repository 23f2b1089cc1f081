/*
 * waits.c - what each stopped thread is blocked in, on which object, and
 * which thread owns that object, from three things the process shows
 * without the shim: the system call it is in (number and arguments), the
 * pthread function among its frames, and glibc's own fields of the object
 * (the public ABI of <bits/pthreadtypes*.h>, no libc debug symbols).
 *
 * glibc 2.36 on x86_64, where each wait sleeps:
 *   mutex                futex on __data.__lock, offset 0; owner TID in
 *                        __data.__owner (offset 8), set by every lock
 *   rwlock, reader       __wrphase_futex (8), or __readers (0) for
 *                        writer-preferring locks; writer TID __cur_writer (24)
 *   rwlock, writer       __writers_futex (12) behind a writer, or
 *                        __wrphase_futex (8) behind readers
 *   condition variable   __g_signals[g] (40 or 44); no owner
 *   semaphore            the value word (0); no owner
 *   barrier              current_round (4); no owner
 *   join                 the awaited thread's struct pthread tid field
 *                        (0x2d0): its value is the awaited TID
 * The objects are 8-byte aligned, which tells the two offsets of a writer or
 * a condition variable apart; a join's struct pthread is checked by its
 * first words, which point at itself (the TCB header).
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "inspect.h"
#include "syscalls.h"
#include "registry.h"

#define PTHREAD_TID_OFFSET 0x2d0

/* glibc's own names for the calls of the table (calls.h) that a frame may
 * show instead of the public name. */
static const struct {
  const char *name;
  enum lw_call call;
} aliases[] = {
    {"new_sem_wait", LW_CALL_sem_wait},
    {"pthread_clockjoin_ex", LW_CALL_pthread_join},
};

static bool entry_call(const char *name, enum lw_call *call) {
  if (!name)
    return false;
  while (*name == '_')
    name++;
  size_t len = strcspn(name, "@"); /* "name@@VERSION" */
  if (len > 2 && strcmp(name + len - 2, "64") == 0)
    len -= 2;
  char public_name[64];
  if (len >= sizeof public_name)
    return false;
  memcpy(public_name, name, len);
  public_name[len] = '\0';
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp(aliases[i].name, public_name) == 0) {
      *call = aliases[i].call;
      return true;
    }
  /* A futex wait is found by its system call, not by a frame's name. */
  return lw_calls_parse(public_name, call) && lw_calls_object(*call) != LW_OBJECT_FUTEX &&
         lw_calls_blocks(*call);
}

static bool read_u32(lw_inspect_target *target, uintptr_t address, uint32_t *out) {
  return target->read(target, address, out, sizeof *out);
}

static int id_of_tid(const lw_report *r, int tid) {
  for (uint32_t i = 0; i < r->nthreads; i++)
    if (r->threads[i].tid == tid)
      return (int)r->threads[i].id;
  return -1;
}

static bool is_mutex(enum lw_call call) { return lw_calls_object(call) == LW_OBJECT_MUTEX; }
static bool is_rwlock(enum lw_call call, enum lw_access access) {
  return lw_calls_object(call) == LW_OBJECT_RWLOCK && lw_calls[call].access == access;
}
static bool is_reader(enum lw_call call) { return is_rwlock(call, LW_ACCESS_SHARED); }
static bool is_writer(enum lw_call call) { return is_rwlock(call, LW_ACCESS_EXCLUSIVE); }
static bool is_cond(enum lw_call call) { return lw_calls_object(call) == LW_OBJECT_COND; }
static bool is_sem(enum lw_call call) { return lw_calls_object(call) == LW_OBJECT_SEM; }
static bool is_join(enum lw_call call) { return lw_calls_is_join(call); }
static bool is_timed_call(enum lw_call call) { return lw_calls[call].wait == LW_WAIT_TIMED; }

/* A struct pthread at `pd`: its TCB header's tcb and self words point at it. */
static bool is_struct_pthread(lw_inspect_target *target, uintptr_t pd) {
  uintptr_t words[3];
  return target->read(target, pd, words, sizeof words) && words[0] == pd && words[2] == pd;
}

/* glibc's __flags of a rwlock: 0..2 (PTHREAD_RWLOCK_PREFER_*). */
static bool plausible_rwlock(lw_inspect_target *target, uintptr_t rwlock) {
  uint32_t flags, shared;
  return read_u32(target, rwlock + 48, &flags) && flags <= 2 &&
         read_u32(target, rwlock + 28, &shared) && shared <= 1;
}

/* Give `owner` the lock `object` it holds (the analysis finds owners in the
 * held lists), once. */
static void add_held(lw_report *r, lw_report_thread *owner, const void *object, int kind) {
  for (uint32_t i = 0; i < owner->nheld; i++)
    if (owner->held[i].object == object)
      return;
  lw_report_held *grown = lw_mem_arena_alloc(&r->arena, (owner->nheld + 1) * sizeof *grown);
  if (!grown)
    return;
  if (owner->nheld)
    memcpy(grown, owner->held, owner->nheld * sizeof *grown);
  lw_report_held *h = &grown[owner->nheld];
  h->object = object;
  h->kind = kind;
  h->call = kind == LW_LOCK_WRITE ? "pthread_rwlock_wrlock" : "pthread_mutex_lock";
  owner->held = grown;
  owner->nheld++;
}

static void set_owner(lw_report *r, lw_report_thread *t, int owner_tid, int kind) {
  int owner = owner_tid > 0 ? id_of_tid(r, owner_tid) : -1;
  if (owner < 0)
    return;
  t->wait.has_owner = true;
  t->wait.owner = (uint32_t)owner;
  if (kind >= 0)
    add_held(r, lw_report_thread_by_id(r, (uint32_t)owner), t->wait.object, kind);
}

/* Thread i of the target is report thread i; its frames from `first` on
 * become its stack. Returns the index of the pthread entry frame, or -1. */
static int find_entry(const lw_inspect_thread *it, enum lw_call *call) {
  for (uint32_t i = 0; i < it->depth; i++) {
    if (!entry_call(it->names[i], call))
      continue;
    /* The outermost of nested entries: cnd_wait over pthread_cond_wait. */
    enum lw_call outer;
    while (i + 1 < it->depth && entry_call(it->names[i + 1], &outer)) {
      *call = outer;
      i++;
    }
    return (int)i;
  }
  return -1;
}

static void classify(lw_inspect_target *target, lw_report *r, const lw_inspect_thread *it,
                     lw_report_thread *t, uint32_t *stack_from) {
  *stack_from = 0;
  if (!it->in_syscall) {
    t->syscall.where = LW_WHERE_USER;
    return;
  }
  lw_report_wait *w = &t->wait;
  if (it->syscall != SYS_futex) {
    /* Not a pthread wait: shown as the shim shows a thread in a call it
     * does not wrap, running in that system call, on that descriptor. */
    t->has_wait = false;
    t->state = LW_STATE_RUNNING;
    lw_report_syscall *c = &t->syscall;
    c->where = LW_WHERE_SYSCALL;
    c->number = it->syscall;
    memcpy(c->args, it->args, sizeof c->args);
    lw_syscalls_describe(r, c, target->core ? 0 : target->pid);
    return;
  }
  t->has_wait = true;
  t->state = LW_STATE_BLOCKED;
  uintptr_t futex = (uintptr_t)it->args[0];
  int op = (int)(it->args[1] & FUTEX_CMD_MASK);
  bool futex_timed = it->args[3] != 0 && op != FUTEX_WAKE;
  enum lw_call call = LW_CALL_futex;
  int entry = find_entry(it, &call);
  if (entry >= 0 && (uint32_t)entry + 1 < it->depth)
    *stack_from = (uint32_t)entry + 1; /* from the caller on, as under the shim */
  else if (is_struct_pthread(target, futex - PTHREAD_TID_OFFSET))
    call = LW_CALL_pthread_join; /* a join in a program without symbols */
  w->call_id = (int)call;
  w->call = lw_calls_name(call);
  w->timed = futex_timed || is_timed_call(call);
  w->object = (const void *)futex;

  uint32_t word;
  if (is_mutex(call)) {
    uint32_t owner;
    if (read_u32(target, futex + 8, &owner) && owner != 0)
      set_owner(r, t, (int)owner, LW_LOCK_MUTEX);
    else if (op == FUTEX_LOCK_PI && read_u32(target, futex, &word))
      set_owner(r, t, (int)(word & FUTEX_TID_MASK), LW_LOCK_MUTEX);
  } else if (is_writer(call) || is_reader(call)) {
    uintptr_t rwlock = futex % 8 == 4 ? futex - 12 : futex - 8;
    if (is_reader(call) && !plausible_rwlock(target, rwlock) && plausible_rwlock(target, futex))
      rwlock = futex; /* a writer-preferring lock: readers sleep on __readers */
    w->object = (const void *)rwlock;
    uint32_t writer;
    if (read_u32(target, rwlock + 24, &writer) && writer != 0)
      set_owner(r, t, (int)writer, LW_LOCK_WRITE);
  } else if (is_cond(call)) {
    w->object = (const void *)(futex % 8 == 0 ? futex - 40 : futex - 44);
  } else if (is_sem(call)) {
    w->object = (const void *)futex;
  } else if (lw_calls_object(call) == LW_OBJECT_BARRIER) {
    w->object = (const void *)(futex - 4);
  } else if (is_join(call)) {
    w->object = (const void *)(futex - PTHREAD_TID_OFFSET);
    if (read_u32(target, futex, &word) && word != 0)
      set_owner(r, t, (int)word, -1);
  }
}

void lw_inspect_waits(lw_inspect_target *target, lw_report *r, uint32_t *stack_from) {
  for (uint32_t i = 0; i < r->nthreads; i++)
    classify(target, r, &target->threads[i], &r->threads[i], &stack_from[i]);
}
