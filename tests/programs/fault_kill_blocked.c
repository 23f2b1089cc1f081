/* pthread_kill with a handled signal to threads blocked in waits.
 *
 *   fault_kill_blocked restart|norestart
 * SIGUSR1 has a handler (with or without SA_RESTART) that counts, per
 * thread, how often it ran. One thread blocks in each of:
 * pthread_cond_wait, pthread_cond_timedwait (60 s), sem_wait,
 * pthread_mutex_lock (main holds it), pthread_rwlock_wrlock (main holds a
 * read lock), pthread_join (on a thread blocked in sem_wait),
 * pthread_barrier_wait, cnd_wait, mtx_lock (main holds it), and read on a
 * pipe. Main sends each of them SIGUSR1 five times, waiting after each for
 * the handler to have run and for the thread to be back in its wait.
 * Each thread counts the EINTR returns it sees and loops on its predicate;
 * then main releases everything and joins them.
 * Without SA_RESTART, sem_wait and read fail with EINTR after each handler
 * (glibc 2.36, Linux 6.x: with SA_RESTART both are restarted); the others
 * never return EINTR. leakwatch must not change any of that: the output is
 * compared with a run without the shim.
 * Output: one line per wait "NAME: handled 5, EINTR n, result 0".
 * Exit 0; under leakwatch no findings. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

enum { COND, TIMEDCOND, SEM, MUTEX, WRLOCK, JOIN, BARRIER, CND, MTX, READ, NWAITS };
static const char *names[NWAITS] = {"pthread_cond_wait",
                                    "pthread_cond_timedwait",
                                    "sem_wait",
                                    "pthread_mutex_lock",
                                    "pthread_rwlock_wrlock",
                                    "pthread_join",
                                    "pthread_barrier_wait",
                                    "cnd_wait",
                                    "mtx_lock",
                                    "read"};

static _Thread_local int my_index = -1;
static atomic_int handled[NWAITS];
static int eintr[NWAITS], result[NWAITS];
static atomic_int ready[NWAITS];
static atomic_long tids[NWAITS];

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go;
static sem_t sem, target_sem;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwl = PTHREAD_RWLOCK_INITIALIZER;
static pthread_t join_target;
static pthread_barrier_t barrier;
static mtx_t cm, cheld;
static cnd_t ccv;
static int cgo;
static int pipe_fds[2];

static void on_signal(int sig) {
  (void)sig;
  if (my_index >= 0)
    atomic_fetch_add(&handled[my_index], 1);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Wait (up to 2 s) until thread `i` sleeps in the kernel: back in its wait. */
static void wait_asleep(int i) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/self/task/%ld/stat", atomic_load(&tids[i]));
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

static void *target(void *arg) {
  while (sem_wait(&target_sem) != 0)
    ;
  return arg;
}

static void *waiter(void *arg) {
  int i = (int)(long)arg;
  my_index = i;
  atomic_store(&tids[i], syscall(SYS_gettid));
  atomic_store(&ready[i], 1);
  switch (i) {
  case COND:
  case TIMEDCOND: {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 60;
    pthread_mutex_lock(&m);
    while (!go) {
      int r = i == COND ? pthread_cond_wait(&cv, &m) : pthread_cond_timedwait(&cv, &m, &ts);
      if (r == EINTR)
        eintr[i]++;
      else if (r != 0)
        result[i] = r;
    }
    pthread_mutex_unlock(&m);
    break;
  }
  case SEM:
    while (sem_wait(&sem) != 0) {
      if (errno == EINTR)
        eintr[i]++;
      else {
        result[i] = errno;
        break;
      }
    }
    break;
  case MUTEX:
    result[i] = pthread_mutex_lock(&held);
    if (result[i] == 0)
      pthread_mutex_unlock(&held);
    break;
  case WRLOCK:
    result[i] = pthread_rwlock_wrlock(&rwl);
    if (result[i] == 0)
      pthread_rwlock_unlock(&rwl);
    break;
  case JOIN:
    result[i] = pthread_join(join_target, NULL);
    break;
  case BARRIER: {
    int r = pthread_barrier_wait(&barrier);
    result[i] = r == PTHREAD_BARRIER_SERIAL_THREAD ? 0 : r;
    break;
  }
  case CND:
    mtx_lock(&cm);
    while (!cgo)
      if (cnd_wait(&ccv, &cm) != thrd_success)
        result[i] = -1;
    mtx_unlock(&cm);
    break;
  case MTX:
    result[i] = mtx_lock(&cheld) == thrd_success ? 0 : -1;
    if (result[i] == 0)
      mtx_unlock(&cheld);
    break;
  case READ: {
    char c;
    for (;;) {
      ssize_t n = read(pipe_fds[0], &c, 1);
      if (n == 1)
        break;
      if (n < 0 && errno == EINTR) {
        eintr[i]++;
        continue;
      }
      result[i] = n < 0 ? errno : -1;
      break;
    }
    break;
  }
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2 || (strcmp(argv[1], "restart") != 0 && strcmp(argv[1], "norestart") != 0)) {
    fprintf(stderr, "usage: %s restart|norestart\n", argv[0]);
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = strcmp(argv[1], "restart") == 0 ? SA_RESTART : 0;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);

  sem_init(&sem, 0, 0);
  sem_init(&target_sem, 0, 0);
  pthread_barrier_init(&barrier, NULL, 2);
  mtx_init(&cm, mtx_plain);
  mtx_init(&cheld, mtx_plain);
  cnd_init(&ccv);
  if (pipe(pipe_fds) != 0)
    return 2;
  pthread_mutex_lock(&held);
  pthread_rwlock_rdlock(&rwl);
  mtx_lock(&cheld);
  pthread_create(&join_target, NULL, target, NULL);

  pthread_t threads[NWAITS];
  for (long i = 0; i < NWAITS; i++)
    pthread_create(&threads[i], NULL, waiter, (void *)i);
  for (int i = 0; i < NWAITS; i++) {
    while (!atomic_load(&ready[i]))
      sleep_ms(1);
    wait_asleep(i);
  }

  for (int round = 1; round <= 5; round++) {
    for (int i = 0; i < NWAITS; i++) {
      pthread_kill(threads[i], SIGUSR1);
      for (int spins = 0; atomic_load(&handled[i]) < round && spins < 5000; spins++)
        sleep_ms(1);
      sleep_ms(2);
      wait_asleep(i); /* back in its wait before the next signal */
    }
  }

  /* Release everything. */
  pthread_mutex_lock(&m);
  go = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&m);
  sem_post(&sem);
  pthread_mutex_unlock(&held);
  pthread_rwlock_unlock(&rwl);
  sem_post(&target_sem);
  pthread_barrier_wait(&barrier);
  mtx_lock(&cm);
  cgo = 1;
  cnd_broadcast(&ccv);
  mtx_unlock(&cm);
  mtx_unlock(&cheld);
  if (write(pipe_fds[1], "x", 1) != 1)
    return 3;

  for (int i = 0; i < NWAITS; i++)
    pthread_join(threads[i], NULL);
  for (int i = 0; i < NWAITS; i++)
    printf("%s: handled %d, EINTR %d, result %d\n", names[i], atomic_load(&handled[i]), eintr[i],
           result[i]);
  return 0;
}
