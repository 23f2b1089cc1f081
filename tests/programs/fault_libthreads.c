/* Threads created by shared libraries: from a constructor that runs before
 * main, and from a library loaded with dlopen (and one unloaded again with
 * dlclose). The same source is built four ways; CMake builds the program
 * (no macro), the test builds the rest with cc:
 *
 *   -DFAULT_LIB_CTOR_CLEAN -shared: a constructor (ctor_clean_init) starts
 *       ctor_clean_worker and joins it (result 42).
 *   -DFAULT_LIB_CTOR_LEAK -shared: a constructor (ctor_leak_init) starts
 *       ctor_leak_worker, which blocks in sem_wait forever: a leak.
 *   -DFAULT_LIB_DL -shared: functions for dlopen users:
 *       dl_run_and_join   starts two dl_joined_worker threads, joins them;
 *       dl_leak_blocked   starts dl_blocked_worker, blocked forever in
 *                         pthread_cond_wait;
 *       dl_spawn_unjoined starts dl_unjoined_worker, which returns at once
 *                         and is never joined; returns its tid.
 *   -DFAULT_MAIN_CTOR (linked with both ctor libraries): prints what the
 *       constructors did, starts and joins one thread, returns 0.
 *   no macro: fault_libthreads dlopen|dlclose|dlclose-clean LIBRARY
 *       dlopen:        dl_run_and_join, dl_leak_blocked; return 0
 *                      → one thread_leak (dl_blocked_worker);
 *       dlclose:       dl_run_and_join, dl_spawn_unjoined, wait until that
 *                      thread is gone, dlclose (the library is unmapped:
 *                      its start routine and creation frames point to
 *                      nothing), return 0 → one unjoined_thread, no crash;
 *       dlclose-clean: dl_run_and_join, dlclose, return 0 → no findings. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(FAULT_LIB_CTOR_CLEAN)

static long ctor_value;

static void *ctor_clean_worker(void *arg) { return (void *)((long)arg + 40); }

__attribute__((constructor)) static void ctor_clean_init(void) {
  pthread_t t;
  void *result = NULL;
  if (pthread_create(&t, NULL, ctor_clean_worker, (void *)2L) == 0 && pthread_join(t, &result) == 0)
    ctor_value = (long)result;
}

long ctor_clean_value(void) { return ctor_value; }

#elif defined(FAULT_LIB_CTOR_LEAK)

static sem_t never_posted;
static int started;

static void *ctor_leak_worker(void *arg) {
  sem_wait(&never_posted);
  return arg;
}

__attribute__((constructor)) static void ctor_leak_init(void) {
  sem_init(&never_posted, 0, 0);
  pthread_t t;
  started = pthread_create(&t, NULL, ctor_leak_worker, NULL) == 0;
}

int ctor_leak_started(void) { return started; }

#elif defined(FAULT_LIB_DL)

static pthread_mutex_t dl_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dl_never = PTHREAD_COND_INITIALIZER;
static long dl_sum;

static void *dl_joined_worker(void *arg) {
  pthread_mutex_lock(&dl_mutex);
  dl_sum += (long)arg;
  pthread_mutex_unlock(&dl_mutex);
  return NULL;
}

long dl_run_and_join(void) {
  pthread_t t[2];
  for (long i = 0; i < 2; i++)
    pthread_create(&t[i], NULL, dl_joined_worker, (void *)(i + 1));
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  return dl_sum;
}

static void *dl_blocked_worker(void *arg) {
  pthread_mutex_lock(&dl_mutex);
  for (;;)
    pthread_cond_wait(&dl_never, &dl_mutex);
  return arg;
}

void dl_leak_blocked(void) {
  pthread_t t;
  pthread_create(&t, NULL, dl_blocked_worker, NULL);
}

static volatile long unjoined_tid;

static void *dl_unjoined_worker(void *arg) {
  unjoined_tid = syscall(SYS_gettid);
  return arg;
}

long dl_spawn_unjoined(void) {
  pthread_t t;
  pthread_create(&t, NULL, dl_unjoined_worker, NULL);
  while (!unjoined_tid)
    usleep(1000);
  return unjoined_tid;
}

#elif defined(FAULT_MAIN_CTOR)

long ctor_clean_value(void);
int ctor_leak_started(void);

static void *main_worker(void *arg) { return arg; }

int main(void) {
  printf("constructor thread result %ld\n", ctor_clean_value());
  printf("constructor leak started %d\n", ctor_leak_started());
  pthread_t t;
  pthread_create(&t, NULL, main_worker, NULL);
  pthread_join(t, NULL);
  printf("main returns\n");
  return 0;
}

#else

#include <dlfcn.h>

static int mapped(const char *path) {
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[4096];
  int found = 0;
  while (maps && fgets(line, sizeof line, maps))
    if (strstr(line, path))
      found = 1;
  if (maps)
    fclose(maps);
  return found;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s dlopen|dlclose|dlclose-clean LIBRARY\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1], *library = argv[2];
  void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 3;
  }
  long (*run_and_join)(void) = (long (*)(void))dlsym(handle, "dl_run_and_join");
  void (*leak_blocked)(void) = (void (*)(void))dlsym(handle, "dl_leak_blocked");
  long (*spawn_unjoined)(void) = (long (*)(void))dlsym(handle, "dl_spawn_unjoined");
  if (!run_and_join || !leak_blocked || !spawn_unjoined)
    return 4;
  printf("joined sum %ld\n", run_and_join());
  if (strcmp(mode, "dlopen") == 0) {
    leak_blocked();
    usleep(20 * 1000);
    printf("library stays loaded, one thread blocked in it\n");
    return 0;
  }
  if (strcmp(mode, "dlclose") == 0) {
    long tid = spawn_unjoined();
    char task[64];
    snprintf(task, sizeof task, "/proc/self/task/%ld", tid);
    for (int i = 0; i < 5000 && access(task, F_OK) == 0; i++)
      usleep(1000);
    printf("unjoined thread %s\n", access(task, F_OK) == 0 ? "still there" : "gone");
  } else if (strcmp(mode, "dlclose-clean") != 0) {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  dlclose(handle);
  printf("library %s\n", mapped(library) ? "still mapped" : "unmapped");
  return 0;
}

#endif
