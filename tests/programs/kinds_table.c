/*
 * kinds_table.c - the table of tests/test_results.py: for one kind of lock
 * (argv[1]), every call in every situation, one row each:
 *
 *     <kind> | <situation> | <call> | rc <return value> errno <errno>
 *
 * errno is set to a sentinel (1234) just before the call, so a call that
 * changes it shows. Each row runs in a child process of its own (fork), so
 * a row that hangs, crashes or leaves a lock in a strange state cannot
 * touch the next; a row that does not finish within 4 s prints HUNG.
 * Situations that would block forever in glibc itself (a normal mutex
 * locked again by its owner) are left out; a lock that has to wait for
 * another thread gets a releaser that lets go after 20 ms.
 *
 * `kinds_table --list` prints the kinds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#define SENTINEL 1234
#define FUTURE_MS 1500
#define RELEASE_MS 20

enum family { MUTEX, RWLOCK, MTX, THREAD };

struct kind {
  const char *name;
  enum family family;
  int type;     /* mutex type, rwlock kind, mtx type */
  bool robust;  /* PTHREAD_MUTEX_ROBUST */
  int protocol; /* PTHREAD_PRIO_* */
  bool pshared; /* PTHREAD_PROCESS_SHARED */
};

static const struct kind kinds[] = {
    {"normal", MUTEX, PTHREAD_MUTEX_NORMAL, false, PTHREAD_PRIO_NONE, false},
    {"recursive", MUTEX, PTHREAD_MUTEX_RECURSIVE, false, PTHREAD_PRIO_NONE, false},
    {"errorcheck", MUTEX, PTHREAD_MUTEX_ERRORCHECK, false, PTHREAD_PRIO_NONE, false},
    {"adaptive", MUTEX, PTHREAD_MUTEX_ADAPTIVE_NP, false, PTHREAD_PRIO_NONE, false},
    {"robust-normal", MUTEX, PTHREAD_MUTEX_NORMAL, true, PTHREAD_PRIO_NONE, false},
    {"robust-recursive", MUTEX, PTHREAD_MUTEX_RECURSIVE, true, PTHREAD_PRIO_NONE, false},
    {"robust-errorcheck", MUTEX, PTHREAD_MUTEX_ERRORCHECK, true, PTHREAD_PRIO_NONE, false},
    {"robust-adaptive", MUTEX, PTHREAD_MUTEX_ADAPTIVE_NP, true, PTHREAD_PRIO_NONE, false},
    {"pi", MUTEX, PTHREAD_MUTEX_NORMAL, false, PTHREAD_PRIO_INHERIT, false},
    {"pi-errorcheck", MUTEX, PTHREAD_MUTEX_ERRORCHECK, false, PTHREAD_PRIO_INHERIT, false},
    {"pi-robust", MUTEX, PTHREAD_MUTEX_NORMAL, true, PTHREAD_PRIO_INHERIT, false},
    {"pp", MUTEX, PTHREAD_MUTEX_NORMAL, false, PTHREAD_PRIO_PROTECT, false},
    {"pshared", MUTEX, PTHREAD_MUTEX_NORMAL, false, PTHREAD_PRIO_NONE, true},
    {"pshared-robust", MUTEX, PTHREAD_MUTEX_NORMAL, true, PTHREAD_PRIO_NONE, true},
    {"rwlock", RWLOCK, PTHREAD_RWLOCK_DEFAULT_NP, false, 0, false},
    {"rwlock-prefer-writer", RWLOCK, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP, false, 0, false},
    {"mtx-plain", MTX, mtx_plain, false, 0, false},
    {"mtx-recursive", MTX, mtx_plain | mtx_recursive, false, 0, false},
    {"mtx-timed", MTX, mtx_timed, false, 0, false},
    {"thread", THREAD, 0, false, 0, false},
};

/* ---- the objects (in shared memory, for the pshared kinds) ---- */

static union {
  pthread_mutex_t mutex;
  pthread_rwlock_t rwlock;
  mtx_t mtx;
} * obj;
static sem_t *held, *release;
static const struct kind *kind;

static struct timespec deadline(clockid_t clock, long ms) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  long long ns = ts.tv_nsec + ms * 1000000LL;
  while (ns < 0) {
    ns += 1000000000LL;
    ts.tv_sec--;
  }
  ts.tv_sec += ns / 1000000000LL;
  ts.tv_nsec = ns % 1000000000LL;
  return ts;
}

