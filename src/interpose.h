/*
 * interpose.h - the table of wrapped functions and the shim's start-up state.
 *
 * Every wrapped symbol is one line of LW_REAL_FUNCTIONS: its type, its name
 * and the symbol version to bind (NULL for the default). lw_real holds the
 * next definitions (glibc's), resolved once, mutex functions first.
 */
#ifndef LW_INTERPOSE_H
#define LW_INTERPOSE_H

#include <pthread.h>
#include <semaphore.h>
#include <threads.h>
#include <time.h>

#include "common.h"

/* X(return type, name, parameter list, version) */
#define LW_REAL_FUNCTIONS(X)                                                                       \
  X(int, pthread_mutex_lock, (pthread_mutex_t *), NULL)                                            \
  X(int, pthread_mutex_trylock, (pthread_mutex_t *), NULL)                                         \
  X(int, pthread_mutex_unlock, (pthread_mutex_t *), NULL)                                          \
  X(int, pthread_mutex_timedlock, (pthread_mutex_t *, const struct timespec *), NULL)              \
  X(int, pthread_mutex_clocklock, (pthread_mutex_t *, clockid_t, const struct timespec *), NULL)   \
  X(int, pthread_mutex_init, (pthread_mutex_t *, const pthread_mutexattr_t *), NULL)               \
  X(int, pthread_mutex_destroy, (pthread_mutex_t *), NULL)                                         \
  X(int, pthread_rwlock_rdlock, (pthread_rwlock_t *), NULL)                                        \
  X(int, pthread_rwlock_wrlock, (pthread_rwlock_t *), NULL)                                        \
  X(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *), NULL)                                     \
  X(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *), NULL)                                     \
  X(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t *, const struct timespec *), NULL)          \
  X(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t *, const struct timespec *), NULL)          \
  X(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t *, clockid_t, const struct timespec *),     \
    NULL)                                                                                          \
  X(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t *, clockid_t, const struct timespec *),     \
    NULL)                                                                                          \
  X(int, pthread_rwlock_unlock, (pthread_rwlock_t *), NULL)                                        \
  X(int, pthread_rwlock_init, (pthread_rwlock_t *, const pthread_rwlockattr_t *), NULL)            \
  X(int, pthread_rwlock_destroy, (pthread_rwlock_t *), NULL)                                       \
  X(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *), "GLIBC_2.3.2")                  \
  X(int, pthread_cond_timedwait, (pthread_cond_t *, pthread_mutex_t *, const struct timespec *),   \
    "GLIBC_2.3.2")                                                                                 \
  X(int, pthread_cond_clockwait,                                                                   \
    (pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *), NULL)               \
  X(int, pthread_cond_signal, (pthread_cond_t *), "GLIBC_2.3.2")                                   \
  X(int, pthread_cond_broadcast, (pthread_cond_t *), "GLIBC_2.3.2")                                \
  X(int, pthread_cond_init, (pthread_cond_t *, const pthread_condattr_t *), "GLIBC_2.3.2")         \
  X(int, pthread_cond_destroy, (pthread_cond_t *), "GLIBC_2.3.2")                                  \
  X(int, compat_pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *), "GLIBC_2.2.5")           \
  X(int, compat_pthread_cond_timedwait,                                                            \
    (pthread_cond_t *, pthread_mutex_t *, const struct timespec *), "GLIBC_2.2.5")                 \
  X(int, compat_pthread_cond_signal, (pthread_cond_t *), "GLIBC_2.2.5")                            \
  X(int, compat_pthread_cond_broadcast, (pthread_cond_t *), "GLIBC_2.2.5")                         \
  X(int, compat_pthread_cond_init, (pthread_cond_t *, const pthread_condattr_t *), "GLIBC_2.2.5")  \
  X(int, compat_pthread_cond_destroy, (pthread_cond_t *), "GLIBC_2.2.5")                           \
  X(int, sem_wait, (sem_t *), NULL)                                                                \
  X(int, sem_timedwait, (sem_t *, const struct timespec *), NULL)                                  \
  X(int, sem_clockwait, (sem_t *, clockid_t, const struct timespec *), NULL)                       \
  X(int, sem_trywait, (sem_t *), NULL)                                                             \
  X(int, sem_post, (sem_t *), NULL)                                                                \
  X(int, sem_destroy, (sem_t *), NULL)                                                             \
  X(int, pthread_barrier_wait, (pthread_barrier_t *), NULL)                                        \
  X(int, pthread_barrier_destroy, (pthread_barrier_t *), NULL)                                     \
  X(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *), NULL)   \
  X(int, pthread_join, (pthread_t, void **), NULL)                                                 \
  X(int, pthread_tryjoin_np, (pthread_t, void **), NULL)                                           \
  X(int, pthread_timedjoin_np, (pthread_t, void **, const struct timespec *), NULL)                \
  X(int, pthread_clockjoin_np, (pthread_t, void **, clockid_t, const struct timespec *), NULL)     \
  X(int, pthread_detach, (pthread_t), NULL)                                                        \
  X(void, pthread_exit, (void *), NULL)                                                            \
  X(int, pthread_setname_np, (pthread_t, const char *), NULL)                                      \
  X(int, thrd_create, (thrd_t *, thrd_start_t, void *), NULL)                                      \
  X(int, thrd_join, (thrd_t, int *), NULL)                                                         \
  X(int, thrd_detach, (thrd_t), NULL)                                                              \
  X(void, thrd_exit, (int), NULL)                                                                  \
  X(int, mtx_lock, (mtx_t *), NULL)                                                                \
  X(int, mtx_trylock, (mtx_t *), NULL)                                                             \
  X(int, mtx_timedlock, (mtx_t *__restrict, const struct timespec *__restrict), NULL)              \
  X(int, mtx_unlock, (mtx_t *), NULL)                                                              \
  X(int, mtx_init, (mtx_t *, int), NULL)                                                           \
  X(void, mtx_destroy, (mtx_t *), NULL)                                                            \
  X(int, cnd_wait, (cnd_t *, mtx_t *), NULL)                                                       \
  X(int, cnd_timedwait, (cnd_t *__restrict, mtx_t *__restrict, const struct timespec *__restrict), \
    NULL)                                                                                          \
  X(int, cnd_signal, (cnd_t *), NULL)                                                              \
  X(int, cnd_broadcast, (cnd_t *), NULL)                                                           \
  X(void, cnd_destroy, (cnd_t *), NULL)

#define LW_REAL_FIELD(ret, name, params, version) ret(*name) params;
struct lw_real_table {
  LW_REAL_FUNCTIONS(LW_REAL_FIELD)
};
extern struct lw_real_table lw_real __attribute__((visibility("hidden")));

enum lw_init_state {
  LW_INIT_NONE,     /* nothing done yet */
  LW_INIT_RUNNING,  /* one thread is resolving symbols and building state */
  LW_INIT_READY,    /* tracking */
  LW_INIT_DISABLED, /* something failed: every wrapper only forwards */
};
extern _Atomic int lw_init_state;

/* Make the shim ready (idempotent, any thread, any time). Returns false for
 * a thread that must not track now: the one doing the resolving, or a
 * disabled shim. Safe to call from any wrapper. */
bool lw_init_ensure(void);

/* True on the thread currently resolving symbols: its wrappers must not call
 * lw_real (not filled yet) and must pretend locks succeed. */
extern LW_TLS bool lw_init_resolving_here;

#endif
