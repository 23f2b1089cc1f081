/*
 * interpose.h - the table of wrapped functions and the shim's start-up state.
 *
 * Every function the shim reaches in glibc is one line of LW_REAL_FUNCTIONS:
 * its return type, its name, its parameters (named), the arguments that
 * forward them, and the symbol version to bind (NULL for the default).
 * lw_real holds the next definitions (glibc's).
 *
 * The one entry path: every entry of lw_real is callable at every moment.
 * It starts out pointing at a stub of the same type (interpose.c), which
 * resolves the table and then calls the real function; resolution replaces
 * the stub. So a wrapper can be the first call into the shim from anywhere
 * (another library's constructor, .preinit_array, a thread the shim never
 * saw created) and still reach glibc: no entry is ever NULL, and nothing
 * "pretends" to succeed, with one exception, proven harmless and reached
 * only when the table is resolved through dlsym (elfsym.c answers every
 * entry in a preloaded or linked shim): while the resolving thread is
 * inside dlsym, the allocator's own mutex and rwlock calls on that thread
 * succeed without glibc (no other thread can exist yet, see interpose.c).
 */
#ifndef LW_INTERPOSE_H
#define LW_INTERPOSE_H

#include <link.h>
#include <pthread.h>
#include <semaphore.h>
#include <threads.h>
#include <time.h>

#include "common.h"

/* Not <signal.h>: under _GNU_SOURCE it brings in unistd.h's syscall(),
 * whose prototype intercept_syscall.c replaces. */
struct sigaction;
typedef void (*lw_sighandler)(int);

/* X(return type, name, (parameters), (arguments), version). The compat_
 * lines are glibc's old GLIBC_2.2.5 versions of the same symbol. */