static bool is(const char *a, const char *b) { return strcmp(a, b) == 0; }
static bool starts(const char *a, const char *prefix) {
  return strncmp(a, prefix, strlen(prefix)) == 0;
}
static bool ends(const char *a, const char *suffix) {
  size_t la = strlen(a), ls = strlen(suffix);
  return la >= ls && strcmp(a + la - ls, suffix) == 0;
}

static int init_object(void) {
  switch (kind->family) {
  case MUTEX: {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, kind->type);
    if (kind->robust)
      pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutexattr_setprotocol(&attr, kind->protocol);
    if (kind->protocol == PTHREAD_PRIO_PROTECT)
      pthread_mutexattr_setprioceiling(&attr, sched_get_priority_min(SCHED_FIFO));
    if (kind->pshared)
      pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    int rc = pthread_mutex_init(&obj->mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc;
  }
  case RWLOCK: {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, kind->type);
    int rc = pthread_rwlock_init(&obj->rwlock, &attr);
    pthread_rwlockattr_destroy(&attr);
    return rc;
  }
  case MTX:
    return mtx_init(&obj->mtx, kind->type) == thrd_success ? 0 : -1;
  case THREAD:
    break;
  }
  return 0;
}

/* Take the object the way `how` says (read, write, or the one way). */
static int take(const char *how) {
  switch (kind->family) {
  case MUTEX:
    return pthread_mutex_lock(&obj->mutex);
  case RWLOCK:
    return is(how, "read") ? pthread_rwlock_rdlock(&obj->rwlock)
                           : pthread_rwlock_wrlock(&obj->rwlock);
  case MTX:
    return mtx_lock(&obj->mtx);
  case THREAD:
    break;
  }
  return 0;
}

static int give_back(void) {
  switch (kind->family) {
  case MUTEX:
    return pthread_mutex_unlock(&obj->mutex);
  case RWLOCK:
    return pthread_rwlock_unlock(&obj->rwlock);
  case MTX:
    return mtx_unlock(&obj->mtx);
  case THREAD:
    break;
  }
  return 0;
}

/* What the other thread's take returned (the situation's setup). */
static int other_rc;

/* Holds the object until `release` is posted. */
static void *holder(void *how) {
  other_rc = take(how);
  sem_post(held);
  sem_wait(release);
  give_back();
  return NULL;
}

/* Takes the object and ends without giving it back. */
static void *dies_holding(void *arg) {
  (void)arg;
  other_rc = take("write");
  return NULL;
}

static void *releaser(void *arg) {
  (void)arg;
  struct timespec pause = {0, RELEASE_MS * 1000000L};
  nanosleep(&pause, NULL);
  sem_post(release);
  return NULL;
}

/* Put the object in `situation`; nonzero if that failed. */
static int set_up(const char *situation) {
  if (is(situation, "free"))
    return 0;
  if (starts(situation, "self"))
    return take(ends(situation, "read") ? "read" : "write");
  if (starts(situation, "other")) {
    pthread_t t;
    pthread_create(&t, NULL, holder, (void *)(ends(situation, "read") ? "read" : "write"));
    pthread_detach(t);
    sem_wait(held);
    return other_rc;
  }
  /* dead, recovered, unrecoverable: robust mutexes */
  pthread_t t;
  pthread_create(&t, NULL, dies_holding, NULL);
  pthread_join(t, NULL);
  if (other_rc != 0 || is(situation, "dead"))
    return other_rc;
  int rc = pthread_mutex_lock(&obj->mutex);
  if (rc != EOWNERDEAD)
    return rc ? rc : -1;
  if (is(situation, "recovered"))
    pthread_mutex_consistent(&obj->mutex);
  return pthread_mutex_unlock(&obj->mutex);
}

/* ---- the calls ---- */

static const char *const mutex_situations[] = {"free", "self",      "other",
                                               "dead", "recovered", "unrecoverable"};
static const char *const mutex_calls[] = {
    "lock",           "trylock",          "timedlock-past", "timedlock-future",
    "clocklock-past", "clocklock-future", "unlock",         "destroy"};
