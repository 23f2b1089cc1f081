/*
 * forward.c - the floor of interposition: a preload library that wraps the
 * calls lwbench makes which leakwatch also wraps, and only forwards them.
 * What it costs is what any LD_PRELOAD tool pays before doing anything
 * (the PLT now lands in a wrapper, one more indirect jump); run_bench.py
 * --floor-lib runs it beside the base and the shim, so the shim's ratio can
 * be read against the floor measured in the same run.
 */
#define _GNU_SOURCE
/* syscall is forwarded as seven longs, as the shim does (intercept_syscall.c):
 * no <unistd.h> here, whose prototype is variadic. */
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

/* X(return type, name, parameters, arguments) */
#define FORWARDED(X)                                                                               \
  X(int, pthread_create,                                                                           \
    (pthread_t * thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg),           \
    (thread, attr, start, arg))                                                                    \
  X(int, pthread_join, (pthread_t thread, void **result), (thread, result))                        \
  X(int, pthread_mutex_init, (pthread_mutex_t * mutex, const pthread_mutexattr_t *attr),           \
    (mutex, attr))                                                                                 \
  X(int, pthread_mutex_destroy, (pthread_mutex_t * mutex), (mutex))                                \
  X(int, pthread_mutex_lock, (pthread_mutex_t * mutex), (mutex))                                   \
  X(int, pthread_mutex_unlock, (pthread_mutex_t * mutex), (mutex))                                 \
  X(int, pthread_cond_wait, (pthread_cond_t * cond, pthread_mutex_t * mutex), (cond, mutex))       \
  X(int, pthread_cond_signal, (pthread_cond_t * cond), (cond))                                     \
  X(int, pthread_rwlock_rdlock, (pthread_rwlock_t * lock), (lock))                                 \
  X(int, pthread_rwlock_unlock, (pthread_rwlock_t * lock), (lock))                                 \
  X(int, sem_wait, (sem_t * sem), (sem))                                                           \
  X(int, sem_post, (sem_t * sem), (sem))                                                           \
  X(long, syscall, (long n, long a1, long a2, long a3, long a4, long a5, long a6),                 \
    (n, a1, a2, a3, a4, a5, a6))

/* The condition-variable calls the program links against are the
 * GLIBC_2.3.2 versions; the others have one version. A lookup that
 * succeeds does not allocate (a failed one would, for its error text). */
static void *next_symbol(const char *name) {
  if (strncmp(name, "pthread_cond_", 13) == 0)
    return dlvsym(RTLD_NEXT, name, "GLIBC_2.3.2");
  return dlsym(RTLD_NEXT, name);
}

/* Another library's constructor may call first (jemalloc's, in
 * redis-server, locks a mutex before ours has run): resolve then. */
#define DEFINE_FORWARD(type, name, params, args)                                                   \
  static type(*real_##name) params;                                                                \
  EXPORT type name params {                                                                        \
    if (__builtin_expect(!real_##name, 0))                                                         \
      real_##name = (type(*) params)next_symbol(#name);                                            \
    return real_##name args;                                                                       \
  }
FORWARDED(DEFINE_FORWARD)

__attribute__((constructor(101))) static void resolve(void) {
#define RESOLVE(type, name, params, args) real_##name = (type(*) params)next_symbol(#name);
  FORWARDED(RESOLVE)
}
