/* fork against thread creation (issue 16 item 2). One thread creates and
 * joins threads in a loop, each of which creates and joins one more (the
 * shim captures each creation stack, and libunwind walks the loaded
 * modules from inside that capture); another
 * forks argv[1] children (default 300), each of which calls _exit(0) at
 * once. A fork closes the shim's loader gate and waits for it to empty: a
 * thread already inside the gate must never wait on it, or both spin
 * forever. A hang is told from a slow machine by progress: when no fork
 * completes for 15 s, main prints "hung after K forks" and exits with 1.
 * Output: "forks N creates some", status 0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static atomic_long creates;
static atomic_int forks_done;

static void *nothing(void *arg) { return arg; }

/* A new thread's first capture runs with a cold libunwind cache: it
 * always walks the loaded modules from inside the gate. */
static void *starts_one(void *arg) {
  pthread_t thread;
  if (pthread_create(&thread, NULL, nothing, arg) == 0)
    pthread_join(thread, NULL);
  return arg;
}

static void *creator(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, starts_one, NULL) == 0) {
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
    atomic_fetch_add(&forks_done, 1);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int children = argc > 1 ? atoi(argv[1]) : 300;
  pthread_t create_thread, fork_thread;
  pthread_create(&create_thread, NULL, creator, NULL);
  pthread_create(&fork_thread, NULL, forker, &children);
  /* Watch the forker's progress with plain sleeps and atomics: a hung
   * fork holds the shim's locks, which a join would wait for. */
  int seen = -1, still = 0;
  while (atomic_load(&forks_done) < children) {
    struct timespec tick = {1, 0};
    nanosleep(&tick, NULL);
    int done = atomic_load(&forks_done);
    still = done == seen ? still + 1 : 0;
    seen = done;
    if (still >= 15) {
      printf("hung after %d forks\n", done);
      fflush(stdout);
      _exit(1);
    }
  }
  pthread_join(fork_thread, NULL);
  atomic_store(&stop, 1);
  pthread_join(create_thread, NULL);
  printf("forks %d creates %s\n", children, atomic_load(&creates) > 0 ? "some" : "none");
  return 0;
}
