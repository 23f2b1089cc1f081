/* 50 threads, each blocked in a known place, for `leakwatch dump`.
 *
 * Groups, by start routine (created in this order, so T1..T50 in order):
 *   mutex_holder    1  takes m_busy, then parks in sem_wait(&park)
 *   mutex_waiter    6  pthread_mutex_lock(&m_busy)           owner: mutex_holder
 *   writer_holder   1  write-locks rw_w, then parks
 *   reader_waiter   5  pthread_rwlock_rdlock(&rw_w)          owner: writer_holder
 *   reader_holder   1  read-locks rw_r, then parks
 *   writer_waiter   5  pthread_rwlock_wrlock(&rw_r)          (read-held: no owner)
 *   cond_waiter    10  pthread_cond_wait(&cv, &cv_m)
 *   sem_waiter      8  sem_wait(&sem)
 *   barrier_waiter  6  pthread_barrier_wait(&bar), a barrier of 7
 *   joiner          5  pthread_join of cond_waiter k (the k-th joiner, the k-th)
 *   pipe_reader     1  read() on stdin: answers "pong <n>" to each line, ends at EOF
 *   sleeper         1  a nanosleep loop (a call leakwatch does not wrap)
 * and main joins pipe_reader. The parks are sem_wait(&park): never posted.
 *
 * Prints "<object> <addr>" for every object, "cond_waiter<k> <pthread_t>"
 * for the threads the joiners join, "ticks <n>" when asked "ticks", and
 * "ready" once every thread is about to block (and 300 ms more). */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N_MUTEX_WAITERS 6
#define N_READER_WAITERS 5
#define N_WRITER_WAITERS 5
#define N_COND_WAITERS 10
#define N_SEM_WAITERS 8
#define N_BARRIER_WAITERS 6
#define N_JOINERS 5

static pthread_mutex_t m_busy = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw_w = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t rw_r = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t cv_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t sem, park;
static pthread_barrier_t bar;
static atomic_int about_to_block;
static atomic_long ticks;
static int holding_done;

static void parked(void) {
  atomic_fetch_add(&about_to_block, 1);
  while (sem_wait(&park) != 0) {
  }
}

static void *mutex_holder(void *arg) {
  pthread_mutex_lock(&m_busy);
  parked();
  return arg;
}

static void *mutex_waiter(void *arg) {
  atomic_fetch_add(&about_to_block, 1);
  pthread_mutex_lock(&m_busy);
  pthread_mutex_unlock(&m_busy);
  return arg;
}

static void *writer_holder(void *arg) {
  pthread_rwlock_wrlock(&rw_w);
  parked();
  return arg;
}

static void *reader_waiter(void *arg) {
  atomic_fetch_add(&about_to_block, 1);
  pthread_rwlock_rdlock(&rw_w);
  pthread_rwlock_unlock(&rw_w);
  return arg;
}

static void *reader_holder(void *arg) {
  pthread_rwlock_rdlock(&rw_r);
  parked();
  return arg;
}

static void *writer_waiter(void *arg) {
  atomic_fetch_add(&about_to_block, 1);
  pthread_rwlock_wrlock(&rw_r);
  pthread_rwlock_unlock(&rw_r);
  return arg;
}

static void *cond_waiter(void *arg) {
  pthread_mutex_lock(&cv_m);
  atomic_fetch_add(&about_to_block, 1);
  while (!holding_done)
    pthread_cond_wait(&cv, &cv_m);
  pthread_mutex_unlock(&cv_m);
  return arg;
}

static void *sem_waiter(void *arg) {
  atomic_fetch_add(&about_to_block, 1);
  while (sem_wait(&sem) != 0) {
  }
  return arg;
}

static void *barrier_waiter(void *arg) {
  atomic_fetch_add(&about_to_block, 1);
  pthread_barrier_wait(&bar);
  return arg;
}

static void *joiner(void *arg) {
  atomic_fetch_add(&about_to_block, 1);
  pthread_join(*(pthread_t *)arg, NULL);
  return arg;
}

