/* One thread left blocked at exit in a pthread primitive; argv[1] picks
 * which. Threads are created by start_thread(); when there is a holder it
 * is T1 and the blocked thread T2, else the blocked thread is T1. main
 * prints the object's address ("<label> %p"), sleeps 50 ms and returns 0.
 * leakwatch must report every thread below as a thread_leak (status 66):
 *   mutex:         T1 mutex_holder locks "mutex", then parks (sem_wait on
 *                  "never"); T2 mutex_waiter is blocked in
 *                  pthread_mutex_lock on mutex, owner 1. T1's held lists
 *                  mutex with a stack containing mutex_holder.
 *   mutex_running: like mutex, but the holder (running_holder) keeps
 *                  running (nanosleep loop): T1 state running, owner 1.
 *   timedlock:     T2 timedlock_waiter in pthread_mutex_timedlock on mutex
 *                  with a 60 s deadline: timed, owner 1.
 *   rwlock_wr:     T1 reader_holder holds "rwlock" for reading; T2
 *                  writer_waiter blocked in pthread_rwlock_wrlock, no owner.
 *   rwlock_rd:     T1 writer_holder holds rwlock for writing; T2
 *                  reader_waiter blocked in pthread_rwlock_rdlock, owner 1.
 *   cond:          T1 cond_waiter in pthread_cond_wait on "cond" with
 *                  "mutex" (mutex released while waiting: held is empty).
 *   cond_timed:    T1 cond_timed_waiter in pthread_cond_timedwait, 60 s.
 *   sem:           T1 sem_waiter in sem_wait on "sem".
 *   barrier:       T1 barrier_waiter in pthread_barrier_wait on "barrier"
 *                  (count 2, nobody else comes).
 *   join:          T1 join_target parks; T2 joiner is blocked in
 *                  pthread_join on "thread" (T1's pthread_t), owner 1.
 *   cond_holding:  T1 cond_waiter_holding locks "other", then waits in
 *                  pthread_cond_wait on cond with mutex: held lists other,
 *                  not mutex.
 *   read_pipe:     T1 pipe_reader blocks in read() on an empty "pipe": a
 *                  call leakwatch does not see, so state running, no wait,
 *                  and a current stack containing pipe_reader. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t other = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t barrier;
static sem_t never; /* never posted: parks a holder for good */
static sem_t sem;   /* never posted: the sem mode's object */
static sem_t ready; /* a holder posts it once it holds its lock */
static volatile int go;
static pthread_t target;
static int pipe_fds[2];

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
}

static __attribute__((noinline)) void park(void) { sem_wait(&never); }

static void *mutex_holder(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mutex);
  sem_post(&ready);
  park();
  pthread_mutex_unlock(&mutex);
  return NULL;
}

static void *running_holder(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mutex);
  sem_post(&ready);
  while (!go)
    sleep_ms(5);
  pthread_mutex_unlock(&mutex);
  return NULL;
}

static void *mutex_waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mutex);
  pthread_mutex_unlock(&mutex);
  return NULL;
}

static void *timedlock_waiter(void *arg) {
  (void)arg;
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 60;
  if (pthread_mutex_timedlock(&mutex, &deadline) == 0)
    pthread_mutex_unlock(&mutex);
  return NULL;
}

static void *reader_holder(void *arg) {
  (void)arg;
  pthread_rwlock_rdlock(&rwlock);
  sem_post(&ready);
  park();
  pthread_rwlock_unlock(&rwlock);
  return NULL;
}

static void *writer_waiter(void *arg) {
  (void)arg;
  pthread_rwlock_wrlock(&rwlock);
  pthread_rwlock_unlock(&rwlock);
  return NULL;
}

static void *writer_holder(void *arg) {
  (void)arg;
  pthread_rwlock_wrlock(&rwlock);
  sem_post(&ready);
  park();
  pthread_rwlock_unlock(&rwlock);
  return NULL;
}

static void *reader_waiter(void *arg) {
  (void)arg;
  pthread_rwlock_rdlock(&rwlock);
  pthread_rwlock_unlock(&rwlock);
  return NULL;
}

static void *cond_waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mutex);
  while (!go)
    pthread_cond_wait(&cond, &mutex);
  pthread_mutex_unlock(&mutex);
  return NULL;
}