static const char *const rwlock_situations[] = {"free", "self-read", "self-write", "other-read",
                                                "other-write"};
static const char *const rwlock_calls[] = {"rdlock",           "wrlock",
                                           "tryrdlock",        "trywrlock",
                                           "timedrdlock-past", "timedrdlock-future",
                                           "timedwrlock-past", "timedwrlock-future",
                                           "clockrdlock-past", "clockrdlock-future",
                                           "clockwrlock-past", "clockwrlock-future",
                                           "unlock",           "destroy"};
static const char *const mtx_situations[] = {"free", "self", "other"};
static const char *const mtx_calls[] = {"lock",   "trylock", "timedlock-past", "timedlock-future",
                                        "unlock", "destroy"};

/* A call that waits until the object is free (or its deadline). */
static bool waits(const char *call) {
  return is(call, "lock") || is(call, "rdlock") || is(call, "wrlock") || ends(call, "-future");
}
static bool writes(const char *call) { return strstr(call, "wr") != NULL; }

/* Would the call wait in this situation (for another thread, or for
 * ever)? */
static bool blocked(const char *situation, const char *call) {
  if (!waits(call))
    return false;
  if (kind->family == RWLOCK) {
    if (is(situation, "other-write"))
      return true;
    if (ends(situation, "-read"))
      return writes(call); /* a reader in: a writer waits */
    return false;          /* self-write: EDEADLK at once */
  }
  return starts(situation, "other") || starts(situation, "self");
}

/* Rows glibc itself cannot finish: the owner of a lock that does not
 * count or check waits for itself. */
static bool left_out(const char *situation, const char *call) {
  if (!blocked(situation, call) || !starts(situation, "self"))
    return false;
  if (kind->family == RWLOCK)
    return true; /* self-read, then a writer's lock */
  if (kind->family == MTX)
    return !(kind->type & mtx_recursive);
  return kind->type != PTHREAD_MUTEX_RECURSIVE && kind->type != PTHREAD_MUTEX_ERRORCHECK;
}

static int call_mutex(const char *call) {
  pthread_mutex_t *m = &obj->mutex;
  struct timespec real_past = deadline(CLOCK_REALTIME, -1000),
                  real_future = deadline(CLOCK_REALTIME, FUTURE_MS),
                  mono_past = deadline(CLOCK_MONOTONIC, -1000),
                  mono_future = deadline(CLOCK_MONOTONIC, FUTURE_MS);
  errno = SENTINEL;
  if (is(call, "lock"))
    return pthread_mutex_lock(m);
  if (is(call, "trylock"))
    return pthread_mutex_trylock(m);
  if (is(call, "timedlock-past"))
    return pthread_mutex_timedlock(m, &real_past);
  if (is(call, "timedlock-future"))
    return pthread_mutex_timedlock(m, &real_future);
  if (is(call, "clocklock-past"))
    return pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &mono_past);
  if (is(call, "clocklock-future"))
    return pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &mono_future);
  if (is(call, "unlock"))
    return pthread_mutex_unlock(m);
  return pthread_mutex_destroy(m);
}

static int call_rwlock(const char *call) {
  pthread_rwlock_t *l = &obj->rwlock;
  struct timespec real_past = deadline(CLOCK_REALTIME, -1000),
                  real_future = deadline(CLOCK_REALTIME, FUTURE_MS),
                  mono_past = deadline(CLOCK_MONOTONIC, -1000),
                  mono_future = deadline(CLOCK_MONOTONIC, FUTURE_MS);
  errno = SENTINEL;
  if (is(call, "rdlock"))
    return pthread_rwlock_rdlock(l);
  if (is(call, "wrlock"))
    return pthread_rwlock_wrlock(l);
  if (is(call, "tryrdlock"))
    return pthread_rwlock_tryrdlock(l);
  if (is(call, "trywrlock"))
    return pthread_rwlock_trywrlock(l);
  if (is(call, "timedrdlock-past"))
    return pthread_rwlock_timedrdlock(l, &real_past);
  if (is(call, "timedrdlock-future"))
    return pthread_rwlock_timedrdlock(l, &real_future);
  if (is(call, "timedwrlock-past"))
    return pthread_rwlock_timedwrlock(l, &real_past);
  if (is(call, "timedwrlock-future"))
    return pthread_rwlock_timedwrlock(l, &real_future);
  if (is(call, "clockrdlock-past"))
    return pthread_rwlock_clockrdlock(l, CLOCK_MONOTONIC, &mono_past);
  if (is(call, "clockrdlock-future"))
    return pthread_rwlock_clockrdlock(l, CLOCK_MONOTONIC, &mono_future);
  if (is(call, "clockwrlock-past"))
    return pthread_rwlock_clockwrlock(l, CLOCK_MONOTONIC, &mono_past);
  if (is(call, "clockwrlock-future"))
    return pthread_rwlock_clockwrlock(l, CLOCK_MONOTONIC, &mono_future);
  if (is(call, "unlock"))
    return pthread_rwlock_unlock(l);
  return pthread_rwlock_destroy(l);
}

