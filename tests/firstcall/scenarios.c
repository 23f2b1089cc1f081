/*
 * scenarios.c - one scenario per wrapped function of the shim, each calling
 * its function once as the very first call into the shim (firstcall.h).
 *
 * The list is generated from the shim's own table, LW_REAL_FUNCTIONS
 * (src/interpose.h): a function added there without a scenario_<name> here
 * fails the build (an undefined reference), so no wrapper escapes the test.
 *
 * Everything around the call (making the objects, helper threads, looking
 * at the effect) goes to glibc directly, through dlsym on libc's own handle,
 * which never finds the preloaded shim: the shim sees nothing before the
 * call. Threads made that way are threads the shim never saw created. Each
 * scenario prints the return value, errno and what the call did, so a run
 * with the shim must print exactly what a run without it prints. Nothing
 * blocks forever: a helper wakes every wait, deadlines are in the past, and
 * a watchdog prints HUNG and exits.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include <linux/futex.h>

#include "firstcall.h"
#include "interpose.h"

/* ---- glibc's own definitions, for everything but the call under test ---- */

#define GLIBC_FUNCTIONS(G)                                                                         \
  G(int, pthread_mutex_init, (pthread_mutex_t *, const pthread_mutexattr_t *))                     \
  G(int, pthread_mutex_lock, (pthread_mutex_t *))                                                  \
  G(int, pthread_mutex_trylock, (pthread_mutex_t *))                                               \
  G(int, pthread_mutex_unlock, (pthread_mutex_t *))                                                \
  G(int, pthread_mutexattr_init, (pthread_mutexattr_t *))                                          \
  G(int, pthread_mutexattr_settype, (pthread_mutexattr_t *, int))                                  \
  G(int, pthread_rwlock_init, (pthread_rwlock_t *, const pthread_rwlockattr_t *))                  \
  G(int, pthread_rwlock_wrlock, (pthread_rwlock_t *))                                              \
  G(int, pthread_rwlock_rdlock, (pthread_rwlock_t *))                                              \
  G(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *))                                           \
  G(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *))                                           \
  G(int, pthread_rwlock_unlock, (pthread_rwlock_t *))                                              \
  G(int, pthread_cond_init, (pthread_cond_t *, const pthread_condattr_t *))                        \
  G(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *))                                 \
  G(int, pthread_cond_timedwait, (pthread_cond_t *, pthread_mutex_t *, const struct timespec *))   \
  G(int, pthread_cond_signal, (pthread_cond_t *))                                                  \
  G(int, sem_init, (sem_t *, int, unsigned))                                                       \
  G(int, sem_getvalue, (sem_t *, int *))                                                           \
  G(int, sem_wait, (sem_t *))                                                                      \
  G(int, sem_post, (sem_t *))                                                                      \
  G(int, sem_timedwait, (sem_t *, const struct timespec *))                                        \
  G(int, pthread_barrier_init, (pthread_barrier_t *, const pthread_barrierattr_t *, unsigned))     \
  G(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))         \
  G(int, pthread_join, (pthread_t, void **))                                                       \
  G(int, pthread_timedjoin_np, (pthread_t, void **, const struct timespec *))                      \
  G(pthread_t, pthread_self, (void))                                                               \
  G(int, pthread_getname_np, (pthread_t, char *, size_t))                                          \
  G(int, pthread_getattr_np, (pthread_t, pthread_attr_t *))                                        \
  G(int, pthread_attr_getdetachstate, (const pthread_attr_t *, int *))                             \
  G(int, pthread_attr_destroy, (pthread_attr_t *))                                                 \
  G(int, thrd_create, (thrd_t *, thrd_start_t, void *))                                            \
  G(int, thrd_join, (thrd_t, int *))                                                               \
  G(int, mtx_init, (mtx_t *, int))                                                                 \
  G(int, mtx_lock, (mtx_t *))                                                                      \
  G(int, mtx_trylock, (mtx_t *))                                                                   \
  G(int, mtx_unlock, (mtx_t *))                                                                    \
  G(int, cnd_init, (cnd_t *))                                                                      \
  G(int, cnd_wait, (cnd_t *, mtx_t *))                                                             \
  G(int, cnd_timedwait, (cnd_t *, mtx_t *, const struct timespec *))                               \
  G(int, cnd_signal, (cnd_t *))                                                                    \
  G(int, cnd_broadcast, (cnd_t *))                                                                 \
  G(int, pthread_cond_broadcast, (pthread_cond_t *))

