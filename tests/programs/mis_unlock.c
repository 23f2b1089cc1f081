/* Unlocking a lock the caller does not hold. argv[1] picks the case:
 *   mutex_other:  T1 holds an error-checking mutex M (taken in grab_mutex);
 *                 main unlocks it in release_wrong (glibc says EPERM);
 *   mutex_nobody: main unlocks an error-checking mutex nobody holds;
 *   rwlock_other: T1 write-locks W (grab_rwlock); main unlocks it in
 *                 release_wrong_rwlock;
 *   mtx_other:    T1 holds a C11 mtx_t X (grab_mtx); main mtx_unlocks it in
 *                 release_wrong_mtx;
 *   exit_holding: T1 takes M (grab_mutex) and returns holding it: an
 *                 abandoned lock, and no misuse.
 * Prints "M <addr>" (or W, X) and each call's return code, unbuffered. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <threads.h>

static pthread_mutex_t mutex;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static mtx_t plain;
static sem_t taken, release;

static __attribute__((noinline)) void grab_mutex(void) {
  int rc = pthread_mutex_lock(&mutex);
  printf("T1 lock %d\n", rc);
}

static __attribute__((noinline)) void grab_rwlock(void) {
  int rc = pthread_rwlock_wrlock(&rwlock);
  printf("T1 wrlock %d\n", rc);
}

static __attribute__((noinline)) void grab_mtx(void) {
  int rc = mtx_lock(&plain);
  printf("T1 mtx_lock %d\n", rc);
}

static void *holder(void *arg) {
  const char *mode = arg;
  if (strcmp(mode, "mutex_other") == 0)
    grab_mutex();
  else if (strcmp(mode, "rwlock_other") == 0)
    grab_rwlock();
  else
    grab_mtx();
  sem_post(&taken);
  sem_wait(&release);
  if (strcmp(mode, "mutex_other") == 0)
    printf("T1 unlock %d\n", pthread_mutex_unlock(&mutex));
  else if (strcmp(mode, "rwlock_other") == 0)
    printf("T1 unlock %d\n", pthread_rwlock_unlock(&rwlock));
  else
    printf("T1 mtx_unlock %d\n", mtx_unlock(&plain));
  return NULL;
}

static void *abandon(void *arg) {
  grab_mutex();
  return arg;
}

static __attribute__((noinline)) void release_wrong(pthread_mutex_t *m) {
  int rc = pthread_mutex_unlock(m);
  printf("T0 unlock %d\n", rc);
}

static __attribute__((noinline)) void release_wrong_rwlock(pthread_rwlock_t *w) {
  int rc = pthread_rwlock_unlock(w);
  printf("T0 unlock %d\n", rc);
}

static __attribute__((noinline)) void release_wrong_mtx(mtx_t *x) {
  int rc = mtx_unlock(x);
  printf("T0 mtx_unlock %d\n", rc);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *mode = argc > 1 ? argv[1] : "mutex_other";
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&mutex, &attr);
  mtx_init(&plain, mtx_plain);
  sem_init(&taken, 0, 0);
  sem_init(&release, 0, 0);
  printf("M %p\nW %p\nX %p\n", (void *)&mutex, (void *)&rwlock, (void *)&plain);
  if (strcmp(mode, "mutex_nobody") == 0) {
    release_wrong(&mutex);
  } else if (strcmp(mode, "exit_holding") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, abandon, NULL);
    pthread_join(t, NULL);
  } else {
    pthread_t t;
    pthread_create(&t, NULL, holder, (void *)mode);
    sem_wait(&taken);
    if (strcmp(mode, "mutex_other") == 0)
      release_wrong(&mutex);
    else if (strcmp(mode, "rwlock_other") == 0)
      release_wrong_rwlock(&rwlock);
    else
      release_wrong_mtx(&plain);
    sem_post(&release);
    pthread_join(t, NULL);
  }
  printf("done\n");
  return 0;
}
