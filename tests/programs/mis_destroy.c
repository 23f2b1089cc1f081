/* Destroying synchronisation objects that are in use. argv[1]:
 *   mutex:   T1 holds M (taken in grab_mutex); main destroys it in
 *            tear_down_mutex (glibc says EBUSY), then, after T1 unlocked
 *            and was joined, destroys it properly in destroy_unused;
 *   rwlock:  T1 write-locks W (grab_rwlock); main destroys it in
 *            tear_down_rwlock;
 *   cond:    T1 waits on C (timed, 1 s) with mutex CM; main, once T1 is
 *            waiting, destroys C in tear_down_cond (glibc waits for the
 *            waiter to time out);
 *   sem:     T1 waits on S (timed, 1 s); main destroys S in tear_down_sem
 *            once T1 is asleep in the wait;
 *   barrier: T1 waits at barrier B (count 2); main destroys it in
 *            tear_down_barrier (glibc waits for the round); T2 arrives at
 *            the barrier once main is asleep in the destroy, completing
 *            the round.
 * Prints the objects' addresses ("M <addr>", ...) and every return code. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t cond_mutex = PTHREAD_MUTEX_INITIALIZER;
static int waiting;
static sem_t sem, taken, release;
static pthread_barrier_t barrier;
static atomic_int t1_tid, main_destroying;

/* Wait until thread `tid` of this process is asleep (state S). */
static void wait_asleep(int tid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  for (int i = 0; i < 20000; i++) {
    FILE *f = fopen(path, "r");
    if (f) {
      size_t n = fread(buf, 1, sizeof buf - 1, f);
      fclose(f);
      buf[n] = 0;
      char *close_paren = strrchr(buf, ')');
      if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'S')
        return;
    }
    usleep(1000);
  }
}

static struct timespec in_ms(long ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

static __attribute__((noinline)) void grab_mutex(void) {
  int rc = pthread_mutex_lock(&mutex);
  printf("T1 lock %d\n", rc);
}

static __attribute__((noinline)) void grab_rwlock(void) {
  int rc = pthread_rwlock_wrlock(&rwlock);
  printf("T1 wrlock %d\n", rc);
}

static void *holder(void *arg) {
  int is_mutex = strcmp(arg, "mutex") == 0;
  if (is_mutex)
    grab_mutex();
  else
    grab_rwlock();
  sem_post(&taken);
  sem_wait(&release);
  if (is_mutex)
    printf("T1 unlock %d\n", pthread_mutex_unlock(&mutex));
  else
    printf("T1 unlock %d\n", pthread_rwlock_unlock(&rwlock));
  return NULL;
}

static void *cond_waiter(void *arg) {
  pthread_mutex_lock(&cond_mutex);
  waiting = 1;
  struct timespec deadline = in_ms(1000);
  int rc = pthread_cond_timedwait(&cond, &cond_mutex, &deadline);
  pthread_mutex_unlock(&cond_mutex);
  printf("T1 timedwait %d\n", rc);
  return arg;
}

static void *sem_waiter(void *arg) {
  struct timespec deadline = in_ms(1000);
  atomic_store(&t1_tid, (int)syscall(SYS_gettid));
  int rc = sem_timedwait(&sem, &deadline);
  int err = errno;
  printf("T1 sem_timedwait %d errno %d\n", rc, rc ? err : 0);
  return arg;
}

static void *barrier_waiter(void *arg) {
  atomic_store(&t1_tid, (int)syscall(SYS_gettid));
  int rc = pthread_barrier_wait(&barrier);
  return (void *)(long)(rc == PTHREAD_BARRIER_SERIAL_THREAD);
}

static void *barrier_late(void *arg) {
  while (!atomic_load(&main_destroying))
    sched_yield();
  wait_asleep(getpid());
  int rc = pthread_barrier_wait(&barrier);
  return (void *)(long)(rc == PTHREAD_BARRIER_SERIAL_THREAD) + (long)arg * 0;
}

static __attribute__((noinline)) void tear_down_mutex(pthread_mutex_t *m) {
  int rc = pthread_mutex_destroy(m);
  printf("T0 destroy %d\n", rc);
}

static __attribute__((noinline)) void destroy_unused(pthread_mutex_t *m) {
  int rc = pthread_mutex_destroy(m);
  printf("T0 destroy again %d\n", rc);
}

static __attribute__((noinline)) void tear_down_rwlock(pthread_rwlock_t *w) {
  int rc = pthread_rwlock_destroy(w);
  printf("T0 destroy %d\n", rc);
}

static __attribute__((noinline)) void tear_down_cond(pthread_cond_t *c) {
  int rc = pthread_cond_destroy(c);
  printf("T0 destroy %d\n", rc);
}

static __attribute__((noinline)) void tear_down_sem(sem_t *s) {
  int rc = sem_destroy(s);
  printf("T0 destroy %d\n", rc);
}

static __attribute__((noinline)) void tear_down_barrier(pthread_barrier_t *b) {
  atomic_store(&main_destroying, 1);
  int rc = pthread_barrier_destroy(b);
  printf("T0 destroy %d\n", rc);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *mode = argc > 1 ? argv[1] : "mutex";
  sem_init(&sem, 0, 0);
  sem_init(&taken, 0, 0);
  sem_init(&release, 0, 0);
  pthread_barrier_init(&barrier, NULL, 2);
  printf("M %p\nW %p\nC %p\nS %p\nB %p\n", (void *)&mutex, (void *)&rwlock, (void *)&cond, (void *)&sem,
         (void *)&barrier);
  pthread_t t1, t2;
  if (strcmp(mode, "mutex") == 0 || strcmp(mode, "rwlock") == 0) {
    pthread_create(&t1, NULL, holder, (void *)mode);
    sem_wait(&taken);
    if (strcmp(mode, "mutex") == 0)
      tear_down_mutex(&mutex);
    else
      tear_down_rwlock(&rwlock);
    sem_post(&release);
    pthread_join(t1, NULL);
    if (strcmp(mode, "mutex") == 0)
      destroy_unused(&mutex);
  } else if (strcmp(mode, "cond") == 0) {
    pthread_create(&t1, NULL, cond_waiter, NULL);
    for (;;) {
      pthread_mutex_lock(&cond_mutex);
      int seen = waiting;
      pthread_mutex_unlock(&cond_mutex);
      if (seen)
        break;
      usleep(1000);
    }
    tear_down_cond(&cond);
    pthread_join(t1, NULL);
  } else if (strcmp(mode, "sem") == 0) {
    pthread_create(&t1, NULL, sem_waiter, NULL);
    while (!atomic_load(&t1_tid))
      sched_yield();
    wait_asleep(atomic_load(&t1_tid));
    tear_down_sem(&sem);
    pthread_join(t1, NULL);
  } else if (strcmp(mode, "barrier") == 0) {
    pthread_create(&t1, NULL, barrier_waiter, NULL);
    while (!atomic_load(&t1_tid))
      sched_yield();
    wait_asleep(atomic_load(&t1_tid));
    pthread_create(&t2, NULL, barrier_late, NULL);
    tear_down_barrier(&barrier);
    void *r1, *r2;
    pthread_join(t1, &r1);
    pthread_join(t2, &r2);
    printf("serial threads %ld\n", (long)r1 + (long)r2);
  }
  printf("done\n");
  return 0;
}