#define GLIBC_FIELD(ret, name, params) ret(*name) params;
static struct {
  GLIBC_FUNCTIONS(GLIBC_FIELD)
  /* The GLIBC_2.2.5 condition variable (a pointer to a new one inside). */
  int (*compat_cond_init)(pthread_cond_t *, const pthread_condattr_t *);
  int (*compat_cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
  int (*compat_cond_signal)(pthread_cond_t *);
  int (*compat_cond_broadcast)(pthread_cond_t *);
} glibc;

/* The shim's old-ABI wrappers, as a program linked in 2002 reaches them. */
static void *old_abi(const char *name) {
  void *f = dlvsym(RTLD_DEFAULT, name, "GLIBC_2.2.5");
  if (!f) {
    printf("setup: no %s@GLIBC_2.2.5\n", name);
    exit(2);
  }
  return f;
}

static void *from_libc(void *libc, const char *name, const char *version) {
  void *f = version ? dlvsym(libc, name, version) : dlsym(libc, name);
  Dl_info info;
  /* Must be glibc's, never the shim's: the shim must see nothing but the
   * call under test. */
  if (!f || !dladdr(f, &info) || !info.dli_fname || !strstr(info.dli_fname, "libc.so")) {
    printf("setup: %s does not come from libc (%s)\n", name,
           f && dladdr(f, &info) ? info.dli_fname : "not found");
    exit(2);
  }
  return f;
}

#define GLIBC_RESOLVE(ret, name, params) *(void **)&glibc.name = from_libc(libc, #name, NULL);
static void glibc_resolve(void) {
  void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
  if (!libc) {
    printf("setup: libc.so.6 not loaded\n");
    exit(2);
  }
  GLIBC_FUNCTIONS(GLIBC_RESOLVE)
  *(void **)&glibc.compat_cond_init = from_libc(libc, "pthread_cond_init", "GLIBC_2.2.5");
  *(void **)&glibc.compat_cond_timedwait = from_libc(libc, "pthread_cond_timedwait", "GLIBC_2.2.5");
  *(void **)&glibc.compat_cond_signal = from_libc(libc, "pthread_cond_signal", "GLIBC_2.2.5");
  *(void **)&glibc.compat_cond_broadcast = from_libc(libc, "pthread_cond_broadcast", "GLIBC_2.2.5");
}

/* ---- small tools, all glibc-direct ---- */

#define SENTINEL 1234

static struct timespec deadline(clockid_t clock, long ms) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  long long ns = ts.tv_nsec + ms * 1000000LL;
  /* Negative ms: a deadline in the past. */
  while (ns < 0) {
    ns += 1000000000LL;
    ts.tv_sec--;
  }
  ts.tv_sec += ns / 1000000000LL;
  ts.tv_nsec = ns % 1000000000LL;
  return ts;
}

static pthread_t helper(void *(*start)(void *), void *arg) {
  pthread_t t;
  if (glibc.pthread_create(&t, NULL, start, arg) != 0) {
    printf("setup: pthread_create failed\n");
    exit(2);
  }
  return t;
}

/* Join a helper, printing its result; a helper still running after 5 s is
 * reported rather than waited for. */
static void join_helper(pthread_t t, const char *what) {
  void *result;
  struct timespec until = deadline(CLOCK_REALTIME, 5000);
  int rc = glibc.pthread_timedjoin_np(t, &result, &until);
  if (rc == 0)
    printf("%s: %ld\n", what, (long)(intptr_t)result);
  else
    printf("%s: still running (%d)\n", what, rc);
}

static void normal_mutex(pthread_mutex_t *m) { glibc.pthread_mutex_init(m, NULL); }

/* What a mutex looks like from another thread: free or taken. */
static void *try_mutex_elsewhere(void *m) {
  int rc = glibc.pthread_mutex_trylock(m);
  if (rc == 0)
    glibc.pthread_mutex_unlock(m);
  return (void *)(intptr_t)rc;
}

static void *try_rwlock_elsewhere(void *l) {
  int rd = glibc.pthread_rwlock_tryrdlock(l);
  if (rd == 0)
    glibc.pthread_rwlock_unlock(l);
  int wr = glibc.pthread_rwlock_trywrlock(l);
  if (wr == 0)
    glibc.pthread_rwlock_unlock(l);
  return (void *)(intptr_t)(rd * 1000 + wr);
}

static void *try_mtx_elsewhere(void *m) {
  int rc = glibc.mtx_trylock(m);
  if (rc == thrd_success)
    glibc.mtx_unlock(m);
  return (void *)(intptr_t)rc;
}

static void show_mutex(pthread_mutex_t *m) {
  join_helper(helper(try_mutex_elsewhere, m), "trylock from another thread");
}
static void show_rwlock(pthread_rwlock_t *l) {
  join_helper(helper(try_rwlock_elsewhere, l), "tryrdlock*1000+trywrlock from another thread");
}
static void show_mtx(mtx_t *m) {
  join_helper(helper(try_mtx_elsewhere, m), "mtx_trylock from another thread");
}

static void show(const char *call, int rc) {
  printf("%s: returned %d, errno %d\n", call, rc, errno);
}

/* ---- mutexes ---- */

void scenario_pthread_mutex_lock(void) {
  static pthread_mutex_t m;
  normal_mutex(&m);
  errno = SENTINEL;
  show("pthread_mutex_lock", pthread_mutex_lock(&m));
  show_mutex(&m);
}

void scenario_pthread_mutex_trylock(void) {
  static pthread_mutex_t m;
  normal_mutex(&m);
  errno = SENTINEL;
  show("pthread_mutex_trylock", pthread_mutex_trylock(&m));
  show_mutex(&m);
}

void scenario_pthread_mutex_unlock(void) {
  static pthread_mutex_t m;
  normal_mutex(&m);
  glibc.pthread_mutex_lock(&m);
  errno = SENTINEL;
  show("pthread_mutex_unlock", pthread_mutex_unlock(&m));
  show_mutex(&m);
}

