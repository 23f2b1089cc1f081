/* fork with threads. The parent runs two workers (parent_worker) and
 * joins them, and starts a third (parent_waiter) that is still blocked in
 * sem_wait on "resume" while it forks; it wakes and joins that one after
 * the child has ended. The child (only the forking thread exists there)
 * starts one worker (child_worker, created by start_child_worker) and
 * returns from main:
 *   argv[1] = leak:  the child's worker stays blocked in sem_wait on "sem";
 *   argv[1] = clean: the child's worker finishes and is joined.
 * The parent waits for the child and prints its exit status.
 * leakwatch must write one report per process: the parent's has no
 * findings and the parent exits 0; the child's (its own pid) has one
 * thread_leak for child_worker in "leak" mode (child status 66) and
 * nothing in "clean" mode (child status 0). No parent thread (joined
 * before the fork, or alive in the parent only) is reported in the child. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static sem_t sem, resume;
static int leak;

static void *parent_worker(void *arg) { return (void *)((long)arg * 2); }

static void *parent_waiter(void *arg) {
  sem_wait(&resume);
  return arg;
}

static void *child_worker(void *arg) {
  (void)arg;
  if (leak)
    sem_wait(&sem);
  return NULL;
}

static __attribute__((noinline)) pthread_t start_child_worker(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, child_worker, NULL);
  return thread;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "leak") != 0 && strcmp(argv[1], "clean") != 0)) {
    fprintf(stderr, "usage: %s leak|clean\n", argv[0]);
    return 2;
  }
  leak = strcmp(argv[1], "leak") == 0;
  sem_init(&sem, 0, 0);
  sem_init(&resume, 0, 0);
  pthread_t waiter;
  pthread_create(&waiter, NULL, parent_waiter, (void *)7L);
  pthread_t workers[2];
  long sum = 0;
  for (long i = 0; i < 2; i++)
    pthread_create(&workers[i], NULL, parent_worker, (void *)(i + 1));
  for (int i = 0; i < 2; i++) {
    void *result;
    pthread_join(workers[i], &result);
    sum += (long)result;
  }
  printf("parent workers sum %ld\n", sum);
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    pthread_t worker = start_child_worker();
    if (!leak)
      pthread_join(worker, NULL);
    else
      usleep(50 * 1000);
    printf("child %s\n", leak ? "leaves its worker" : "joined its worker");
    return 0;
  }
  int status = 0;
  waitpid(child, &status, 0);
  printf("child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  sem_post(&resume);
  void *result;
  pthread_join(waiter, &result);
  printf("parent waiter returned %ld\n", (long)result);
  return 0;
}
