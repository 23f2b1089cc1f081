/* A signal handler must never make the shim allocate: the handler may have
 * interrupted malloc itself. The trap: libunwind, loaded by the shim when
 * first needed, keeps thread-local storage, which glibc allocates with
 * malloc on a thread's first use of it; a thread's first cached stack
 * capture (unw_backtrace) must not be that first use inside a handler.
 *
 * Worker W starts before libunwind is loaded, makes 70 new lock-order edges
 * (70 stack captures: from the 64th the shim wants libunwind, which its
 * helper loads), waits until libunwind is mapped, then signals itself; the
 * handler takes two fresh locks nested (one more new edge: a capture in the
 * handler). This program's own malloc counts the calls made while the
 * handler runs on W. Prints "mallocs in the handler: N" and "unwinder mapped: yes|no". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maps_common.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *p, size_t size);

/* Per thread: the helper thread may still be inside its dlopen meanwhile. */
static _Thread_local volatile sig_atomic_t in_handler;
static atomic_int in_handler_mallocs;

void *malloc(size_t size) {
  if (in_handler)
    atomic_fetch_add(&in_handler_mallocs, 1);
  return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
  if (in_handler)
    atomic_fetch_add(&in_handler_mallocs, 1);
  return __libc_calloc(count, size);
}

void *realloc(void *p, size_t size) {
  if (in_handler)
    atomic_fetch_add(&in_handler_mallocs, 1);
  return __libc_realloc(p, size);
}

#define LOCKS 72
static pthread_mutex_t chain[LOCKS];
static pthread_mutex_t in_a = PTHREAD_MUTEX_INITIALIZER, in_b = PTHREAD_MUTEX_INITIALIZER;

static void handler(int signo) {
  (void)signo;
  in_handler = 1;
  pthread_mutex_lock(&in_a);
  pthread_mutex_lock(&in_b); /* a new edge: a stack capture, here */
  pthread_mutex_unlock(&in_b);
  pthread_mutex_unlock(&in_a);
  in_handler = 0;
}

static void *worker(void *arg) {
  for (int i = 0; i + 1 < LOCKS; i++) {
    pthread_mutex_lock(&chain[i]);
    pthread_mutex_lock(&chain[i + 1]); /* a new edge each time */
    pthread_mutex_unlock(&chain[i + 1]);
    pthread_mutex_unlock(&chain[i]);
  }
  for (int waited = 0; waited < 500 && !maps_has("/libunwind"); waited++) {
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  *(int *)arg = maps_has("/libunwind");
  pthread_kill(pthread_self(), SIGUSR1);
  return NULL;
}

int main(void) {
  for (int i = 0; i < LOCKS; i++)
    pthread_mutex_init(&chain[i], NULL);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = handler;
  sigaction(SIGUSR1, &action, NULL);
  int unwinder = 0;
  pthread_t w;
  pthread_create(&w, NULL, worker, &unwinder);
  pthread_join(w, NULL);
  printf("mallocs in the handler: %d\nunwinder mapped: %s\n", atomic_load(&in_handler_mallocs),
         unwinder ? "yes" : "no");
  return 0;
}
