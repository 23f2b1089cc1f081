/*
 * registry.c - thread records: creation, lookup by pthread_t, end, reaping.
 *
 * Records come from mem.c and are linked in creation order. A record leaves
 * the registry when nobody can ask about it any more: its thread ended and
 * was joined (then it is certainly gone), or it ended detached and the kernel
 * no longer knows its tid (the thread may still be running its TLS
 * destructors through our wrappers right after its start routine returns, so
 * its record must outlive that). A report in progress holds records in
 * place (lw_registry_pin).
 */
#define _GNU_SOURCE
#include "registry.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lifecycle.h"
#include "mem.h"

/* Full (top on the last slot) and matching no lock or floor: see
 * registry.h. */
const lw_thread lw_untracked = {
    .id = LW_NO_THREAD,
    .held_top = (lw_held *)&lw_untracked.held_slots[LW_HELD_MAX],
    .held_slots = {[LW_HELD_MAX] = {.object = LW_HELD_UNTRACKED}},
};
/* Every thread starts on the placeholder: the dynamic loader copies this
 * initial value, relocated, into each thread's TLS block. */
LW_TLS lw_thread *lw_self = LW_UNTRACKED;
LW_TLS lw_thread *lw_self_inside;
LW_TLS uint32_t lw_shim_depth;
LW_TLS int lw_shim_saved_errno;
LW_TLS int lw_shim_saved_cancel_state;

const char *const lw_lock_kind_objects[4] = {"mutex", "rwlock", "rwlock", "mutex"};
const char *const lw_lock_kind_calls[4] = {"pthread_mutex_lock", "pthread_rwlock_rdlock",
                                           "pthread_rwlock_wrlock", "mtx_lock"};

static lw_lock registry_lock = LW_LOCK_INIT;
static lw_thread *all_head, *all_tail;
static lw_thread *by_handle; /* uthash on handle */
static uint32_t next_id = 1; /* T0 is the main thread */
static uint32_t record_count;
static uint32_t pin_count; /* reports reading records: no reaping */
/* No second thread yet: the main record's floor says so (registry.h). */
static bool single_threaded;

void lw_registry_lock(void) { lw_lock_acquire(&registry_lock); }
void lw_registry_unlock(void) { lw_lock_release(&registry_lock); }

static void link_record(lw_thread *t) {
  t->prev = all_tail;
  t->next = NULL;
  if (all_tail)
    all_tail->next = t;
  else
    all_head = t;
  all_tail = t;
  record_count++;
}

static void unlink_record(lw_thread *t) {
  if (t->prev)
    t->prev->next = t->next;
  else
    all_head = t->next;
  if (t->next)
    t->next->prev = t->prev;
  else
    all_tail = t->prev;
  record_count--;
}

/* uthash leaves a deleted element's handle as it was: `tbl` is cleared here
 * so that "is it indexed" has one answer. */
static bool is_indexed(lw_thread *t) { return t->by_handle.tbl != NULL; }

static void unindex(lw_thread *t) {
  if (!is_indexed(t))
    return;
  HASH_DELETE(by_handle, by_handle, t);
  memset(&t->by_handle, 0, sizeof t->by_handle);
}

static void free_record(lw_thread *t) {
  unindex(t);
  unlink_record(t);
  lw_mem_free(t, sizeof *t);
}

/* True when the kernel has let go of the thread: nothing of it runs. */
static bool thread_is_gone(lw_thread *t) {
  int tid = atomic_load(&t->tid);
  if (tid == 0)
    return false; /* not started yet */
  return syscall(SYS_tgkill, getpid(), tid, 0) == -1 && errno == ESRCH;
}

/* Drop records nobody can ask about any more. Registry lock held. */
static void reap(void) {
  if (pin_count)
    return;
  for (lw_thread *t = all_head, *next; t; t = next) {
    next = t->next;
    uint32_t flags = atomic_load(&t->flags);
    if (!(flags & LW_THREAD_ENDED) || !(flags & LW_THREAD_CREATED))
      continue;
    if ((flags & LW_THREAD_JOINED) || ((flags & LW_THREAD_DETACHED) && thread_is_gone(t)))
      free_record(t);
  }
}

