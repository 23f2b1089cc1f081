/* A fork-heavy clean program: one thread created and joined, then
 * `argv[1]` children forked one after another, each exiting at once
 * through exit(). Every child makes an exit report of its own. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *work(void *arg) { return arg; }

int main(int argc, char **argv) {
  int children = argc > 1 ? atoi(argv[1]) : 3;
  pthread_t thread;
  if (pthread_create(&thread, NULL, work, NULL) != 0 || pthread_join(thread, NULL) != 0)
    return 1;
  for (int i = 0; i < children; i++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
      return 1;
    if (pid == 0)
      exit(0);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      return 1;
  }
  printf("forked %d\n", children);
  return 0;
}