void scenario_pthread_mutex_timedlock(void) {
  static pthread_mutex_t m;
  normal_mutex(&m);
  struct timespec until = deadline(CLOCK_REALTIME, 5000);
  errno = SENTINEL;
  show("pthread_mutex_timedlock", pthread_mutex_timedlock(&m, &until));
  show_mutex(&m);
}

void scenario_pthread_mutex_clocklock(void) {
  static pthread_mutex_t m;
  normal_mutex(&m);
  struct timespec until = deadline(CLOCK_MONOTONIC, 5000);
  errno = SENTINEL;
  show("pthread_mutex_clocklock", pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &until));
  show_mutex(&m);
}

void scenario_pthread_mutex_init(void) {
  static pthread_mutex_t m;
  pthread_mutexattr_t attr;
  glibc.pthread_mutexattr_init(&attr);
  glibc.pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  errno = SENTINEL;
  show("pthread_mutex_init(recursive)", pthread_mutex_init(&m, &attr));
  /* Recursive: the owner takes it twice. A normal one says EBUSY. */
  int first = glibc.pthread_mutex_trylock(&m);
  int second = glibc.pthread_mutex_trylock(&m);
  printf("two trylocks: %d %d\n", first, second);
}

void scenario_pthread_mutex_destroy(void) {
  static pthread_mutex_t m;
  normal_mutex(&m);
  errno = SENTINEL;
  show("pthread_mutex_destroy", pthread_mutex_destroy(&m));
}

/* ---- rwlocks ---- */

#define RWLOCK_SCENARIO(name, call)                                                                \
  void scenario_##name(void) {                                                                     \
    static pthread_rwlock_t l;                                                                     \
    glibc.pthread_rwlock_init(&l, NULL);                                                           \
    struct timespec real_until = deadline(CLOCK_REALTIME, 5000);                                   \
    struct timespec mono_until = deadline(CLOCK_MONOTONIC, 5000);                                  \
    (void)real_until, (void)mono_until;                                                            \
    errno = SENTINEL;                                                                              \
    show(#name, call);                                                                             \
    show_rwlock(&l);                                                                               \
  }
RWLOCK_SCENARIO(pthread_rwlock_rdlock, pthread_rwlock_rdlock(&l))
RWLOCK_SCENARIO(pthread_rwlock_wrlock, pthread_rwlock_wrlock(&l))
RWLOCK_SCENARIO(pthread_rwlock_tryrdlock, pthread_rwlock_tryrdlock(&l))
RWLOCK_SCENARIO(pthread_rwlock_trywrlock, pthread_rwlock_trywrlock(&l))
RWLOCK_SCENARIO(pthread_rwlock_timedrdlock, pthread_rwlock_timedrdlock(&l, &real_until))
RWLOCK_SCENARIO(pthread_rwlock_timedwrlock, pthread_rwlock_timedwrlock(&l, &real_until))
RWLOCK_SCENARIO(pthread_rwlock_clockrdlock,
                pthread_rwlock_clockrdlock(&l, CLOCK_MONOTONIC, &mono_until))
RWLOCK_SCENARIO(pthread_rwlock_clockwrlock,
                pthread_rwlock_clockwrlock(&l, CLOCK_MONOTONIC, &mono_until))
RWLOCK_SCENARIO(pthread_rwlock_destroy, pthread_rwlock_destroy(&l))

void scenario_pthread_rwlock_unlock(void) {
  static pthread_rwlock_t l;
  glibc.pthread_rwlock_init(&l, NULL);
  glibc.pthread_rwlock_wrlock(&l);
  errno = SENTINEL;
  show("pthread_rwlock_unlock", pthread_rwlock_unlock(&l));
  show_rwlock(&l);
}

void scenario_pthread_rwlock_init(void) {
  static pthread_rwlock_t l;
  memset(&l, 0xa5, sizeof l); /* an init that does nothing leaves this */
  errno = SENTINEL;
  show("pthread_rwlock_init", pthread_rwlock_init(&l, NULL));
  show_rwlock(&l);
}

/* ---- condition variables, both ABIs ---- */

/* Two threads wait on a condition variable (pthread, old-ABI pthread or
 * C11: the same shapes, through void pointers); the call under test wakes
 * them. Then the waiters that return are awaited, `released` is set and
 * the rest are released through glibc: each waiter reports its return code
 * and whether it returned before the release. signal wakes one waiter
 * before (0/0) and one after (0/1); broadcast wakes both before. */
struct wake_party {
  void *cond, *mutex;
  int (*lock)(void *), (*unlock)(void *);
  int (*timedwait)(void *, void *, const struct timespec *);
  int (*broadcast)(void *);
  int released;
  sem_t waiting; /* posted with the mutex held, just before the wait */
  sem_t done;
};

static void *wake_party_waiter(void *arg) {
  struct wake_party *p = arg;
  struct timespec until = deadline(CLOCK_REALTIME, 5000);
  p->lock(p->mutex);
  glibc.sem_post(&p->waiting);
  int rc = p->timedwait(p->cond, p->mutex, &until);
  int released = p->released;
  p->unlock(p->mutex);
  glibc.sem_post(&p->done);
  return (void *)(intptr_t)(rc * 10 + released);
}

