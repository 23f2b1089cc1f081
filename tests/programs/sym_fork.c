/* Symbols in a forked child (tests/test_symbols.py).
 * usage: sym_fork cold|warm
 * The parent starts parent_parked (blocked in sem_wait on "resume"); in
 * warm mode it then makes a live report (leakwatch_report to /dev/null), so
 * the shim's symbolizer is set up before the fork. It forks; the child
 * starts child_worker (created at CHILD_CREATE_LINE), which blocks in
 * pthread_cond_wait at CHILD_WAIT_LINE, and returns from main: the child's
 * report has one thread_leak and the child exits 66. The parent waits for
 * the child, prints "child status N", releases and joins parent_parked and
 * returns 0 with nothing to report. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "leakwatch.h"

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static sem_t ready, resume;
static volatile int go;

static void *parent_parked(void *arg) {
  sem_post(&ready);
  sem_wait(&resume);
  return arg;
}

static void *child_worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mutex);
  sem_post(&ready);
  while (!go)
    pthread_cond_wait(&cond, &mutex); /* CHILD_WAIT_LINE */
  pthread_mutex_unlock(&mutex);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "cold") != 0 && strcmp(argv[1], "warm") != 0)) {
    fprintf(stderr, "usage: %s cold|warm\n", argv[0]);
    return 2;
  }
  sem_init(&ready, 0, 0);
  sem_init(&resume, 0, 0);
  pthread_t parked;
  pthread_create(&parked, NULL, parent_parked, NULL);
  sem_wait(&ready);
  if (strcmp(argv[1], "warm") == 0) {
    int fd = open("/dev/null", O_WRONLY);
    leakwatch_report(fd);
    close(fd);
  }
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    pthread_t worker;
    pthread_create(&worker, NULL, child_worker, NULL); /* CHILD_CREATE_LINE */
    sem_wait(&ready);
    struct timespec pause = {0, 50 * 1000000L};
    nanosleep(&pause, NULL);
    printf("child: main returns\n");
    fflush(stdout);
    return 0;
  }
  int status = 0;
  waitpid(child, &status, 0);
  printf("child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  sem_post(&resume);
  pthread_join(parked, NULL);
  printf("parent: main returns\n");
  return 0;
}