lw_thread *lw_registry_first(void) { return all_head; }

uint32_t lw_registry_next_id(void) {
  lw_registry_lock();
  uint32_t id = next_id;
  lw_registry_unlock();
  return id;
}

bool lw_registry_descends_from(const lw_thread *t, uint32_t ancestor_id) {
  for (uint32_t i = 0; i < t->nancestors; i++)
    if (t->ancestors[i] == ancestor_id)
      return true;
  return false;
}
uint32_t lw_registry_count(void) { return record_count; }

void lw_registry_pin(void) {
  lw_registry_lock();
  pin_count++;
  lw_registry_unlock();
}

void lw_registry_unpin(void) {
  lw_registry_lock();
  pin_count--;
  reap();
  lw_registry_unlock();
}

/* A second thread is about to exist, or does (registry lock held): no
 * record keeps the single-threaded floor. Once: nothing makes a process
 * single-threaded again (a fork child keeps the shared floor; that is
 * only slower, never wrong). */
static void leave_single_threaded(void) {
  if (!single_threaded)
    return;
  single_threaded = false;
  for (lw_thread *t = all_head; t; t = t->next)
    __atomic_store_n(&t->held_slots[0].object, LW_HELD_FLOOR, __ATOMIC_RELAXED);
}

static lw_thread *new_record(uint32_t id, uint32_t parent_id) {
  lw_thread *t = lw_mem_alloc(sizeof *t);
  if (!t)
    return NULL;
  lw_held_init(t, single_threaded);
  t->id = id;
  t->parent_id = parent_id;
  t->create_ns = lw_now_ns();
  return t;
}

void lw_registry_init(void) {
  /* The main thread is the one whose tid is the pid; if start-up runs on
   * another thread, main is adopted when it first enters a wrapper. */
  if (lw_gettid() != getpid())
    return;
  /* glibc's own answer, threads started before the shim was loaded included. */
  single_threaded = __libc_single_threaded;
  lw_thread *t = new_record(0, 0);
  if (!t)
    return;
  atomic_store(&t->tid, lw_gettid());
  t->handle = pthread_self();
  atomic_store(&t->flags, LW_THREAD_MAIN | LW_THREAD_STARTED | LW_THREAD_CREATED);
  lw_registry_lock();
  link_record(t);
  lw_registry_index(t);
  lw_registry_unlock();
  lw_self = t;
}

lw_thread *lw_registry_new_thread(lw_thread *parent) {
  lw_registry_lock();
  reap(); /* creation is where old records are recycled: bounded memory */
  leave_single_threaded();
  lw_thread *t = new_record(next_id, parent ? parent->id : 0);
  if (t && parent) {
    t->ancestors[0] = parent->id;
    t->nancestors = 1;
    for (uint32_t i = 0; i < parent->nancestors && t->nancestors < LW_ANCESTORS_MAX; i++)
      t->ancestors[t->nancestors++] = parent->ancestors[i];
  }
  if (t) {
    next_id++;
    link_record(t);
  }
  lw_registry_unlock();
  return t;
}

void lw_registry_discard(lw_thread *t) {
  lw_registry_lock();
  free_record(t);
  lw_registry_unlock();
}

lw_thread *lw_registry_adopt_current(void) {
  bool is_main = lw_gettid() == getpid();
  lw_registry_lock();
  if (!is_main || !__libc_single_threaded)
    leave_single_threaded(); /* a thread the shim did not see created */
  uint32_t id = is_main ? 0 : next_id++;
  lw_thread *t = new_record(id, 0);
  if (t) {
    atomic_store(&t->tid, lw_gettid());
    t->handle = pthread_self();
    atomic_store(&t->flags, LW_THREAD_STARTED | LW_THREAD_CREATED |
                                (is_main ? LW_THREAD_MAIN : LW_THREAD_ADOPTED));
    link_record(t);
    lw_registry_index(t);
  }
  lw_registry_unlock();
  lw_self = t ? t : LW_UNTRACKED;
  return t;
}