static void wake_scenario(const char *name, struct wake_party *p, int (*wake)(void *)) {
  glibc.sem_init(&p->waiting, 0, 0);
  glibc.sem_init(&p->done, 0, 0);
  pthread_t t[2];
  for (int i = 0; i < 2; i++) {
    t[i] = helper(wake_party_waiter, p);
    glibc.sem_wait(&p->waiting);
    p->lock(p->mutex); /* returns once the waiter is inside its wait */
    p->unlock(p->mutex);
  }
  errno = SENTINEL;
  show(name, wake(p->cond));
  glibc.sem_wait(&p->done); /* a waiter woke (or timed out, 5 s) */
  /* The other one, if it was woken too, needs the mutex back: give it a
   * moment before the release (a signal costs this wait once). */
  struct timespec moment = deadline(CLOCK_REALTIME, 300);
  if (glibc.sem_timedwait(&p->done, &moment) == 0)
    glibc.sem_post(&p->done);
  p->lock(p->mutex);
  p->released = 1;
  p->broadcast(p->cond);
  p->unlock(p->mutex);
  void *r0, *r1;
  glibc.pthread_join(t[0], &r0);
  glibc.pthread_join(t[1], &r1);
  int a = (int)(intptr_t)r0, b = (int)(intptr_t)r1;
  printf("waiters returned (code/released): %d/%d and %d/%d\n", (a < b ? a : b) / 10,
         (a < b ? a : b) % 10, (a < b ? b : a) / 10, (a < b ? b : a) % 10);
}

static void cond_wake_scenario(const char *name, int (*wake)(pthread_cond_t *), bool old_abi_cond) {
  static pthread_cond_t c;
  static pthread_mutex_t m;
  normal_mutex(&m);
  (old_abi_cond ? glibc.compat_cond_init : glibc.pthread_cond_init)(&c, NULL);
  static struct wake_party p;
  p = (struct wake_party){
      .cond = &c,
      .mutex = &m,
      .lock = (int (*)(void *))glibc.pthread_mutex_lock,
      .unlock = (int (*)(void *))glibc.pthread_mutex_unlock,
      .timedwait = (int (*)(void *, void *, const struct timespec *))(
          old_abi_cond ? glibc.compat_cond_timedwait : glibc.pthread_cond_timedwait),
      .broadcast = (int (*)(void *))(old_abi_cond ? glibc.compat_cond_broadcast
                                                  : glibc.pthread_cond_broadcast),
  };
  wake_scenario(name, &p, (int (*)(void *))wake);
}

void scenario_pthread_cond_signal(void) {
  cond_wake_scenario("pthread_cond_signal", pthread_cond_signal, false);
}
void scenario_pthread_cond_broadcast(void) {
  cond_wake_scenario("pthread_cond_broadcast", pthread_cond_broadcast, false);
}
void scenario_compat_pthread_cond_signal(void) {
  cond_wake_scenario("pthread_cond_signal@GLIBC_2.2.5", old_abi("pthread_cond_signal"), true);
}
void scenario_compat_pthread_cond_broadcast(void) {
  cond_wake_scenario("pthread_cond_broadcast@GLIBC_2.2.5", old_abi("pthread_cond_broadcast"), true);
}

struct cond_signaller {
  pthread_cond_t *cond;
  pthread_mutex_t *mutex;
  int woken;
};

/* Takes the mutex (so the main thread is inside its wait), sets the flag
 * and signals, glibc-direct, in the ABI of the condition variable. */
static void *cond_signaller(void *arg) {
  struct cond_signaller *s = arg;
  glibc.pthread_mutex_lock(s->mutex);
  s->woken = 1;
  glibc.pthread_cond_signal(s->cond);
  glibc.pthread_mutex_unlock(s->mutex);
  return NULL;
}

static void *compat_cond_signaller(void *arg) {
  struct cond_signaller *s = arg;
  glibc.pthread_mutex_lock(s->mutex);
  s->woken = 1;
  glibc.compat_cond_signal(s->cond);
  glibc.pthread_mutex_unlock(s->mutex);
  return NULL;
}

/* The main thread waits once (the call under test); a helper wakes it.
 * Afterwards the mutex must be held again. */
static void cond_wait_scenario(const char *name, int which, bool old_abi_cond) {
  static pthread_cond_t c;
  static pthread_mutex_t m;
  normal_mutex(&m);
  (old_abi_cond ? glibc.compat_cond_init : glibc.pthread_cond_init)(&c, NULL);
  struct cond_signaller s = {&c, &m, 0};
  struct timespec real_past = deadline(CLOCK_REALTIME, -1000);
  struct timespec mono_past = deadline(CLOCK_MONOTONIC, -1000);
  glibc.pthread_mutex_lock(&m);
  pthread_t t = 0;
  int rc;
  errno = SENTINEL;
  switch (which) {
  case 0: /* wait: woken by the helper */
    t = helper(old_abi_cond ? compat_cond_signaller : cond_signaller, &s);
    rc = old_abi_cond
             ? ((int (*)(pthread_cond_t *, pthread_mutex_t *))old_abi("pthread_cond_wait"))(&c, &m)
             : pthread_cond_wait(&c, &m);
    break;
  case 1: /* timedwait: a past deadline */
    rc = old_abi_cond
             ? ((int (*)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *))old_abi(
                   "pthread_cond_timedwait"))(&c, &m, &real_past)
             : pthread_cond_timedwait(&c, &m, &real_past);
    break;
  default: /* clockwait: a past deadline */
    rc = pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &mono_past);
    break;
  }
  show(name, rc);
  printf("woken by the helper: %d\n", s.woken);
  glibc.pthread_mutex_unlock(&m); /* fails (EPERM is not checked) if not held */
  show_mutex(&m);
  if (t)
    join_helper(t, "helper");
}

