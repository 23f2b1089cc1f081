/* Condition waits with the wrong mutex. argv[1]:
 *   no_mutex:     main waits on C with an error-checking mutex M it does not
 *                 hold, in wait_unlocked (glibc returns EPERM at once);
 *   two_mutexes:  T1 waits on C with M1 (in wait_for_go); main, holding M2,
 *                 waits on C with M2 for 100 ms in wait_other_mutex, then
 *                 wakes T1 properly.
 * Prints "C <addr>", "M <addr>", "M1 <addr>", "M2 <addr>" and return codes. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t mutex, m1 = PTHREAD_MUTEX_INITIALIZER, m2 = PTHREAD_MUTEX_INITIALIZER;
static int waiting, go;

static struct timespec in_ms(long ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += ms * 1000000L;
  while (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

static __attribute__((noinline)) void wait_unlocked(void) {
  struct timespec deadline = in_ms(100);
  int rc = pthread_cond_timedwait(&cond, &mutex, &deadline);
  printf("T0 timedwait %d\n", rc);
}

static __attribute__((noinline)) void wait_other_mutex(void) {
  struct timespec deadline = in_ms(100);
  int rc = pthread_cond_timedwait(&cond, &m2, &deadline);
  printf("T0 timedwait %d\n", rc);
}

static __attribute__((noinline)) void wait_for_go(void) {
  pthread_mutex_lock(&m1);
  waiting = 1;
  while (!go)
    pthread_cond_wait(&cond, &m1);
  pthread_mutex_unlock(&m1);
}

static void *waiter(void *arg) {
  wait_for_go();
  printf("T1 woke\n");
  return arg;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *mode = argc > 1 ? argv[1] : "no_mutex";
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&mutex, &attr);
  printf("C %p\nM %p\nM1 %p\nM2 %p\n", (void *)&cond, (void *)&mutex, (void *)&m1, (void *)&m2);
  if (strcmp(mode, "no_mutex") == 0) {
    wait_unlocked();
  } else {
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    for (;;) { /* T1 sets `waiting` and releases M1 only inside its wait */
      pthread_mutex_lock(&m1);
      int seen = waiting;
      pthread_mutex_unlock(&m1);
      if (seen)
        break;
      usleep(1000);
    }
    pthread_mutex_lock(&m2);
    wait_other_mutex();
    pthread_mutex_unlock(&m2);
    pthread_mutex_lock(&m1);
    go = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&m1);
    pthread_join(t, NULL);
  }
  printf("done\n");
  return 0;
}
