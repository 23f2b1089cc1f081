/* No deadlock: T1 'reader' is in read() on a pipe, T2 and T3 wait on a
 * condition variable (with its predicate), main reads stdin. On "go" main
 * writes a byte into the pipe and signals the condition variable; each
 * thread prints what it got, main joins them and prints "done". The dump
 * must leave all of that unchanged (the interrupted read and waits go on).
 * Prints "C 0x…", "ready". */
#define _GNU_SOURCE
#include <pthread.h>

#include "attach_common.h"

static int fds[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int go;

static void *reader(void *arg) {
  pthread_setname_np(pthread_self(), "reader");
  char byte = 0;
  ssize_t got = read(fds[0], &byte, 1);
  printf("reader got %zd byte(s): %c\n", got, byte);
  return arg;
}

static void *waiter(void *arg) {
  pthread_setname_np(pthread_self(), "waiter");
  pthread_mutex_lock(&lock);
  while (!go)
    pthread_cond_wait(&changed, &lock);
  pthread_mutex_unlock(&lock);
  return arg;
}

int main(void) {
  if (pipe(fds) != 0)
    return 1;
  printf("C %p\n", (void *)&changed);
  pthread_t t[3];
  pthread_create(&t[0], NULL, reader, NULL);
  pthread_create(&t[1], NULL, waiter, NULL);
  pthread_create(&t[2], NULL, waiter, NULL);
  attach_ready();
  attach_wait_for_go();
  if (write(fds[1], "x", 1) != 1)
    return 1;
  pthread_join(t[0], NULL); /* after the reader's line: a fixed order */
  pthread_mutex_lock(&lock);
  go = 1;
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&lock);
  pthread_join(t[1], NULL);
  pthread_join(t[2], NULL);
  printf("waiters woke, done\n");
  return 0;
}
