/* vfork+exec and posix_spawn from a multi-threaded program.
 *
 *   fault_spawn vfork|posix_spawn N
 *     two workers lock and unlock mutexes and signal a condition variable
 *     in a loop (busy in the shim) while main starts N children of this
 *     same program ("child" mode), one after the other, with vfork+execv
 *     or posix_spawn, and waits for each. Then the workers stop and are
 *     joined. Prints "spawned N, statuses ok", exits 0.
 *   fault_spawn child
 *     starts two threads that lock a mutex, joins them, exits 7 (so the
 *     parent can tell a clean child (7) from one with findings (66)).
 *
 * Under leakwatch every process writes its own report, all clean. */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static pthread_mutex_t m1 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t m2 = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static atomic_int stop;
static long counter;

static void *busy(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    pthread_mutex_lock(&m1);
    pthread_mutex_lock(&m2);
    counter++;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&m2);
    pthread_mutex_unlock(&m1);
  }
  return NULL;
}

static void *child_thread(void *arg) {
  pthread_mutex_lock(&m1);
  counter += (long)arg;
  pthread_mutex_unlock(&m1);
  return NULL;
}

static int child(void) {
  pthread_t t[2];
  for (long i = 0; i < 2; i++)
    pthread_create(&t[i], NULL, child_thread, (void *)(i + 1));
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  return counter == 3 ? 7 : 1;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "child") == 0)
    return child();
  if (argc != 3 || (strcmp(argv[1], "vfork") != 0 && strcmp(argv[1], "posix_spawn") != 0)) {
    fprintf(stderr, "usage: %s vfork|posix_spawn N | child\n", argv[0]);
    return 2;
  }
  int use_vfork = strcmp(argv[1], "vfork") == 0;
  int n = atoi(argv[2]);
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0)
    return 3;
  self[len] = '\0';

  pthread_t workers[2];
  for (int i = 0; i < 2; i++)
    pthread_create(&workers[i], NULL, busy, NULL);

  int good = 0;
  for (int i = 0; i < n; i++) {
    char *child_argv[] = {self, "child", NULL};
    pid_t pid;
    if (use_vfork) {
      pid = vfork();
      if (pid == 0) {
        execv(self, child_argv);
        _exit(127);
      }
    } else if (posix_spawn(&pid, self, NULL, NULL, child_argv, environ) != 0) {
      pid = -1;
    }
    if (pid < 0) {
      fprintf(stderr, "spawn %d failed\n", i);
      continue;
    }
    int status;
    if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7)
      good++;
    else
      fprintf(stderr, "child %d: status 0x%x\n", (int)pid, status);
  }

  atomic_store(&stop, 1);
  for (int i = 0; i < 2; i++)
    pthread_join(workers[i], NULL);
  printf("spawned %d, statuses %s\n", n, good == n ? "ok" : "wrong");
  return good == n ? 0 : 1;
}
