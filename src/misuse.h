/*
 * misuse.h - pthread API misuse, reported at the call that makes it, once
 * per call stack (once.h): the mistakes Helgrind and DRD catch, at native
 * speed.
 *
 * Every check runs on a path that is already slow (an unlock that is not of
 * the last lock taken, a destroy, a join, a detach, a condition wait):
 * never on the uncontended lock or unlock. The program's call then goes
 * ahead unchanged, and gets what glibc returns.
 */
#ifndef LW_MISUSE_H
#define LW_MISUSE_H

#include "registry.h"

/* The calling thread unlocks `object` (kind: mutex, rwlock or mtx), which
 * is not the top of its held list: take it out from lower down, or, when
 * the list does not have it, report unless glibc says the caller owns it
 * anyway. Nothing for a thread the shim does not track now. */
void lw_misuse_unlock_not_on_top(const void *object, enum lw_lock_kind kind, uintptr_t call_pc);

/* Destroying an object: a locked mutex, a rwlock in use, or a condition
 * variable, semaphore or barrier with waiters. `what` names the call. */
enum lw_destroyed { LW_DESTROYED_MUTEX, LW_DESTROYED_RWLOCK, LW_DESTROYED_WAITED_ON };
void lw_misuse_destroy(lw_thread *self, const void *object, enum lw_destroyed kind,
                       const char *what, uintptr_t call_pc);

/* A condition wait begins: without holding `mutex`, or with a mutex other
 * than the one another thread is waiting with on the same `cond`. Returns
 * true if the wait was counted; then lw_misuse_cond_wait_end must follow. */
bool lw_misuse_cond_wait(lw_thread *self, const void *cond, const void *mutex, bool holds_mutex,
                         uintptr_t call_pc);
void lw_misuse_cond_wait_end(const void *cond);

/* A signal (`all` false: wakes at most one) or broadcast on `cond`: its
 * woken waiters are no longer blocked on it, though they have not returned
 * yet (a destroy now is legal). One load when nobody waits. */
void lw_misuse_cond_woken(const void *cond, bool all);

/* glibc refused a rwlock lock with EDEADLK: the caller holds its write
 * lock. */
void lw_misuse_rwlock_refused(lw_thread *self, const void *lock, enum lw_lock_kind kind,
                              uintptr_t call_pc);

/* Joining a detached thread, one already joined, or oneself; detaching a
 * thread twice, or one already joined. `call` names the call. */
void lw_misuse_join(lw_thread *self, pthread_t thread, const char *call, uintptr_t call_pc);
void lw_misuse_detach(lw_thread *self, pthread_t thread, uintptr_t call_pc);
/* A join failed (ESRCH, EINVAL): was the thread joined before? */
void lw_misuse_join_failed(lw_thread *self, pthread_t thread, const char *call, uintptr_t call_pc);

/* fork: hold the misuse table's lock across it; the child forgets the
 * parent's condition variable waiters. */
void lw_misuse_fork_prepare(void);
void lw_misuse_fork_parent(void);
void lw_misuse_fork_child(void);

/* A thread was joined: remember its handle, to recognise a second join. */
void lw_misuse_note_joined(pthread_t thread);
/* A new thread got `thread`: a handle of a joined thread, reused. */
void lw_misuse_note_created(pthread_t thread);

#endif
