/* pthread_cancel of a thread blocked in each interposed wait, then join.
 *
 * Cancellation points (the thread must end with PTHREAD_CANCELED while
 * blocked): pthread_cond_wait, pthread_cond_timedwait,
 * pthread_cond_clockwait, sem_wait, sem_timedwait, sem_clockwait,
 * pthread_join, pthread_timedjoin_np, pthread_clockjoin_np, cnd_wait,
 * cnd_timedwait, thrd_join, and read (not wrapped) on a pipe. The
 * condition-variable waiters unlock their mutex in a cleanup handler,
 * as they must.
 * Not cancellation points (the thread must stay blocked after the cancel
 * request, and be cancelled at its next pthread_testcancel once main lets
 * it through): pthread_barrier_wait, pthread_mutex_lock,
 * pthread_rwlock_wrlock.
 *
 * One line per wait, then "all mutexes free" and "join target joined".
 * Exit 0. Under leakwatch: no findings (no thread_leak, no
 * abandoned_lock, nothing waiting), and the same output. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t sem, target_sem;
static mtx_t cm;
static cnd_t ccv;
static int pipe_fds[2];
static pthread_barrier_t barrier;
static pthread_mutex_t held_by_main = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwl = PTHREAD_RWLOCK_INITIALIZER;
static pthread_t join_target;
static atomic_int entered, passed;
static atomic_long waiter_tid;

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static struct timespec in_60s(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  ts.tv_sec += 60;
  return ts;
}

static void unlock_m(void *arg) { pthread_mutex_unlock(arg); }
static void unlock_cm(void *arg) { mtx_unlock(arg); }

static void *target(void *arg) {
  sem_wait(&target_sem);
  return arg;
}

static void *th_cond_wait(void *arg) {
  pthread_mutex_lock(&m);
  pthread_cleanup_push(unlock_m, &m);
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  for (;;)
    pthread_cond_wait(&cv, &m);
  pthread_cleanup_pop(1);
  return arg;
}

static void *th_cond_timedwait(void *arg) {
  pthread_mutex_lock(&m);
  pthread_cleanup_push(unlock_m, &m);
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  struct timespec ts = in_60s(CLOCK_REALTIME);
  for (;;)
    pthread_cond_timedwait(&cv, &m, &ts);
  pthread_cleanup_pop(1);
  return arg;
}

static void *th_cond_clockwait(void *arg) {
  pthread_mutex_lock(&m);
  pthread_cleanup_push(unlock_m, &m);
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  struct timespec ts = in_60s(CLOCK_MONOTONIC);
  for (;;)
    pthread_cond_clockwait(&cv, &m, CLOCK_MONOTONIC, &ts);
  pthread_cleanup_pop(1);
  return arg;
}

static void *th_sem_wait(void *arg) {
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  for (;;)
    sem_wait(&sem);
  return arg;
}

static void *th_sem_timedwait(void *arg) {
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  struct timespec ts = in_60s(CLOCK_REALTIME);
  for (;;)
    sem_timedwait(&sem, &ts);
  return arg;
}

static void *th_sem_clockwait(void *arg) {
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  struct timespec ts = in_60s(CLOCK_MONOTONIC);
  for (;;)
    sem_clockwait(&sem, CLOCK_MONOTONIC, &ts);
  return arg;
}

static void *th_join(void *arg) {
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  pthread_join(join_target, NULL);
  return arg;
}

static void *th_timedjoin(void *arg) {
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  struct timespec ts = in_60s(CLOCK_REALTIME);
  pthread_timedjoin_np(join_target, NULL, &ts);
  return arg;
}

static void *th_clockjoin(void *arg) {
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  struct timespec ts = in_60s(CLOCK_MONOTONIC);
  pthread_clockjoin_np(join_target, NULL, CLOCK_MONOTONIC, &ts);
  return arg;
}

static void *th_cnd_wait(void *arg) {
  mtx_lock(&cm);
  pthread_cleanup_push(unlock_cm, &cm);
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  for (;;)
    cnd_wait(&ccv, &cm);
  pthread_cleanup_pop(1);
  return arg;
}

static void *th_cnd_timedwait(void *arg) {
  mtx_lock(&cm);
  pthread_cleanup_push(unlock_cm, &cm);
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  struct timespec ts = in_60s(CLOCK_REALTIME);
  for (;;)
    cnd_timedwait(&ccv, &cm, &ts);
  pthread_cleanup_pop(1);
  return arg;
}

static void *th_thrd_join(void *arg) {
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  thrd_join((thrd_t)join_target, NULL);
  return arg;
}

static void *th_read(void *arg) {
  char c;
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  for (;;)
    if (read(pipe_fds[0], &c, 1) <= 0)
      break;
  return arg;
}

static void *th_barrier(void *arg) {
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  pthread_barrier_wait(&barrier);
  atomic_store(&passed, 1);
  pthread_testcancel();
  atomic_store(&passed, 2);
  return arg;
}

static void *th_mutex(void *arg) {
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  pthread_mutex_lock(&held_by_main);
  atomic_store(&passed, 1);
  pthread_mutex_unlock(&held_by_main);
  pthread_testcancel();
  atomic_store(&passed, 2);
  return arg;
}

static void *th_wrlock(void *arg) {
  atomic_store(&waiter_tid, syscall(SYS_gettid)), atomic_store(&entered, 1);
  pthread_rwlock_wrlock(&rwl);
  atomic_store(&passed, 1);
  pthread_rwlock_unlock(&rwl);
  pthread_testcancel();
  atomic_store(&passed, 2);
  return arg;
}

/* Wait (up to 2 s) until the started thread sleeps in the kernel. */
static void wait_asleep(void) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/self/task/%ld/stat", atomic_load(&waiter_tid));
  for (int tries = 0; tries < 2000; tries++) {
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
      fclose(f);
    buf[n] = '\0';
    char *state = strrchr(buf, ')');
    if (state && state[1] == ' ' && state[2] == 'S')
      return;
    sleep_ms(1);
  }
}