void scenario_pthread_cond_wait(void) { cond_wait_scenario("pthread_cond_wait", 0, false); }
void scenario_pthread_cond_timedwait(void) {
  cond_wait_scenario("pthread_cond_timedwait", 1, false);
}
void scenario_pthread_cond_clockwait(void) {
  cond_wait_scenario("pthread_cond_clockwait", 2, false);
}
void scenario_compat_pthread_cond_wait(void) {
  cond_wait_scenario("pthread_cond_wait@GLIBC_2.2.5", 0, true);
}
void scenario_compat_pthread_cond_timedwait(void) {
  cond_wait_scenario("pthread_cond_timedwait@GLIBC_2.2.5", 1, true);
}

/* init leaves the object usable: a timed wait with a past deadline times
 * out with the mutex held again. */
static void cond_init_scenario(const char *name, bool old_abi_cond) {
  static pthread_cond_t c;
  static pthread_mutex_t m;
  normal_mutex(&m);
  memset(&c, 0xa5, sizeof c); /* an init that does nothing leaves this */
  errno = SENTINEL;
  show(name, old_abi_cond ? ((int (*)(pthread_cond_t *, const pthread_condattr_t *))old_abi(
                                "pthread_cond_init"))(&c, NULL)
                          : pthread_cond_init(&c, NULL));
  struct timespec past = deadline(CLOCK_REALTIME, -1000);
  glibc.pthread_mutex_lock(&m);
  int rc =
      (old_abi_cond ? glibc.compat_cond_timedwait : glibc.pthread_cond_timedwait)(&c, &m, &past);
  glibc.pthread_mutex_unlock(&m);
  printf("timed wait on it: %d\n", rc);
}

void scenario_pthread_cond_init(void) { cond_init_scenario("pthread_cond_init", false); }
void scenario_compat_pthread_cond_init(void) {
  cond_init_scenario("pthread_cond_init@GLIBC_2.2.5", true);
}

void scenario_pthread_cond_destroy(void) {
  static pthread_cond_t c;
  glibc.pthread_cond_init(&c, NULL);
  errno = SENTINEL;
  show("pthread_cond_destroy", pthread_cond_destroy(&c));
}

void scenario_compat_pthread_cond_destroy(void) {
  static pthread_cond_t c;
  glibc.compat_cond_init(&c, NULL);
  errno = SENTINEL;
  show("pthread_cond_destroy@GLIBC_2.2.5",
       ((int (*)(pthread_cond_t *))old_abi("pthread_cond_destroy"))(&c));
}

/* ---- semaphores and barriers ---- */

static void show_sem(sem_t *s) {
  int value = -1;
  glibc.sem_getvalue(s, &value);
  printf("value: %d\n", value);
}

void scenario_sem_wait(void) {
  static sem_t s;
  glibc.sem_init(&s, 0, 1);
  errno = SENTINEL;
  show("sem_wait", sem_wait(&s));
  show_sem(&s);
}

void scenario_sem_timedwait(void) {
  static sem_t s;
  glibc.sem_init(&s, 0, 0);
  struct timespec past = deadline(CLOCK_REALTIME, -1000);
  errno = SENTINEL;
  show("sem_timedwait(empty, past)", sem_timedwait(&s, &past));
  show_sem(&s);
}

void scenario_sem_clockwait(void) {
  static sem_t s;
  glibc.sem_init(&s, 0, 2);
  struct timespec past = deadline(CLOCK_MONOTONIC, -1000);
  errno = SENTINEL;
  show("sem_clockwait(2, past)", sem_clockwait(&s, CLOCK_MONOTONIC, &past));
  show_sem(&s);
}

void scenario_sem_trywait(void) {
  static sem_t s;
  glibc.sem_init(&s, 0, 0);
  errno = SENTINEL;
  show("sem_trywait(empty)", sem_trywait(&s));
  show_sem(&s);
}

void scenario_sem_post(void) {
  static sem_t s;
  glibc.sem_init(&s, 0, 0);
  errno = SENTINEL;
  show("sem_post", sem_post(&s));
  show_sem(&s);
}

void scenario_sem_destroy(void) {
  static sem_t s;
  glibc.sem_init(&s, 0, 0);
  errno = SENTINEL;
  show("sem_destroy", sem_destroy(&s));
}

void scenario_pthread_barrier_wait(void) {
  static pthread_barrier_t b;
  glibc.pthread_barrier_init(&b, NULL, 1);
  errno = SENTINEL;
  show("pthread_barrier_wait(count 1)", pthread_barrier_wait(&b));
}

void scenario_pthread_barrier_destroy(void) {
  static pthread_barrier_t b;
  glibc.pthread_barrier_init(&b, NULL, 1);
  errno = SENTINEL;
  show("pthread_barrier_destroy", pthread_barrier_destroy(&b));
}

/* ---- threads ---- */

static void *returns_42(void *arg) {
  (void)arg;
  return (void *)42;
}

static sem_t release;
/* Runs until `release` is posted. */
static void *parked(void *arg) {
  glibc.sem_wait(&release);
  return arg;
}