static void *cond_timed_waiter(void *arg) {
  (void)arg;
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 60;
  pthread_mutex_lock(&mutex);
  int rc = 0;
  while (!go && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&cond, &mutex, &deadline);
  pthread_mutex_unlock(&mutex);
  return NULL;
}

static void *sem_waiter(void *arg) {
  (void)arg;
  while (sem_wait(&sem) != 0 && errno == EINTR)
    ;
  return NULL;
}

static void *barrier_waiter(void *arg) {
  (void)arg;
  pthread_barrier_wait(&barrier);
  return NULL;
}

static void *join_target(void *arg) {
  (void)arg;
  park();
  return NULL;
}

static void *joiner(void *arg) {
  (void)arg;
  pthread_join(target, NULL);
  return NULL;
}

static void *cond_waiter_holding(void *arg) {
  (void)arg;
  pthread_mutex_lock(&other);
  pthread_mutex_lock(&mutex);
  while (!go)
    pthread_cond_wait(&cond, &mutex);
  pthread_mutex_unlock(&mutex);
  pthread_mutex_unlock(&other);
  return NULL;
}

static void *pipe_reader(void *arg) {
  (void)arg;
  char byte;
  while (read(pipe_fds[0], &byte, 1) < 0 && errno == EINTR)
    ;
  return NULL;
}

static __attribute__((noinline)) pthread_t start_thread(void *(*routine)(void *)) {
  pthread_t thread;
  pthread_create(&thread, NULL, routine, NULL);
  return thread;
}

/* A holder first (T1), once it holds its lock the blocked thread (T2). */
static void holder_then_waiter(void *(*holder)(void *), void *(*waiter)(void *)) {
  start_thread(holder);
  sem_wait(&ready);
  start_thread(waiter);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  sem_init(&never, 0, 0);
  sem_init(&sem, 0, 0);
  sem_init(&ready, 0, 0);
  pthread_barrier_init(&barrier, NULL, 2);
  if (pipe(pipe_fds) != 0)
    return 2;
  if (strcmp(mode, "mutex") == 0) {
    holder_then_waiter(mutex_holder, mutex_waiter);
    printf("mutex %p\nnever %p\n", (void *)&mutex, (void *)&never);
  } else if (strcmp(mode, "mutex_running") == 0) {
    holder_then_waiter(running_holder, mutex_waiter);
    printf("mutex %p\n", (void *)&mutex);
  } else if (strcmp(mode, "timedlock") == 0) {
    holder_then_waiter(mutex_holder, timedlock_waiter);
    printf("mutex %p\n", (void *)&mutex);
  } else if (strcmp(mode, "rwlock_wr") == 0) {
    holder_then_waiter(reader_holder, writer_waiter);
    printf("rwlock %p\n", (void *)&rwlock);
  } else if (strcmp(mode, "rwlock_rd") == 0) {
    holder_then_waiter(writer_holder, reader_waiter);
    printf("rwlock %p\n", (void *)&rwlock);
  } else if (strcmp(mode, "cond") == 0) {
    start_thread(cond_waiter);
    printf("cond %p\nmutex %p\n", (void *)&cond, (void *)&mutex);
  } else if (strcmp(mode, "cond_timed") == 0) {
    start_thread(cond_timed_waiter);
    printf("cond %p\nmutex %p\n", (void *)&cond, (void *)&mutex);
  } else if (strcmp(mode, "sem") == 0) {
    start_thread(sem_waiter);
    printf("sem %p\n", (void *)&sem);
  } else if (strcmp(mode, "barrier") == 0) {
    start_thread(barrier_waiter);
    printf("barrier %p\n", (void *)&barrier);
  } else if (strcmp(mode, "join") == 0) {
    target = start_thread(join_target);
    start_thread(joiner);
    printf("thread %p\n", (void *)target);
  } else if (strcmp(mode, "cond_holding") == 0) {
    start_thread(cond_waiter_holding);
    printf("cond %p\nmutex %p\nother %p\n", (void *)&cond, (void *)&mutex, (void *)&other);
  } else if (strcmp(mode, "read_pipe") == 0) {
    start_thread(pipe_reader);
    printf("pipe %d\n", pipe_fds[0]);
  } else {
    fprintf(stderr, "usage: %s MODE (see the header comment)\n", argv[0]);
    return 2;
  }
  sleep_ms(50);
  printf("%s: main returns\n", mode);
  return 0;
}
