/* exec from a thread that is not the main thread.
 *
 *   fault_exec_thread
 *     T1 blocks in sem_wait, T2 takes "held" and blocks in
 *     pthread_cond_wait on another mutex, main blocks joining T3, and T3
 *     (execer) calls execv on this program with argv[1] = "image2". If
 *     FAULT_IMAGE2_OPTIONS is set, T3 first puts it in LEAKWATCH_OPTIONS,
 *     so the new image writes its report somewhere else.
 *     The kernel ends every thread of the old image; no exit handler runs,
 *     so the old image writes no report (its threads would be leaks).
 *   fault_exec_thread image2
 *     the new image: starts a thread that locks a mutex, joins it, prints
 *     "image2 done", exits 0: under leakwatch its report is clean. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sem_t never_posted;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cond_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t image2_mutex = PTHREAD_MUTEX_INITIALIZER;
static char self[4096];

static void *sem_blocked(void *arg) {
  sem_wait(&never_posted);
  return arg;
}

static void *cond_blocked(void *arg) {
  pthread_mutex_lock(&held);
  pthread_mutex_lock(&cond_mutex);
  for (;;)
    pthread_cond_wait(&cond, &cond_mutex);
  return arg;
}

static void *execer(void *arg) {
  (void)arg;
  usleep(100 * 1000); /* let the others block */
  const char *options = getenv("FAULT_IMAGE2_OPTIONS");
  if (options)
    setenv("LEAKWATCH_OPTIONS", options, 1);
  printf("image1 pid %d execs from a worker\n", (int)getpid());
  fflush(stdout);
  char *argv[] = {self, "image2", NULL};
  execv(self, argv);
  perror("execv");
  exit(3);
}

static void *image2_thread(void *arg) {
  pthread_mutex_lock(&image2_mutex);
  pthread_mutex_unlock(&image2_mutex);
  return arg;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "image2") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, image2_thread, NULL);
    pthread_join(t, NULL);
    printf("image2 pid %d done\n", (int)getpid());
    return 0;
  }
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0)
    return 2;
  self[len] = '\0';
  sem_init(&never_posted, 0, 0);
  pthread_t t1, t2, t3;
  pthread_create(&t1, NULL, sem_blocked, NULL);
  pthread_create(&t2, NULL, cond_blocked, NULL);
  pthread_create(&t3, NULL, execer, NULL);
  pthread_join(t3, NULL); /* never returns: T3 replaces the process */
  printf("not reached\n");
  return 1;
}
