/* fork against thread creation (issue 16 item 2). One thread creates and
 * joins threads in a loop (the shim captures each creation stack, and
 * libunwind walks the loaded modules from inside that capture); another
 * forks argv[1] children (default 300), each of which calls _exit(0) at
 * once. A fork closes the shim's loader gate and waits for it to empty: a
 * thread already inside the gate must never wait on it, or both spin
 * forever. Output: "forks N creates M", status 0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int stop;
static atomic_long creates;

static void *nothing(void *arg) { return arg; }

static void *creator(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, nothing, NULL) == 0) {
      pthread_join(thread, NULL);
      atomic_fetch_add(&creates, 1);
    }
  }
  return NULL;
}

static void *forker(void *arg) {
  int children = *(int *)arg;
  for (int i = 0; i < children; i++) {
    pid_t pid = fork();
    if (pid == 0)
      _exit(0);
    if (pid > 0)
      waitpid(pid, NULL, 0);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int children = argc > 1 ? atoi(argv[1]) : 300;
  pthread_t create_thread, fork_thread;
  pthread_create(&create_thread, NULL, creator, NULL);
  pthread_create(&fork_thread, NULL, forker, &children);
  pthread_join(fork_thread, NULL);
  atomic_store(&stop, 1);
  pthread_join(create_thread, NULL);
  printf("forks %d creates %s\n", children, atomic_load(&creates) > 0 ? "some" : "none");
  return 0;
}
