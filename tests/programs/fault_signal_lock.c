/* A signal handler that locks and unlocks a mutex, while the interrupted
 * code is itself in the middle of locking and unlocking other mutexes
 * (and so, under leakwatch, in the middle of the shim's bookkeeping).
 *
 * main and two workers loop for RUN_MS: lock "a", lock "b", bump, unlock
 * "b", unlock "a"; trylock "c"; rwlock read/write on "rw"; a cond signal.
 * A sender thread sends SIGUSR1 with pthread_kill to the three of them in
 * turn as fast as it can (a sched_yield between sends). The handler locks
 * "in_handler" (taken nowhere else), bumps a counter, unlocks it. The lock
 * order is always a → b → in_handler (the handler may run while a and b
 * are held), never the reverse.
 *
 * Output: "signals sent: many, handled: many, loops ok". Exit 0. Under
 * leakwatch: no crash, no deadlock, no finding. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RUN_MS 1500

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t in_handler = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t handled_dummy;
static atomic_long handled, sent, loops;
static atomic_int stop;
static long shared_value, rw_value;

static void on_signal(int sig) {
  (void)sig;
  int saved = errno;
  pthread_mutex_lock(&in_handler);
  atomic_fetch_add(&handled, 1);
  handled_dummy = !handled_dummy;
  pthread_mutex_unlock(&in_handler);
  errno = saved;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void work_loop(void) {
  while (!atomic_load(&stop)) {
    pthread_mutex_lock(&a);
    pthread_mutex_lock(&b);
    shared_value++;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);
    if (pthread_mutex_trylock(&c) == 0)
      pthread_mutex_unlock(&c);
    if (atomic_load(&loops) % 8 == 0) {
      pthread_rwlock_wrlock(&rw);
      rw_value++;
      pthread_rwlock_unlock(&rw);
    } else {
      pthread_rwlock_rdlock(&rw);
      long v = rw_value;
      (void)v;
      pthread_rwlock_unlock(&rw);
    }
    atomic_fetch_add(&loops, 1);
  }
}

static void *worker(void *arg) {
  work_loop();
  return arg;
}

struct targets {
  pthread_t t[3];
};

static void *sender(void *arg) {
  struct targets *targets = arg;
  long start = now_ms();
  for (long i = 0; now_ms() - start < RUN_MS; i++) {
    if (pthread_kill(targets->t[i % 3], SIGUSR1) == 0)
      atomic_fetch_add(&sent, 1);
    sched_yield();
  }
  atomic_store(&stop, 1);
  return NULL;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);

  struct targets targets;
  targets.t[0] = pthread_self();
  pthread_create(&targets.t[1], NULL, worker, NULL);
  pthread_create(&targets.t[2], NULL, worker, NULL);
  pthread_t send_thread;
  pthread_create(&send_thread, NULL, sender, &targets);
  work_loop();
  pthread_join(send_thread, NULL);
  pthread_join(targets.t[1], NULL);
  pthread_join(targets.t[2], NULL);
  /* Every lock is free again. */
  int free_again = pthread_mutex_trylock(&a) == 0 && pthread_mutex_trylock(&b) == 0 &&
                   pthread_mutex_trylock(&in_handler) == 0;
  if (free_again) {
    pthread_mutex_unlock(&in_handler);
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);
  }
  printf("signals sent: %s, handled: %s, loops %s\n", atomic_load(&sent) > 1000 ? "many" : "few",
         atomic_load(&handled) > 100 ? "many" : "few",
         free_again && atomic_load(&loops) > 1000 ? "ok" : "wrong");
  fprintf(stderr, "sent %ld handled %ld loops %ld\n", atomic_load(&sent), atomic_load(&handled),
          atomic_load(&loops));
  return 0;
}