static int call_mtx(const char *call) {
  mtx_t *m = &obj->mtx;
  struct timespec past = deadline(CLOCK_REALTIME, -1000),
                  future = deadline(CLOCK_REALTIME, FUTURE_MS);
  errno = SENTINEL;
  if (is(call, "lock"))
    return mtx_lock(m);
  if (is(call, "trylock"))
    return mtx_trylock(m);
  if (is(call, "timedlock-past"))
    return mtx_timedlock(m, &past);
  if (is(call, "timedlock-future"))
    return mtx_timedlock(m, &future);
  if (is(call, "unlock"))
    return mtx_unlock(m);
  mtx_destroy(m);
  return 0; /* void */
}

static void print_row(const char *situation, const char *call, int rc, int saved_errno) {
  printf("%s | %s | %s | rc %d errno %d\n", kind->name, situation, call, rc, saved_errno);
}

/* One row, in this (child) process. */
static void row(const char *situation, const char *call) {
  obj = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  held = (sem_t *)((char *)obj + 1024);
  release = (sem_t *)((char *)obj + 2048);
  sem_init(held, 0, 0);
  sem_init(release, 0, 0);
  int rc = init_object();
  if (rc == 0)
    rc = set_up(situation);
  if (rc != 0) {
    printf("%s | %s | %s | setup failed: %d\n", kind->name, situation, call, rc);
    return;
  }
  if (blocked(situation, call)) {
    pthread_t t;
    pthread_create(&t, NULL, releaser, NULL);
    pthread_detach(t);
  }
  int result;
  if (kind->family == MUTEX)
    result = call_mutex(call);
  else if (kind->family == RWLOCK)
    result = call_rwlock(call);
  else
    result = call_mtx(call);
  print_row(situation, call, result, errno);
}

/* ---- threads: joins and detaches, and errno around them ---- */

static void *parked(void *arg) {
  (void)arg;
  sem_wait(release);
  return NULL;
}

static int returns_zero(void *arg) {
  (void)arg;
  return 0;
}
static void *returns_null(void *arg) { return arg; }

static const char *const thread_rows[] = {
    "self | pthread_join",
    "self | pthread_tryjoin_np",
    "self | pthread_timedjoin_np",
    "self | pthread_clockjoin_np",
    "self | thrd_join",
    "running | pthread_tryjoin_np",
    "running | pthread_timedjoin_np-past",
    "running | pthread_clockjoin_np-past",
    "running | pthread_detach",
    "detached | pthread_detach",
    "detached | pthread_join",
    "detached | thrd_detach",
    "new | pthread_create",
    "new | thrd_create",
};