void scenario_pthread_create(void) {
  pthread_t t;
  errno = SENTINEL;
  show("pthread_create", pthread_create(&t, NULL, returns_42, NULL));
  join_helper(t, "joined (glibc)");
}

void scenario_pthread_join(void) {
  pthread_t t = helper(returns_42, NULL);
  void *result = NULL;
  errno = SENTINEL;
  show("pthread_join", pthread_join(t, &result));
  printf("result: %ld\n", (long)(intptr_t)result);
}

void scenario_pthread_tryjoin_np(void) {
  glibc.sem_init(&release, 0, 0);
  pthread_t t = helper(parked, (void *)7);
  void *result = NULL;
  errno = SENTINEL;
  show("pthread_tryjoin_np(running)", pthread_tryjoin_np(t, &result));
  glibc.sem_post(&release);
  join_helper(t, "joined (glibc)");
}

void scenario_pthread_timedjoin_np(void) {
  pthread_t t = helper(returns_42, NULL);
  void *result = NULL;
  struct timespec until = deadline(CLOCK_REALTIME, 5000);
  errno = SENTINEL;
  show("pthread_timedjoin_np", pthread_timedjoin_np(t, &result, &until));
  printf("result: %ld\n", (long)(intptr_t)result);
}

void scenario_pthread_clockjoin_np(void) {
  pthread_t t = helper(returns_42, NULL);
  void *result = NULL;
  struct timespec until = deadline(CLOCK_MONOTONIC, 5000);
  errno = SENTINEL;
  show("pthread_clockjoin_np", pthread_clockjoin_np(t, &result, CLOCK_MONOTONIC, &until));
  printf("result: %ld\n", (long)(intptr_t)result);
}

static sem_t finished;
static void *parked_then_done(void *arg) {
  glibc.sem_wait(&release);
  glibc.sem_post(&finished);
  return arg;
}

static void show_detached(pthread_t t) {
  pthread_attr_t attr;
  int state = -1;
  glibc.pthread_getattr_np(t, &attr);
  glibc.pthread_attr_getdetachstate(&attr, &state);
  glibc.pthread_attr_destroy(&attr);
  printf("detached: %d\n", state == PTHREAD_CREATE_DETACHED);
}

void scenario_pthread_detach(void) {
  glibc.sem_init(&release, 0, 0);
  glibc.sem_init(&finished, 0, 0);
  pthread_t t = helper(parked_then_done, NULL);
  errno = SENTINEL;
  show("pthread_detach", pthread_detach(t));
  show_detached(t);
  glibc.sem_post(&release);
  glibc.sem_wait(&finished);
}

/* pthread_exit from a thread the shim never saw created. */
static void *exits_42(void *arg) {
  (void)arg;
  pthread_exit((void *)42);
}

void scenario_pthread_exit(void) {
  join_helper(helper(exits_42, NULL), "pthread_exit(42), joined");
}

/* exit as the first call: the process ends with its status, stdout
 * flushed, and the exit handlers run, as without the shim. */
static void said_goodbye(void) { puts("atexit handler ran"); }

void scenario_exit(void) {
  atexit(said_goodbye); /* not wrapped: no call into the shim */
  puts("exit(0)");      /* the test expects every scenario to end with 0 */
  exit(0);
}

void scenario_pthread_setname_np(void) {
  errno = SENTINEL;
  show("pthread_setname_np", pthread_setname_np(glibc.pthread_self(), "firstcall"));
  char name[16] = "";
  glibc.pthread_getname_np(glibc.pthread_self(), name, sizeof name);
  printf("name: %s\n", name);
}

/* ---- C11 threads ---- */

static int thrd_returns_42(void *arg) {
  (void)arg;
  return 42;
}

static void thrd_join_helper(thrd_t t, const char *what) {
  int result = -1;
  int rc = glibc.thrd_join(t, &result);
  printf("%s: %d %d\n", what, rc, result);
}

void scenario_thrd_create(void) {
  thrd_t t;
  errno = SENTINEL;
  show("thrd_create", thrd_create(&t, thrd_returns_42, NULL));
  thrd_join_helper(t, "joined (glibc)");
}

void scenario_thrd_join(void) {
  thrd_t t;
  glibc.thrd_create(&t, thrd_returns_42, NULL);
  int result = -1;
  errno = SENTINEL;
  show("thrd_join", thrd_join(t, &result));
  printf("result: %d\n", result);
}

static int thrd_parked_then_done(void *arg) {
  (void)arg;
  glibc.sem_wait(&release);
  glibc.sem_post(&finished);
  return 0;
}

void scenario_thrd_detach(void) {
  glibc.sem_init(&release, 0, 0);
  glibc.sem_init(&finished, 0, 0);
  thrd_t t;
  glibc.thrd_create(&t, thrd_parked_then_done, NULL);
  errno = SENTINEL;
  show("thrd_detach", thrd_detach(t));
  show_detached((pthread_t)t);
  glibc.sem_post(&release);
  glibc.sem_wait(&finished);
}

static int thrd_exits_42(void *arg) {
  (void)arg;
  thrd_exit(42);
}

void scenario_thrd_exit(void) {
  thrd_t t;
  glibc.thrd_create(&t, thrd_exits_42, NULL);
  thrd_join_helper(t, "thrd_exit(42), joined");
}