static pthread_t start(void *(*fn)(void *)) {
  atomic_store(&entered, 0);
  atomic_store(&passed, 0);
  pthread_t t;
  pthread_create(&t, NULL, fn, NULL);
  while (!atomic_load(&entered))
    sleep_ms(1);
  sleep_ms(5);
  wait_asleep(); /* in the wait */
  return t;
}

static int failures;

static void cancel_point(const char *name, void *(*fn)(void *)) {
  pthread_t t = start(fn);
  pthread_cancel(t);
  void *result = NULL;
  int r = pthread_join(t, &result);
  int ok = r == 0 && result == PTHREAD_CANCELED;
  failures += !ok;
  printf("%s: %s\n", name, ok ? "cancelled while blocked" : "NOT cancelled");
}

static void not_cancel_point(const char *name, void *(*fn)(void *), void (*release)(void)) {
  pthread_t t = start(fn);
  pthread_cancel(t);
  sleep_ms(50);
  int still_blocked = atomic_load(&passed) == 0;
  release();
  void *result = NULL;
  int r = pthread_join(t, &result);
  int ok = still_blocked && r == 0 && result == PTHREAD_CANCELED && atomic_load(&passed) == 1;
  failures += !ok;
  printf("%s: %s\n", name,
         ok ? "not a cancellation point; cancelled at the next one" : "WRONG cancellation");
}

static void release_barrier(void) { pthread_barrier_wait(&barrier); }
static void release_mutex(void) { pthread_mutex_unlock(&held_by_main); }
static void release_rwlock(void) { pthread_rwlock_unlock(&rwl); }

int main(void) {
  sem_init(&sem, 0, 0);
  sem_init(&target_sem, 0, 0);
  mtx_init(&cm, mtx_plain);
  cnd_init(&ccv);
  if (pipe(pipe_fds) != 0)
    return 2;
  pthread_barrier_init(&barrier, NULL, 2);
  pthread_create(&join_target, NULL, target, NULL);

  cancel_point("pthread_cond_wait", th_cond_wait);
  cancel_point("pthread_cond_timedwait", th_cond_timedwait);
  cancel_point("pthread_cond_clockwait", th_cond_clockwait);
  cancel_point("sem_wait", th_sem_wait);
  cancel_point("sem_timedwait", th_sem_timedwait);
  cancel_point("sem_clockwait", th_sem_clockwait);
  cancel_point("pthread_join", th_join);
  cancel_point("pthread_timedjoin_np", th_timedjoin);
  cancel_point("pthread_clockjoin_np", th_clockjoin);
  cancel_point("cnd_wait", th_cnd_wait);
  cancel_point("cnd_timedwait", th_cnd_timedwait);
  cancel_point("thrd_join", th_thrd_join);
  cancel_point("read", th_read);

  not_cancel_point("pthread_barrier_wait", th_barrier, release_barrier);
  pthread_mutex_lock(&held_by_main);
  not_cancel_point("pthread_mutex_lock", th_mutex, release_mutex);
  pthread_rwlock_rdlock(&rwl);
  not_cancel_point("pthread_rwlock_wrlock", th_wrlock, release_rwlock);

  /* The cleanup handlers released the mutexes; the cancelled joiners left
   * the join target joinable. */
  int free_m = pthread_mutex_trylock(&m) == 0;
  if (free_m)
    pthread_mutex_unlock(&m);
  int free_cm = mtx_trylock(&cm) == thrd_success;
  if (free_cm)
    mtx_unlock(&cm);
  printf("%s\n", free_m && free_cm ? "all mutexes free" : "A MUTEX IS STILL LOCKED");
  sem_post(&target_sem);
  printf("join target %s\n", pthread_join(join_target, NULL) == 0 ? "joined" : "NOT joinable");
  pthread_barrier_destroy(&barrier);
  return failures == 0 && free_m && free_cm ? 0 : 1;
}