void lw_registry_index(lw_thread *t) {
  if (is_indexed(t))
    return;
  /* A pthread_t is reused once its thread is gone: an old record still
   * indexed under it (ended, never joined) is unindexed, and stays listed. */
  lw_thread *old = NULL;
  HASH_FIND(by_handle, by_handle, &t->handle, sizeof t->handle, old);
  if (old)
    unindex(old);
  HASH_ADD(by_handle, by_handle, handle, sizeof t->handle, t);
}

lw_thread *lw_registry_find(pthread_t handle) {
  lw_thread *t = NULL;
  HASH_FIND(by_handle, by_handle, &handle, sizeof handle, t);
  return t;
}

void lw_registry_thread_ended(lw_thread *t) {
  lw_registry_lock();
  t->end_ns = lw_now_ns();
  atomic_fetch_or(&t->flags, LW_THREAD_ENDED);
  lw_registry_unlock();
}

/* glibc's flag for robust mutexes in __kind (PTHREAD_MUTEX_ROBUST_NORMAL_NP). */
#define LW_MUTEX_KIND_ROBUST 16

/* Take robust mutexes off the held list of `t`, ending on its own thread:
 * when their owner dies the kernel hands them on, and the next locker gets
 * EOWNERDEAD and recovers. Nobody waits forever: not an abandoned lock. */
static void let_go_of_robust(lw_thread *t) {
  const lw_held *held = lw_held_list(t);
  for (uint32_t i = lw_held_listed(t); i-- > 0;) {
    const pthread_mutex_t *mutex = held[i].object;
    if (lw_held_kind(&held[i]) != LW_LOCK_MUTEX || !(mutex->__data.__kind & LW_MUTEX_KIND_ROBUST))
      continue;
    lw_verbose(1, "T%u ended holding robust mutex %p: its next locker gets EOWNERDEAD", t->id,
               (const void *)mutex);
    for (uint32_t k = i; k + 1 < lw_held_listed(t); k++)
      lw_held_list(t)[k] = lw_held_list(t)[k + 1];
    __atomic_store_n(&t->held_top, t->held_top - 1, __ATOMIC_RELEASE);
  }
}

/*
 * Is a thread that ends holding locks abandoning them? Only its real end
 * can say: after pthread_exit come its cleanup handlers, then C++
 * thread_local destructors, then the thread-specific-data destructors, in
 * up to PTHREAD_DESTRUCTOR_ITERATIONS rounds, and any of them may unlock.
 * The end key is the shim's, created first, so its destructor runs first
 * in each round: while the thread lists locks it sets itself again, to see
 * the next round, and in the last one it still runs before the program's
 * keys. So a joinable thread's locks are judged when it is joined (then
 * nothing of it runs any more); a detached one's in the last round, the
 * latest point the shim sees.
 */
void *lw_registry_end_round(void *value) {
  lw_thread *t = lw_registry_record_of(value);
  unsigned round = (unsigned)((uintptr_t)value - (uintptr_t)t);
  let_go_of_robust(t);
  if (lw_held_listed(t) == 0)
    return NULL;
  if (round + 1 < PTHREAD_DESTRUCTOR_ITERATIONS)
    return (char *)t + round + 1;
  if (atomic_load(&t->flags) & LW_THREAD_DETACHED)
    lw_lifecycle_thread_ending(t);
  else
    atomic_fetch_or(&t->flags, LW_THREAD_HELD_AT_END);
  return NULL;
}

lw_thread_ref lw_registry_ref(pthread_t handle) {
  lw_registry_lock();
  lw_thread *t = lw_registry_find(handle);
  lw_thread_ref ref = {t, t ? t->id : LW_NO_THREAD};
  lw_registry_unlock();
  return ref;
}

/* The record of `ref`, if it is still that thread's (registry lock held). */
static lw_thread *resolve(lw_thread_ref ref) {
  for (lw_thread *t = all_head; t && ref.record; t = t->next)
    if (t == ref.record && t->id == ref.id)
      return t;
  return NULL;
}