/* ---- C11 mutexes and condition variables ---- */

void scenario_mtx_lock(void) {
  static mtx_t m;
  glibc.mtx_init(&m, mtx_plain);
  errno = SENTINEL;
  show("mtx_lock", mtx_lock(&m));
  show_mtx(&m);
}

void scenario_mtx_trylock(void) {
  static mtx_t m;
  glibc.mtx_init(&m, mtx_plain);
  errno = SENTINEL;
  show("mtx_trylock", mtx_trylock(&m));
  show_mtx(&m);
}

void scenario_mtx_timedlock(void) {
  static mtx_t m;
  glibc.mtx_init(&m, mtx_timed);
  struct timespec until = deadline(CLOCK_REALTIME, 5000);
  errno = SENTINEL;
  show("mtx_timedlock", mtx_timedlock(&m, &until));
  show_mtx(&m);
}

void scenario_mtx_unlock(void) {
  static mtx_t m;
  glibc.mtx_init(&m, mtx_plain);
  glibc.mtx_lock(&m);
  errno = SENTINEL;
  show("mtx_unlock", mtx_unlock(&m));
  show_mtx(&m);
}

void scenario_mtx_init(void) {
  static mtx_t m;
  memset(&m, 0xa5, sizeof m); /* an init that does nothing leaves this */
  errno = SENTINEL;
  show("mtx_init(recursive)", mtx_init(&m, mtx_plain | mtx_recursive));
  int first = glibc.mtx_trylock(&m);
  int second = glibc.mtx_trylock(&m);
  printf("two trylocks: %d %d\n", first, second);
}

void scenario_mtx_destroy(void) {
  static mtx_t m;
  glibc.mtx_init(&m, mtx_plain);
  errno = SENTINEL;
  mtx_destroy(&m);
  printf("mtx_destroy: errno %d\n", errno);
}

struct cnd_party {
  cnd_t *cond;
  mtx_t *mutex;
  int woken;
};

static void *cnd_signaller(void *arg) {
  struct cnd_party *p = arg;
  glibc.mtx_lock(p->mutex);
  p->woken = 1;
  glibc.cnd_signal(p->cond);
  glibc.mtx_unlock(p->mutex);
  return NULL;
}

void scenario_cnd_wait(void) {
  static cnd_t c;
  static mtx_t m;
  glibc.mtx_init(&m, mtx_plain);
  glibc.cnd_init(&c);
  struct cnd_party p = {&c, &m, 0};
  glibc.mtx_lock(&m);
  pthread_t t = helper(cnd_signaller, &p);
  errno = SENTINEL;
  show("cnd_wait", cnd_wait(&c, &m));
  printf("woken by the helper: %d\n", p.woken);
  glibc.mtx_unlock(&m);
  show_mtx(&m);
  join_helper(t, "helper");
}

void scenario_cnd_timedwait(void) {
  static cnd_t c;
  static mtx_t m;
  glibc.mtx_init(&m, mtx_plain);
  glibc.cnd_init(&c);
  struct timespec past = deadline(CLOCK_REALTIME, -1000);
  glibc.mtx_lock(&m);
  errno = SENTINEL;
  show("cnd_timedwait(past)", cnd_timedwait(&c, &m, &past));
  glibc.mtx_unlock(&m);
  show_mtx(&m);
}

static void cnd_wake_scenario(const char *name, int (*wake)(cnd_t *)) {
  static cnd_t c;
  static mtx_t m;
  glibc.mtx_init(&m, mtx_plain);
  glibc.cnd_init(&c);
  static struct wake_party p;
  p = (struct wake_party){
      .cond = &c,
      .mutex = &m,
      .lock = (int (*)(void *))glibc.mtx_lock,
      .unlock = (int (*)(void *))glibc.mtx_unlock,
      .timedwait = (int (*)(void *, void *, const struct timespec *))glibc.cnd_timedwait,
      .broadcast = (int (*)(void *))glibc.cnd_broadcast,
  };
  wake_scenario(name, &p, (int (*)(void *))wake);
}

void scenario_cnd_signal(void) { cnd_wake_scenario("cnd_signal", cnd_signal); }
void scenario_cnd_broadcast(void) { cnd_wake_scenario("cnd_broadcast", cnd_broadcast); }

void scenario_cnd_destroy(void) {
  static cnd_t c;
  glibc.cnd_init(&c);
  errno = SENTINEL;
  cnd_destroy(&c);
  printf("cnd_destroy: errno %d\n", errno);
}

/* ---- scenarios for entries the table may gain (unused until then) ---- */

