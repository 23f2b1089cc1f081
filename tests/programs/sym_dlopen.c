/* A blocking frame inside a dlopen()ed library (tests/test_symbols.py).
 * usage: sym_dlopen MODE LIB [LIB2]
 *   plain: dlopen LIB, call its alpha_block() in a worker (created at
 *          CREATE_LINE, the call at LIB_CALL_LINE), which stays blocked.
 *   warm:  like plain, but first a live report (leakwatch_report to
 *          /dev/null, with one blocked thread of the program) makes the
 *          shim symbolize before the library is loaded.
 *   reload: dlopen LIB2 (tag "bravo"), block a worker in bravo_block,
 *          make a live report (its frames are symbolized), release and join
 *          the worker, dlclose LIB2; then as plain with LIB. Prints
 *          "same_base 1" when LIB landed where LIB2 was.
 * main prints "main returns" and returns 0 with the alpha worker blocked
 * (and, in warm mode, the program's own parked thread): status 66. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leakwatch.h"

typedef void (*block_fn)(sem_t *);
typedef void (*release_fn)(void);

static sem_t ready, never;
static volatile int sink;

static void *call_block(void *arg) {
  block_fn block = (block_fn)arg;
  block(&ready); /* LIB_CALL_LINE */
  sink++;
  return NULL;
}

static void *parked(void *arg) {
  (void)arg;
  sem_post(&ready);
  sem_wait(&never);
  return NULL;
}

static void *open_lib(const char *path, const char *tag, block_fn *block, release_fn *release) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
    exit(3);
  }
  char name[64];
  snprintf(name, sizeof name, "%s_block", tag);
  *block = (block_fn)dlsym(handle, name);
  snprintf(name, sizeof name, "%s_release", tag);
  *release = (release_fn)dlsym(handle, name);
  if (!*block || !*release) {
    fprintf(stderr, "dlsym %s: %s\n", name, dlerror());
    exit(3);
  }
  return handle;
}

static uintptr_t base_of(void *handle) {
  struct link_map *map = NULL;
  dlinfo(handle, RTLD_DI_LINKMAP, &map);
  return map ? (uintptr_t)map->l_addr : 0;
}

static void live_report(void) {
  int fd = open("/dev/null", O_WRONLY);
  leakwatch_report(fd);
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[1], "reload") == 0 && argc < 4)) {
    fprintf(stderr, "usage: %s plain|warm|reload LIB [LIB2]\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  sem_init(&ready, 0, 0);
  sem_init(&never, 0, 0);
  uintptr_t old_base = 0;
  if (strcmp(mode, "warm") == 0) {
    pthread_t park;
    pthread_create(&park, NULL, parked, NULL);
    sem_wait(&ready);
    live_report();
  } else if (strcmp(mode, "reload") == 0) {
    block_fn block;
    release_fn release;
    void *handle = open_lib(argv[3], "bravo", &block, &release);
    pthread_t thread;
    pthread_create(&thread, NULL, call_block, (void *)block);
    sem_wait(&ready);
    struct timespec pause = {0, 20 * 1000000L};
    nanosleep(&pause, NULL);
    live_report();
    release();
    pthread_join(thread, NULL);
    old_base = base_of(handle);
    dlclose(handle);
  }
  block_fn block;
  release_fn release;
  void *handle = open_lib(argv[2], "alpha", &block, &release);
  if (old_base)
    printf("same_base %d\n", base_of(handle) == old_base);
  pthread_t thread;
  pthread_create(&thread, NULL, call_block, (void *)block); /* CREATE_LINE */
  sem_wait(&ready);
  struct timespec pause = {0, 50 * 1000000L};
  nanosleep(&pause, NULL);
  printf("main returns\n");
  fflush(stdout);
  return 0;
}