/* clang-format off */
#define LW_REAL_FUNCTIONS(X)                                                                       \
  X(int, pthread_mutex_lock, (pthread_mutex_t *m), (m), NULL)                                      \
  X(int, pthread_mutex_trylock, (pthread_mutex_t *m), (m), NULL)                                   \
  X(int, pthread_mutex_unlock, (pthread_mutex_t *m), (m), NULL)                                    \
  X(int, pthread_mutex_timedlock, (pthread_mutex_t *m, const struct timespec *at), (m, at), NULL)  \
  X(int, pthread_mutex_clocklock,                                                                  \
    (pthread_mutex_t *m, clockid_t c, const struct timespec *at), (m, c, at), NULL)                \
  X(int, pthread_mutex_init, (pthread_mutex_t *m, const pthread_mutexattr_t *a), (m, a), NULL)     \
  X(int, pthread_mutex_destroy, (pthread_mutex_t *m), (m), NULL)                                   \
  X(int, pthread_rwlock_rdlock, (pthread_rwlock_t *l), (l), NULL)                                  \
  X(int, pthread_rwlock_wrlock, (pthread_rwlock_t *l), (l), NULL)                                  \
  X(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *l), (l), NULL)                               \
  X(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *l), (l), NULL)                               \
  X(int, pthread_rwlock_timedrdlock,                                                               \
    (pthread_rwlock_t *l, const struct timespec *at), (l, at), NULL)                               \
  X(int, pthread_rwlock_timedwrlock,                                                               \
    (pthread_rwlock_t *l, const struct timespec *at), (l, at), NULL)                               \
  X(int, pthread_rwlock_clockrdlock,                                                               \
    (pthread_rwlock_t *l, clockid_t c, const struct timespec *at), (l, c, at), NULL)               \
  X(int, pthread_rwlock_clockwrlock,                                                               \
    (pthread_rwlock_t *l, clockid_t c, const struct timespec *at), (l, c, at), NULL)               \
  X(int, pthread_rwlock_unlock, (pthread_rwlock_t *l), (l), NULL)                                  \
  X(int, pthread_rwlock_init, (pthread_rwlock_t *l, const pthread_rwlockattr_t *a), (l, a), NULL)  \
  X(int, pthread_rwlock_destroy, (pthread_rwlock_t *l), (l), NULL)                                 \
  X(int, pthread_cond_wait, (pthread_cond_t *cv, pthread_mutex_t *m), (cv, m), "GLIBC_2.3.2")      \
  X(int, pthread_cond_timedwait,                                                                   \
    (pthread_cond_t *cv, pthread_mutex_t *m, const struct timespec *at),                           \
    (cv, m, at), "GLIBC_2.3.2")                                                                    \
  X(int, pthread_cond_clockwait,                                                                   \
    (pthread_cond_t *cv, pthread_mutex_t *m, clockid_t c, const struct timespec *at),              \
    (cv, m, c, at), NULL)                                                                          \
  X(int, pthread_cond_signal, (pthread_cond_t *cv), (cv), "GLIBC_2.3.2")                           \
  X(int, pthread_cond_broadcast, (pthread_cond_t *cv), (cv), "GLIBC_2.3.2")                        \
  X(int, pthread_cond_init,                                                                        \
    (pthread_cond_t *cv, const pthread_condattr_t *a), (cv, a), "GLIBC_2.3.2")                     \
  X(int, pthread_cond_destroy, (pthread_cond_t *cv), (cv), "GLIBC_2.3.2")                          \
  X(int, compat_pthread_cond_wait,                                                                 \
    (pthread_cond_t *cv, pthread_mutex_t *m), (cv, m), "GLIBC_2.2.5")                              \
  X(int, compat_pthread_cond_timedwait,                                                            \
    (pthread_cond_t *cv, pthread_mutex_t *m, const struct timespec *at),                           \
    (cv, m, at), "GLIBC_2.2.5")                                                                    \
  X(int, compat_pthread_cond_signal, (pthread_cond_t *cv), (cv), "GLIBC_2.2.5")                    \
  X(int, compat_pthread_cond_broadcast, (pthread_cond_t *cv), (cv), "GLIBC_2.2.5")                 \
  X(int, compat_pthread_cond_init,                                                                 \
    (pthread_cond_t *cv, const pthread_condattr_t *a), (cv, a), "GLIBC_2.2.5")                     \
  X(int, compat_pthread_cond_destroy, (pthread_cond_t *cv), (cv), "GLIBC_2.2.5")                   \
  X(int, sem_wait, (sem_t *s), (s), NULL)                                                          \
  X(int, sem_timedwait, (sem_t *s, const struct timespec *at), (s, at), NULL)                      \
  X(int, sem_clockwait, (sem_t *s, clockid_t c, const struct timespec *at), (s, c, at), NULL)      \
  X(int, sem_trywait, (sem_t *s), (s), NULL)                                                       \
  X(int, sem_post, (sem_t *s), (s), NULL)                                                          \
  X(int, sem_destroy, (sem_t *s), (s), NULL)                                                       \
  X(int, pthread_barrier_wait, (pthread_barrier_t *b), (b), NULL)                                  \
  X(int, pthread_barrier_destroy, (pthread_barrier_t *b), (b), NULL)                               \
  X(int, pthread_create,                                                                           \
    (pthread_t *t, const pthread_attr_t *a, void *(*f)(void *), void *arg), (t, a, f, arg), NULL)  \
  X(int, pthread_join, (pthread_t t, void **r), (t, r), NULL)                                      \
  X(int, pthread_tryjoin_np, (pthread_t t, void **r), (t, r), NULL)                                \
  X(int, pthread_timedjoin_np,                                                                     \
    (pthread_t t, void **r, const struct timespec *at), (t, r, at), NULL)                          \
  X(int, pthread_clockjoin_np,                                                                     \
    (pthread_t t, void **r, clockid_t c, const struct timespec *at), (t, r, c, at), NULL)          \
  X(int, pthread_detach, (pthread_t t), (t), NULL)                                                 \
  X(void, pthread_exit, (void *r), (r), NULL)                                                      \
  X(int, pthread_setname_np, (pthread_t t, const char *n), (t, n), NULL)                           \
  X(int, thrd_create, (thrd_t *t, thrd_start_t f, void *arg), (t, f, arg), NULL)                   \
  X(int, thrd_join, (thrd_t t, int *r), (t, r), NULL)                                              \
  X(int, thrd_detach, (thrd_t t), (t), NULL)                                                       \
  X(void, thrd_exit, (int r), (r), NULL)                                                           \
  X(int, mtx_lock, (mtx_t *m), (m), NULL)                                                          \
  X(int, mtx_trylock, (mtx_t *m), (m), NULL)                                                       \
  X(int, mtx_timedlock,                                                                            \
    (mtx_t *__restrict m, const struct timespec *__restrict at), (m, at), NULL)                    \
  X(int, mtx_unlock, (mtx_t *m), (m), NULL)                                                        \
  X(int, mtx_init, (mtx_t *m, int type), (m, type), NULL)                                          \
  X(void, mtx_destroy, (mtx_t *m), (m), NULL)                                                      \
  X(int, cnd_wait, (cnd_t *cv, mtx_t *m), (cv, m), NULL)                                           \
  X(int, cnd_timedwait,                                                                            \
    (cnd_t *__restrict cv, mtx_t *__restrict m, const struct timespec *__restrict at),             \
    (cv, m, at), NULL)                                                                             \
  X(int, cnd_signal, (cnd_t *cv), (cv), NULL)                                                      \
  X(int, cnd_broadcast, (cnd_t *cv), (cv), NULL)                                                   \
  X(void, cnd_destroy, (cnd_t *cv), (cv), NULL)                                                    \
  X(long, syscall, (long n, long a1, long a2, long a3, long a4, long a5, long a6),             \
    (n, a1, a2, a3, a4, a5, a6), NULL)                                                         \
  X(void, exit, (int status), (status), NULL)                                                     \
  X(int, chroot, (const char *path), (path), NULL)                                                \
  X(int, sigaction, (int s, const struct sigaction *a, struct sigaction *o), (s, a, o), NULL)     \
  X(lw_sighandler, signal, (int s, lw_sighandler h), (s, h), NULL)                              \
  X(lw_sighandler, bsd_signal, (int s, lw_sighandler h), (s, h), NULL)                          \
  X(lw_sighandler, sysv_signal, (int s, lw_sighandler h), (s, h), NULL)                         \
  X(lw_sighandler, sigset, (int s, lw_sighandler h), (s, h), NULL)                              \
  X(int, dl_iterate_phdr,                                                                          \
    (int (*f)(struct dl_phdr_info *, size_t, void *), void *data), (f, data), NULL)
/* clang-format on */

#define LW_REAL_FIELD(ret, name, params, args, version) ret(*name) params;
struct lw_real_table {
  LW_REAL_FUNCTIONS(LW_REAL_FIELD)
};
extern struct lw_real_table lw_real __attribute__((visibility("hidden")));

#define LW_REAL_INDEX(ret, name, params, args, version) LW_REAL_##name,
enum lw_real_index { LW_REAL_FUNCTIONS(LW_REAL_INDEX) LW_REAL_COUNT };

/* Resolve the whole table (once, any thread) and return entry `index`'s
 * real function. Called by the stubs; wrappers never need it. */
void *lw_real_resolve(enum lw_real_index index);

enum lw_init_state {
  LW_INIT_NONE,     /* nothing done yet */
  LW_INIT_RUNNING,  /* one thread is building the shim's state */
  LW_INIT_READY,    /* tracking */
  LW_INIT_DISABLED, /* something failed: every wrapper only forwards */
};
extern _Atomic int lw_init_state;

/* Make the shim ready (idempotent, any thread, any time). Returns false for
 * a thread that must not track now: the one starting the shim, or a
 * disabled shim. Safe to call from any wrapper. */
bool lw_init_ensure(void);

#endif