static int first_object(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  /* The executable comes first, with an empty name, shim or no shim. */
  *(int *)data = info->dlpi_name[0] == '\0';
  return 7;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* System V's, on purpose */
void scenario_sigset(void) {
  errno = SENTINEL;
  void (*was)(int) = sigset(SIGQUIT, SIG_HOLD);
  printf("sigset(SIGQUIT, SIG_HOLD) was: %s\n", was == SIG_HOLD  ? "SIG_HOLD"
                                                : was == SIG_DFL ? "SIG_DFL"
                                                                 : "other");
  was = sigset(SIGQUIT, SIG_DFL);
  printf("sigset(SIGQUIT, SIG_DFL) was: %s\n", was == SIG_HOLD  ? "SIG_HOLD"
                                               : was == SIG_DFL ? "SIG_DFL"
                                                                : "other");
  printf("errno: %d\n", errno);
}
#pragma GCC diagnostic pop

void scenario_chroot(void) {
  /* A directory that is not there: ENOENT as root, EPERM otherwise, shim
   * or no shim; then "/" (root only: changes nothing), where errno must
   * stay as it was. */
  errno = SENTINEL;
  show("chroot(missing)", chroot("/nonexistent/leakwatch-firstcall"));
  if (geteuid() == 0) {
    errno = SENTINEL;
    show("chroot(/)", chroot("/"));
  }
}

void scenario_dl_iterate_phdr(void) {
  int main_first = -1;
  errno = SENTINEL;
  show("dl_iterate_phdr", dl_iterate_phdr(first_object, &main_first));
  printf("the executable first: %d\n", main_first);
}

void scenario_syscall(void) {
  static uint32_t word = 1;
  errno = SENTINEL;
  /* A futex wait on a word that does not hold the expected value: EAGAIN. */
  show("syscall(futex wait, wrong value)",
       (int)syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
}

/* ---- signal dispositions (signals.c: report_signals) ---- */

static void show_disposition(const char *what, void (*handler)(int)) {
  printf("%s: %s\n", what,
         handler == SIG_DFL   ? "SIG_DFL"
         : handler == SIG_IGN ? "SIG_IGN"
                              : "a handler");
}

void scenario_sigaction(void) {
  struct sigaction old;
  memset(&old, 0, sizeof old);
  errno = SENTINEL;
  show("sigaction(SIGTERM, NULL, &old)", sigaction(SIGTERM, NULL, &old));
  show_disposition("SIGTERM", old.sa_handler);
}

void scenario_signal(void) {
  errno = SENTINEL;
  show_disposition("signal(SIGHUP, SIG_IGN) was", signal(SIGHUP, SIG_IGN));
  show_disposition("signal(SIGHUP, SIG_DFL) was", signal(SIGHUP, SIG_DFL));
  printf("errno: %d\n", errno);
}

/* Still exported by glibc 2.36, no longer declared with _GNU_SOURCE. */
extern __sighandler_t bsd_signal(int signo, __sighandler_t handler);

void scenario_bsd_signal(void) {
  errno = SENTINEL;
  show_disposition("bsd_signal(SIGINT, SIG_IGN) was", bsd_signal(SIGINT, SIG_IGN));
  show_disposition("bsd_signal(SIGINT, SIG_DFL) was", bsd_signal(SIGINT, SIG_DFL));
  printf("errno: %d\n", errno);
}

void scenario_sysv_signal(void) {
  errno = SENTINEL;
  show_disposition("sysv_signal(SIGQUIT, SIG_IGN) was", sysv_signal(SIGQUIT, SIG_IGN));
  show_disposition("sysv_signal(SIGQUIT, SIG_DFL) was", sysv_signal(SIGQUIT, SIG_DFL));
  printf("errno: %d\n", errno);
}

/* ---- the list, from the shim's table ---- */

/* A function of the table without a scenario is an undefined reference. */
#define SCENARIO_DECLARE(ret, name, ...) void scenario_##name(void);
LW_REAL_FUNCTIONS(SCENARIO_DECLARE)

static const struct scenario {
  const char *name;
  void (*run)(void);
} scenarios[] = {
#define SCENARIO_ENTRY(ret, name, ...) {#name, scenario_##name},
    LW_REAL_FUNCTIONS(SCENARIO_ENTRY)};

void firstcall_list(void) {
  for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
    printf("%s\n", scenarios[i].name);
}

static void watchdog(int sig) {
  (void)sig;
  static const char hung[] = "HUNG\n";
  fflush(stdout);
  write(STDOUT_FILENO, hung, sizeof hung - 1);
  _exit(3);
}

/* getenv does not work yet in .preinit_array (libc's constructor sets
 * environ): read the vector ld.so hands to every initialiser. */
static const char *env_value(char **envp, const char *name) {
  size_t len = strlen(name);
  for (; envp && *envp; envp++)
    if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
      return *envp + len + 1;
  return NULL;
}

void firstcall_phase(const char *phase, char **envp) {
  const char *want = env_value(envp, "FIRSTCALL_PHASE");
  if (!want || strcmp(want, phase) != 0)
    return;
  const char *name = env_value(envp, "FIRSTCALL_SCENARIO");
  for (size_t i = 0; name && i < sizeof scenarios / sizeof scenarios[0]; i++) {
    if (strcmp(scenarios[i].name, name) == 0) {
      glibc_resolve();
      signal(SIGALRM, watchdog);
      alarm(10);
      printf("%s in the %s phase\n", name, phase);
      scenarios[i].run();
      alarm(0);
      fflush(stdout);
      return;
    }
  }
  printf("no scenario %s\n", name ? name : "(FIRSTCALL_SCENARIO unset)");
  fflush(stdout);
  _exit(2);
}

/* Runs before the preloaded shim's constructor (ld.so initialises a
 * dependency of the executable before a preloaded library that nothing
 * needs). glibc passes initialisers argc, argv and the environment. */
__attribute__((constructor)) static void library_phase(int argc, char **argv, char **envp) {
  (void)argc, (void)argv;
  firstcall_phase("library", envp);
}
