/*
 * calls.h - the one table of the calls a thread can be seen waiting in,
 * with what each waits for. The deadlock analysis, the snapshot (whose
 * field names the owner), the writers, misuse checks, leakwatch-inspect and
 * (generated) the command line all classify a call through these columns;
 * none keeps a list of its own.
 *
 * X(name, object, access, wait)
 *   object: what the call waits on (enum lw_object)
 *   access: EXCLUSIVE - it waits for the object's one owner (a mutex, a
 *           rwlock's write lock, a thread to end: the owner is the thread);
 *           SHARED - it waits only for a writer (a rwlock's read lock);
 *           NONE - nobody owns what it waits for (a cond, a semaphore)
 *   wait:   FOREVER - until it gets what it waits for; TIMED - it gives up by
 *           itself (never part of a deadlock); TRY - it never blocks
 */
#ifndef LW_CALLS_H
#define LW_CALLS_H

#include <stdbool.h>

/* clang-format off */
#define LW_CALLS(X)                                                                                \
  X(pthread_mutex_lock,         MUTEX,   EXCLUSIVE, FOREVER)                                       \
  X(pthread_mutex_timedlock,    MUTEX,   EXCLUSIVE, TIMED)                                         \
  X(pthread_mutex_clocklock,    MUTEX,   EXCLUSIVE, TIMED)                                         \
  X(pthread_mutex_trylock,      MUTEX,   EXCLUSIVE, TRY)                                           \
  X(pthread_rwlock_rdlock,      RWLOCK,  SHARED,    FOREVER)                                       \
  X(pthread_rwlock_wrlock,      RWLOCK,  EXCLUSIVE, FOREVER)                                       \
  X(pthread_rwlock_tryrdlock,   RWLOCK,  SHARED,    TRY)                                           \
  X(pthread_rwlock_trywrlock,   RWLOCK,  EXCLUSIVE, TRY)                                           \
  X(pthread_rwlock_timedrdlock, RWLOCK,  SHARED,    TIMED)                                         \
  X(pthread_rwlock_timedwrlock, RWLOCK,  EXCLUSIVE, TIMED)                                         \
  X(pthread_rwlock_clockrdlock, RWLOCK,  SHARED,    TIMED)                                         \
  X(pthread_rwlock_clockwrlock, RWLOCK,  EXCLUSIVE, TIMED)                                         \
  X(pthread_cond_wait,          COND,    NONE,      FOREVER)                                       \
  X(pthread_cond_timedwait,     COND,    NONE,      TIMED)                                         \
  X(pthread_cond_clockwait,     COND,    NONE,      TIMED)                                         \
  X(sem_wait,                   SEM,     NONE,      FOREVER)                                       \
  X(sem_timedwait,              SEM,     NONE,      TIMED)                                         \
  X(sem_clockwait,              SEM,     NONE,      TIMED)                                         \
  X(pthread_barrier_wait,       BARRIER, NONE,      FOREVER)                                       \
  X(pthread_join,               THREAD,  EXCLUSIVE, FOREVER)                                       \
  X(pthread_timedjoin_np,       THREAD,  EXCLUSIVE, TIMED)                                         \
  X(pthread_clockjoin_np,       THREAD,  EXCLUSIVE, TIMED)                                         \
  X(mtx_lock,                   MUTEX,   EXCLUSIVE, FOREVER)                                       \
  X(mtx_timedlock,              MUTEX,   EXCLUSIVE, TIMED)                                         \
  X(mtx_trylock,                MUTEX,   EXCLUSIVE, TRY)                                           \
  X(cnd_wait,                   COND,    NONE,      FOREVER)                                       \
  X(cnd_timedwait,              COND,    NONE,      TIMED)                                         \
  X(thrd_join,                  THREAD,  EXCLUSIVE, FOREVER)                                       \
  X(futex,                      FUTEX,   NONE,      FOREVER)                                       \
  X(futex_lock_pi,              FUTEX,   NONE,      FOREVER)                                       \
  X(futex_waitv,                FUTEX,   NONE,      FOREVER)
/* clang-format on */

/* What a call waits on. X(id, name as reports say it) */
#define LW_OBJECTS(X)                                                                              \
  X(MUTEX, "mutex")                                                                                \
  X(RWLOCK, "rwlock")                                                                              \
  X(COND, "condition variable")                                                                    \
  X(SEM, "semaphore")                                                                              \
  X(BARRIER, "barrier")                                                                            \
  X(THREAD, "thread")                                                                              \
  X(FUTEX, "futex")

#define LW_OBJECT_ENUM(id, name) LW_OBJECT_##id,
enum lw_object { LW_OBJECTS(LW_OBJECT_ENUM) LW_OBJECT_COUNT };
#undef LW_OBJECT_ENUM

enum lw_access { LW_ACCESS_NONE, LW_ACCESS_SHARED, LW_ACCESS_EXCLUSIVE };
enum lw_wait_bound { LW_WAIT_FOREVER, LW_WAIT_TIMED, LW_WAIT_TRY };

#define LW_CALL_ENUM(name, object, access, wait) LW_CALL_##name,
enum lw_call { LW_CALLS(LW_CALL_ENUM) LW_CALL_COUNT };
#undef LW_CALL_ENUM

typedef struct lw_call_info {
  const char *name;
  enum lw_object object;
  enum lw_access access;
  enum lw_wait_bound wait;
} lw_call_info;

extern const lw_call_info lw_calls[LW_CALL_COUNT];
extern const char *const lw_object_names[LW_OBJECT_COUNT];

static inline const char *lw_calls_name(int call) { return lw_calls[call].name; }
static inline enum lw_object lw_calls_object(int call) { return lw_calls[call].object; }
/* It gives up by itself, or never blocks. */
static inline bool lw_calls_timed(int call) { return lw_calls[call].wait != LW_WAIT_FOREVER; }
static inline bool lw_calls_blocks(int call) { return lw_calls[call].wait != LW_WAIT_TRY; }
/* Whoever it waits for is one thread the report can name (an owner). */
static inline bool lw_calls_has_owner(int call) { return lw_calls[call].access != LW_ACCESS_NONE; }
static inline bool lw_calls_is_join(int call) { return lw_calls[call].object == LW_OBJECT_THREAD; }
/* "mutex", "rwlock", "thread"... */
static inline const char *lw_calls_object_name(int call) {
  return lw_object_names[lw_calls[call].object];
}

/* The call named `name`; false if the table has none. */
bool lw_calls_parse(const char *name, enum lw_call *out);

#endif