static void thread_row(const char *name) {
  obj = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  release = (sem_t *)((char *)obj + 2048);
  sem_init(release, 0, 0);
  char situation[32];
  const char *call = strstr(name, " | ") + 3;
  snprintf(situation, sizeof situation, "%.*s", (int)(strstr(name, " | ") - name), name);
  pthread_t t = pthread_self();
  if (!is(situation, "self") && !is(situation, "new"))
    pthread_create(&t, NULL, parked, NULL);
  if (is(situation, "detached"))
    pthread_detach(t);
  struct timespec real_past = deadline(CLOCK_REALTIME, -1000);
  struct timespec mono_past = deadline(CLOCK_MONOTONIC, -1000);
  struct timespec real_future = deadline(CLOCK_REALTIME, FUTURE_MS);
  struct timespec mono_future = deadline(CLOCK_MONOTONIC, FUTURE_MS);
  void *result;
  int rc;
  errno = SENTINEL;
  if (is(call, "pthread_join"))
    rc = pthread_join(t, &result);
  else if (is(call, "pthread_tryjoin_np"))
    rc = pthread_tryjoin_np(t, &result);
  else if (is(call, "pthread_timedjoin_np"))
    rc = pthread_timedjoin_np(t, &result, &real_future);
  else if (is(call, "pthread_clockjoin_np"))
    rc = pthread_clockjoin_np(t, &result, CLOCK_MONOTONIC, &mono_future);
  else if (is(call, "pthread_timedjoin_np-past"))
    rc = pthread_timedjoin_np(t, &result, &real_past);
  else if (is(call, "pthread_clockjoin_np-past"))
    rc = pthread_clockjoin_np(t, &result, CLOCK_MONOTONIC, &mono_past);
  else if (is(call, "pthread_detach"))
    rc = pthread_detach(t);
  else if (is(call, "thrd_join"))
    rc = thrd_join((thrd_t)t, NULL);
  else if (is(call, "thrd_detach"))
    rc = thrd_detach((thrd_t)t);
  else if (is(call, "pthread_create"))
    rc = pthread_create(&t, NULL, returns_null, NULL);
  else {
    thrd_t c;
    rc = thrd_create(&c, returns_zero, NULL);
  }
  print_row(situation, call, rc, errno);
}

/* ---- driving the rows ---- */

/* Run `one(a, b)` in a child; HUNG if it does not end in 4 s. */
static void isolated(void (*one)(const char *, const char *), const char *a, const char *b,
                     const char *label) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    one(a, b);
    fflush(stdout);
    _exit(0);
  }
  for (int waited_ms = 0;; waited_ms++) {
    int status;
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (WIFSIGNALED(status))
        printf("%s %s | killed by signal %d\n", kind->name, label, WTERMSIG(status));
      else if (WEXITSTATUS(status) != 0)
        printf("%s %s | exit status %d\n", kind->name, label, WEXITSTATUS(status));
      return;
    }
    if (waited_ms >= 4000) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      printf("%s %s | HUNG\n", kind->name, label);
      return;
    }
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
}

static void thread_row2(const char *name, const char *unused) {
  (void)unused;
  thread_row(name);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 1 && is(argv[1], "--list")) {
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
      printf("%s\n", kinds[i].name);
    return 0;
  }
  for (size_t i = 0; argc > 1 && i < sizeof kinds / sizeof kinds[0]; i++)
    if (is(argv[1], kinds[i].name))
      kind = &kinds[i];
  if (!kind) {
    fprintf(stderr, "usage: kinds_table KIND | --list\n");
    return 2;
  }
  if (kind->family == THREAD) {
    for (size_t r = 0; r < sizeof thread_rows / sizeof thread_rows[0]; r++) {
      char label[96];
      snprintf(label, sizeof label, "| %s", thread_rows[r]);
      isolated(thread_row2, thread_rows[r], NULL, label);
    }
    return 0;
  }
  const char *const *situations = mutex_situations, *const *calls = mutex_calls;
  size_t n_situations = sizeof mutex_situations / sizeof *mutex_situations;
  size_t n_calls = sizeof mutex_calls / sizeof *mutex_calls;
  if (kind->family == RWLOCK) {
    situations = rwlock_situations, calls = rwlock_calls;
    n_situations = sizeof rwlock_situations / sizeof *rwlock_situations;
    n_calls = sizeof rwlock_calls / sizeof *rwlock_calls;
  } else if (kind->family == MTX) {
    situations = mtx_situations, calls = mtx_calls;
    n_situations = sizeof mtx_situations / sizeof *mtx_situations;
    n_calls = sizeof mtx_calls / sizeof *mtx_calls;
  } else if (!kind->robust) {
    n_situations = 3; /* owner death is for robust mutexes */
  }
  for (size_t s = 0; s < n_situations; s++)
    for (size_t c = 0; c < n_calls; c++) {
      if (left_out(situations[s], calls[c]))
        continue;
      char label[96];
      snprintf(label, sizeof label, "| %s | %s", situations[s], calls[c]);
      isolated(row, situations[s], calls[c], label);
    }
  return 0;
}
