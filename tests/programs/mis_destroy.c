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
 *   barrier: T1 waits at barrier B (count 2) for ever; T2, once T1 is
 *            asleep there, destroys B in tear_down_barrier, where glibc
 *            waits for T1 to leave, for ever too. main returns once T2 is
 *            asleep in the destroy: both threads are still blocked at exit
 *            (there is no clean way out of a barrier destroyed under a
 *            waiter).
 * Prints the objects' addresses ("M <addr>", ...) and every return code
 * (main prints the threads' results after joining them: a set order). */
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
static atomic_int t1_tid, t2_tid;

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
  return (void *)(long)rc + (long)arg * 0;
}

static void *sem_waiter(void *arg) {
  struct timespec deadline = in_ms(1000);
  atomic_store(&t1_tid, (int)syscall(SYS_gettid));
  int rc = sem_timedwait(&sem, &deadline);
  return (void *)(long)(rc ? errno : 0) + (long)arg * 0;
}

static void *barrier_waiter(void *arg) {
  atomic_store(&t1_tid, (int)syscall(SYS_gettid));
  pthread_barrier_wait(&barrier);
  printf("T1 left the barrier\n");
  return arg;
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
  int rc = pthread_barrier_destroy(b);
  printf("T2 destroy %d\n", rc);
}

static void *barrier_destroyer(void *arg) {
  atomic_store(&t2_tid, (int)syscall(SYS_gettid));
  tear_down_barrier(&barrier);
  return arg;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *mode = argc > 1 ? argv[1] : "mutex";
  sem_init(&sem, 0, 0);
  sem_init(&taken, 0, 0);
  sem_init(&release, 0, 0);
  pthread_barrier_init(&barrier, NULL, 2);
  printf("M %p\nW %p\nC %p\nS %p\nB %p\n", (void *)&mutex, (void *)&rwlock, (void *)&cond,
         (void *)&sem, (void *)&barrier);
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
    void *rc;
    pthread_join(t1, &rc);
    printf("T1 timedwait %ld\n", (long)rc);
  } else if (strcmp(mode, "sem") == 0) {
    pthread_create(&t1, NULL, sem_waiter, NULL);
    while (!atomic_load(&t1_tid))
      sched_yield();
    wait_asleep(atomic_load(&t1_tid));
    tear_down_sem(&sem);
    void *err;
    pthread_join(t1, &err);
    printf("T1 sem_timedwait errno %ld\n", (long)err);
  } else if (strcmp(mode, "barrier") == 0) {
    pthread_create(&t1, NULL, barrier_waiter, NULL);
    while (!atomic_load(&t1_tid))
      sched_yield();
    wait_asleep(atomic_load(&t1_tid));
    pthread_create(&t2, NULL, barrier_destroyer, NULL);
    while (!atomic_load(&t2_tid))
      sched_yield();
    wait_asleep(atomic_load(&t2_tid));
    usleep(100 * 1000);
  }
  printf("done\n");
  return 0;
}