void lw_registry_thread_joined(lw_thread_ref ref) {
  lw_registry_lock();
  lw_thread *t = resolve(ref);
  if (!t) {
    lw_registry_unlock();
    return;
  }
  atomic_fetch_or(&t->flags, LW_THREAD_JOINED | LW_THREAD_ENDED);
  /* Locks it still lists now are abandoned (lw_registry_end_round): nothing
   * of the thread runs any more. Pinned: the report reads the record. */
  bool judge =
      atomic_fetch_and(&t->flags, ~(uint32_t)LW_THREAD_HELD_AT_END) & LW_THREAD_HELD_AT_END;
  if (!judge) {
    reap();
    lw_registry_unlock();
    return;
  }
  pin_count++;
  lw_registry_unlock();
  /* The joiner may have a cancel pending: the report writes, and must not
   * end it inside the shim, after glibc's join has succeeded; nor change
   * its errno. */
  int cancel_state, saved_errno = errno;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
  lw_lifecycle_thread_ending(t);
  pthread_setcancelstate(cancel_state, NULL);
  errno = saved_errno;
  lw_registry_unpin(); /* and reap */
}

void lw_registry_judge_unjoined(void) {
  /* One at a time: each report runs outside the registry lock, pinned. */
  for (;;) {
    lw_registry_lock();
    lw_thread *t = all_head;
    while (t &&
           !(atomic_fetch_and(&t->flags, ~(uint32_t)LW_THREAD_HELD_AT_END) & LW_THREAD_HELD_AT_END))
      t = t->next;
    if (t)
      pin_count++;
    lw_registry_unlock();
    if (!t)
      return;
    lw_lifecycle_thread_ending(t);
    lw_registry_unpin();
  }
}

void lw_registry_thread_detached(lw_thread_ref ref) {
  lw_registry_lock();
  lw_thread *t = resolve(ref);
  if (t)
    atomic_fetch_or(&t->flags, LW_THREAD_DETACHED);
  lw_registry_unlock();
}

void lw_registry_fork_prepare(void) { lw_registry_lock(); }
void lw_registry_fork_parent(void) { lw_registry_unlock(); }

void lw_registry_fork_child(lw_thread *self) {
  /* Only the forking thread exists here; the lock is a copy of the parent's
   * (held by us, through prepare), so start it afresh. */
  registry_lock.word = 0;
  pin_count = 0;
  for (lw_thread *t = all_head, *next; t; t = next) {
    next = t->next;
    if (t != self)
      free_record(t);
  }
  if (self) {
    self->id = 0;
    self->parent_id = 0;
    atomic_store(&self->tid, lw_gettid());
    atomic_store(&self->flags, LW_THREAD_MAIN | LW_THREAD_STARTED | LW_THREAD_CREATED);
    self->wait.state = LW_WAIT_IDLE;
  }
  next_id = 1;
}

/* ---- history of threads that findings may name after they are gone ---- */

static lw_lock history_lock = LW_LOCK_INIT;
static lw_thread_history *history; /* LW_HISTORY_MAX entries, allocated on first use */
static uint32_t history_next;

void lw_registry_remember_thread(lw_thread *t) {
  if (t->history_kept)
    return;
  lw_lock_acquire(&history_lock);
  if (!history)
    history = lw_mem_alloc(LW_HISTORY_MAX * sizeof *history);
  if (history) {
    lw_thread_history *h = &history[history_next++ % LW_HISTORY_MAX];
    h->id = t->id;
    h->parent_id = t->parent_id;
    h->tid = atomic_load(&t->tid);
    h->start_address = t->c11_start ? (uintptr_t)t->c11_start : (uintptr_t)t->start_routine;
    memcpy(h->name, t->name, sizeof h->name);
    h->create_stack = t->create_stack;
    t->history_kept = true;
  }
  lw_lock_release(&history_lock);
}

bool lw_registry_history(uint32_t id, lw_thread_history *out) {
  bool found = false;
  lw_lock_acquire(&history_lock);
  for (uint32_t i = 0; history && i < LW_HISTORY_MAX && i < history_next && !found; i++)
    if (history[i].id == id && (history[i].id != 0 || history[i].tid != 0)) {
      *out = history[i];
      found = true;
    }
  lw_lock_release(&history_lock);
  return found;
}

void lw_registry_history_fork_prepare(void) { lw_lock_acquire(&history_lock); }
void lw_registry_history_fork_parent(void) { lw_lock_release(&history_lock); }
void lw_registry_history_fork_child(void) { history_lock.word = 0; }
