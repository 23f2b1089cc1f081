/* fork while another thread is inside code that holds a lock fork does not
 * reset in the child. argv[1] picks the busy thread:
 *   tz:     converts times with localtime_r and gmtime_r in a loop (glibc's
 *           time-zone lock);
 *   phdr:   walks the loaded modules with dl_iterate_phdr in a loop (the
 *           dynamic loader's lock, which libunwind also takes);
 *   create: starts threads that each start and join a thread of their own,
 *           in a loop: the shim unwinds each creation stack in a thread
 *           with a cold libunwind cache, so libunwind walks the loaded
 *           modules (dl_iterate_phdr, under the dynamic loader's lock).
 * main forks argv[2] children (default 200), each of which exits at once
 * with exit(0), so leakwatch writes its exit report there. The parent waits
 * for each child at most 3 s: a child must never hang.
 * Output: "children N ok N hung 0 failed 0", status 0, no findings. */
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;

static void *clock_thread(void *arg) {
  (void)arg;
  struct tm broken;
  time_t now = time(NULL);
  while (!atomic_load(&stop)) {
    localtime_r(&now, &broken);
    gmtime_r(&now, &broken);
  }
  return NULL;
}

static int count_module(struct dl_phdr_info *info, size_t size, void *count) {
  (void)info;
  (void)size;
  ++*(int *)count;
  return 0;
}

static void *phdr_thread(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    int modules = 0;
    dl_iterate_phdr(count_module, &modules);
  }
  return NULL;
}

static void *grandchild(void *arg) { return arg; }

static void *creator(void *arg) {
  pthread_t thread;
  if (pthread_create(&thread, NULL, grandchild, arg) == 0)
    pthread_join(thread, NULL);
  return NULL;
}

static void *create_thread(void *arg) {
  while (!atomic_load(&stop)) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, creator, arg) == 0)
      pthread_join(thread, NULL);
  }
  return NULL;
}

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
}

int main(int argc, char **argv) {
  void *(*busy)(void *) = NULL;
  if (argc > 1 && strcmp(argv[1], "tz") == 0)
    busy = clock_thread;
  else if (argc > 1 && strcmp(argv[1], "phdr") == 0)
    busy = phdr_thread;
  else if (argc > 1 && strcmp(argv[1], "create") == 0)
    busy = create_thread;
  if (!busy) {
    fprintf(stderr, "usage: %s tz|phdr|create [CHILDREN]\n", argv[0]);
    return 2;
  }
  int children = argc > 2 ? atoi(argv[2]) : 200;
  int ok = 0, hung = 0, failed = 0;
  pthread_t thread;
  pthread_create(&thread, NULL, busy, NULL);
  sleep_ms(10);
  for (int i = 0; i < children && hung + failed < 3; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      failed++;
      continue;
    }
    if (pid == 0)
      exit(0);
    int status = 0, waited_ms = 0;
    while (waitpid(pid, &status, WNOHANG) == 0 && waited_ms < 3000) {
      sleep_ms(1);
      waited_ms++;
    }
    if (waited_ms >= 3000) {
      fprintf(stderr, "child %d hung\n", (int)pid);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      hung++;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      ok++;
    } else {
      failed++;
    }
  }
  atomic_store(&stop, 1);
  pthread_join(thread, NULL);
  printf("children %d ok %d hung %d failed %d\n", children, ok, hung, failed);
  return 0;
}
