/* A process-shared mutex held by another process (issue 17 item 11). The
 * parent puts a PTHREAD_PROCESS_SHARED mutex in shared memory, locks it
 * and forks; the child's T1 (waiter) locks it and blocks until the parent
 * unlocks, argv[1] ms later (default 1500). With hang_ms below that, the
 * child's long_wait must say that another process owns the mutex, and
 * which (the parent's pid); with a short hold, nothing is reported.
 * Prints "M <addr>", "parent <pid>", "child <pid>" and "child status <n>"
 * (the child exits with leakwatch's status: 66 with a finding). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t *shared;

static void nap_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&pause, &pause) != 0)
    continue;
}

static void *waiter(void *arg) {
  pthread_mutex_lock(shared);
  pthread_mutex_unlock(shared);
  return arg;
}

int main(int argc, char **argv) {
  long hold_ms = argc > 1 ? atol(argv[1]) : 1500;
  shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED)
    return 2;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(shared, &attr);
  pthread_mutexattr_destroy(&attr);
  pthread_mutex_lock(shared);
  printf("M %p\nparent %d\n", (void *)shared, (int)getpid());
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    pthread_t thread;
    pthread_create(&thread, NULL, waiter, NULL);
    pthread_setname_np(thread, "waiter");
    pthread_join(thread, NULL);
    return 0;
  }
  printf("child %d\n", (int)child);
  fflush(stdout);
  nap_ms(hold_ms);
  pthread_mutex_unlock(shared);
  int status = 0;
  waitpid(child, &status, 0);
  printf("child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