static void *pipe_reader(void *arg) {
  atomic_fetch_add(&about_to_block, 1);
  char line[256];
  size_t used = 0;
  long answers = 0;
  for (;;) {
    ssize_t got = read(STDIN_FILENO, line + used, sizeof line - 1 - used);
    if (got <= 0)
      break;
    used += (size_t)got;
    line[used] = '\0';
    char *newline;
    while ((newline = strchr(line, '\n')) != NULL) {
      *newline = '\0';
      if (strcmp(line, "ticks") == 0)
        printf("ticks %ld\n", atomic_load(&ticks));
      else
        printf("pong %ld %s\n", ++answers, line);
      size_t rest = used - (size_t)(newline + 1 - line);
      memmove(line, newline + 1, rest);
      used = rest;
      line[used] = '\0';
    }
    if (used == sizeof line - 1)
      used = 0;
  }
  return arg;
}

static void *sleeper(void *arg) {
  atomic_fetch_add(&about_to_block, 1);
  for (;;) {
    struct timespec pause = {0, 5 * 1000 * 1000};
    nanosleep(&pause, NULL); /* EINTR from a dump just ends one nap early */
    atomic_fetch_add(&ticks, 1);
  }
  return arg;
}

static pthread_t start(void *(*routine)(void *), void *arg) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t t;
  if (pthread_create(&t, &attr, routine, arg) != 0) {
    perror("pthread_create");
    _exit(3);
  }
  pthread_attr_destroy(&attr);
  return t;
}

static void wait_for(int count) {
  while (atomic_load(&about_to_block) < count)
    usleep(1000);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  sem_init(&sem, 0, 0);
  sem_init(&park, 0, 0);
  pthread_barrier_init(&bar, NULL, N_BARRIER_WAITERS + 1);
  printf("m_busy %p\nrw_w %p\nrw_r %p\ncv %p\ncv_m %p\nsem %p\npark %p\nbar %p\n", (void *)&m_busy,
         (void *)&rw_w, (void *)&rw_r, (void *)&cv, (void *)&cv_m, (void *)&sem, (void *)&park,
         (void *)&bar);
  int expected = 0;
  start(mutex_holder, NULL);
  wait_for(++expected); /* holds m_busy before anyone waits for it */
  for (int i = 0; i < N_MUTEX_WAITERS; i++)
    start(mutex_waiter, NULL);
  expected += N_MUTEX_WAITERS;
  start(writer_holder, NULL);
  wait_for(expected + 1);
  expected += 1;
  for (int i = 0; i < N_READER_WAITERS; i++)
    start(reader_waiter, NULL);
  expected += N_READER_WAITERS;
  start(reader_holder, NULL);
  wait_for(expected + 1);
  expected += 1;
  for (int i = 0; i < N_WRITER_WAITERS; i++)
    start(writer_waiter, NULL);
  expected += N_WRITER_WAITERS;
  static pthread_t cond_threads[N_COND_WAITERS];
  for (int i = 0; i < N_COND_WAITERS; i++) {
    cond_threads[i] = start(cond_waiter, NULL);
    printf("cond_waiter%d %p\n", i, (void *)cond_threads[i]);
  }
  expected += N_COND_WAITERS;
  for (int i = 0; i < N_SEM_WAITERS; i++)
    start(sem_waiter, NULL);
  expected += N_SEM_WAITERS;
  for (int i = 0; i < N_BARRIER_WAITERS; i++)
    start(barrier_waiter, NULL);
  expected += N_BARRIER_WAITERS;
  for (int i = 0; i < N_JOINERS; i++)
    start(joiner, &cond_threads[i]);
  expected += N_JOINERS;
  pthread_t reader = start(pipe_reader, NULL);
  printf("pipe_reader %p\n", (void *)reader);
  start(sleeper, NULL);
  expected += 2;
  wait_for(expected);
  /* Every cond waiter is inside pthread_cond_wait once we get the mutex. */
  pthread_mutex_lock(&cv_m);
  pthread_mutex_unlock(&cv_m);
  usleep(300 * 1000);
  printf("threads %d\nready\n", expected);
  pthread_join(reader, NULL);
  return 0;
}
