/* include/leakwatch.h from a test program, one scenario per argv[1]:
 *
 *   clean      4 workers, all joined; verify_none(1000)            -> 0
 *   leak       T1 (stuck_worker) blocks in pthread_cond_wait;
 *              verify_none(1000) -> 1; argv[2] "_exit" ends with _exit(0)
 *              (no exit report: the verify report's JSON stays), else
 *              returns 0 from main (the exit report follows)
 *   slow       T1 (slow_worker), detached, ends after 200 ms;
 *              verify_none(1000) -> 0, after the retries saw it go
 *   unjoined   T1 (quick_worker) ends at once, never joined or detached;
 *              verify_none(300) -> 1
 *   ignore     T1 (old_cond_worker, named "old-pool") and T2 (old_sem_worker,
 *              detached) block forever; leakwatch_ignore_current(); then
 *              T3 (new_worker) is created and joined; verify_none(500) -> 0;
 *              returns 0 from main
 *   ignore_then_leak  as ignore, but T3 (new_leak) blocks forever too
 *   no_ignore  as ignore without the leakwatch_ignore_current() call
 *   report     T1 (report_cond_worker) in pthread_cond_wait, T2
 *              (report_sem_worker) in sem_wait; leakwatch_report(1) writes
 *              the live report to stdout; then both are woken and joined
 *
 * Prints "active <n>", "cv <addr>" and "sem <addr>", "verify <n>" (or
 * "report <n>") and "elapsed <ms>" of that call. stdout is unbuffered. */
#define _GNU_SOURCE
#include <leakwatch.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static int released, blocked;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void wait_on_cv(void) {
  pthread_mutex_lock(&lock);
  blocked++;
  while (!released)
    pthread_cond_wait(&cv, &lock);
  pthread_mutex_unlock(&lock);
}

static void wait_until_blocked(int n) {
  for (;;) {
    pthread_mutex_lock(&lock);
    int now = blocked;
    pthread_mutex_unlock(&lock);
    if (now >= n)
      break;
    usleep(1000);
  }
  usleep(50 * 1000);
}

static void *work(void *arg) {
  volatile long sum = 0;
  for (long i = 0; i < 100000; i++)
    sum += i;
  return arg;
}

static void *stuck_worker(void *arg) {
  wait_on_cv();
  return arg;
}

static void *slow_worker(void *arg) {
  usleep(200 * 1000);
  return arg;
}

static void *quick_worker(void *arg) { return arg; }

static void *old_cond_worker(void *arg) {
  wait_on_cv();
  return arg;
}

static void *old_sem_worker(void *arg) {
  pthread_mutex_lock(&lock);
  blocked++;
  pthread_mutex_unlock(&lock);
  while (sem_wait(&sem) != 0) {
  }
  return arg;
}

static void *new_worker(void *arg) { return work(arg); }

static void *new_leak(void *arg) {
  wait_on_cv();
  return arg;
}

static void *report_cond_worker(void *arg) {
  wait_on_cv();
  return arg;
}

static void *report_sem_worker(void *arg) { return old_sem_worker(arg); }

static void verify(unsigned timeout_ms) {
  long started = now_ms();
  int n = leakwatch_verify_none(timeout_ms);
  long took = now_ms() - started;
  printf("verify %d\nelapsed %ld\n", n, took);
}

static void old_threads(void) {
  pthread_t a, b;
  pthread_create(&a, NULL, old_cond_worker, NULL);
  pthread_setname_np(a, "old-pool");
  pthread_create(&b, NULL, old_sem_worker, NULL);
  pthread_detach(b);
  wait_until_blocked(2);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *mode = argc > 1 ? argv[1] : "clean";
  sem_init(&sem, 0, 0);
  printf("active %d\ncv %p\nsem %p\n", leakwatch_active(), (void *)&cv, (void *)&sem);
  pthread_t t[4];
  if (strcmp(mode, "clean") == 0) {
    for (int i = 0; i < 4; i++)
      pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < 4; i++)
      pthread_join(t[i], NULL);
    verify(1000);
  } else if (strcmp(mode, "leak") == 0) {
    pthread_create(&t[0], NULL, stuck_worker, NULL);
    wait_until_blocked(1);
    verify(1000);
    if (argc > 2 && strcmp(argv[2], "_exit") == 0)
      _exit(0);
  } else if (strcmp(mode, "slow") == 0) {
    pthread_create(&t[0], NULL, slow_worker, NULL);
    pthread_detach(t[0]);
    verify(1000);
  } else if (strcmp(mode, "unjoined") == 0) {
    pthread_create(&t[0], NULL, quick_worker, NULL);
    usleep(50 * 1000);
    verify(300);
    pthread_join(t[0], NULL); /* clean at exit */
  } else if (strcmp(mode, "ignore") == 0 || strcmp(mode, "ignore_then_leak") == 0 ||
             strcmp(mode, "no_ignore") == 0) {
    old_threads();
    if (strcmp(mode, "no_ignore") != 0)
      leakwatch_ignore_current();
    if (strcmp(mode, "ignore_then_leak") == 0) {
      pthread_create(&t[0], NULL, new_leak, NULL);
      wait_until_blocked(3);
    } else {
      pthread_create(&t[0], NULL, new_worker, NULL);
      pthread_join(t[0], NULL);
    }
    verify(500);
  } else if (strcmp(mode, "report") == 0) {
    pthread_create(&t[0], NULL, report_cond_worker, NULL);
    pthread_create(&t[1], NULL, report_sem_worker, NULL);
    wait_until_blocked(2);
    long started = now_ms();
    int n = leakwatch_report(STDOUT_FILENO);
    long took = now_ms() - started;
    printf("report %d\nelapsed %ld\n", n, took);
    pthread_mutex_lock(&lock);
    released = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&lock);
    sem_post(&sem);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  printf("main done\n");
  return 0;
}
