/* A program at its thread limit: RLIMIT_NPROC lets it have one thread more
 * than it has. Its pthread_create (thrd_create, with "c11") must get that
 * thread: the shim's helper needs a slot too, but never takes the one the
 * program asked for. Prints "created: ok" or the error.
 *
 * Then the limit is raised and one more thread made, which waits while the
 * program looks for a thread named "leakwatch" (the shim's helper, which
 * tries again at each creation until it can start): "helper: yes" or "no".
 *
 * With "wait", the limit first leaves no room at all while the process,
 * single-threaded, blocks in sem_wait (a SIGALRM handler posts): the helper
 * cannot start there, and must still start at the later creation.
 *
 * Root is not held to RLIMIT_NPROC, so as root the program first becomes
 * the unused uid given as argv[1]; that uid then has this one task. */
#define _GNU_SOURCE
#include <dirent.h>
#include <grp.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <threads.h>
#include <unistd.h>

static void *work(void *arg) { return arg; }

static pthread_barrier_t looked;
static void *wait_for_the_look(void *arg) {
  pthread_barrier_wait(&looked);
  return arg;
}

static sem_t posted;
static void post(int signo) {
  (void)signo;
  sem_post(&posted);
}

/* Blocks, single-threaded, with no room for any other thread. */
static int wait_at_no_room(void) {
  struct rlimit none = {1, 16};
  if (setrlimit(RLIMIT_NPROC, &none) != 0)
    return -1;
  sem_init(&posted, 0, 0);
  signal(SIGALRM, post);
  alarm(1);
  while (sem_wait(&posted) != 0) {
  }
  printf("waited: ok\n");
  return 0;
}

static int helper_named(void) {
  DIR *tasks = opendir("/proc/self/task");
  struct dirent *entry;
  int found = 0;
  while (tasks && (entry = readdir(tasks))) {
    char path[300], name[32] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", entry->d_name);
    FILE *comm = fopen(path, "r");
    if (comm && fgets(name, sizeof name, comm) && strcmp(name, "leakwatch\n") == 0)
      found = 1;
    if (comm)
      fclose(comm);
  }
  if (tasks)
    closedir(tasks);
  return found;
}
static int work_c11(void *arg) { return arg != NULL; }

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  if (geteuid() != 0) {
    printf("needs root\n");
    return 3;
  }
  uid_t uid = (uid_t)atoi(argv[1]);
  if (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0) {
    perror("becoming the uid");
    return 2;
  }
  if (argc > 2 && strcmp(argv[2], "wait") == 0 && wait_at_no_room() != 0)
    return 2;
  struct rlimit limit = {2, 16}; /* this task and one more */
  if (setrlimit(RLIMIT_NPROC, &limit) != 0) {
    perror("setrlimit");
    return 2;
  }
  int rc;
  if (argc > 2 && strcmp(argv[2], "c11") == 0) {
    thrd_t thread;
    rc = thrd_create(&thread, work_c11, NULL) == thrd_success ? 0 : -1;
    if (rc == 0)
      thrd_join(thread, NULL);
  } else {
    pthread_t thread;
    rc = pthread_create(&thread, NULL, work, NULL);
    if (rc == 0)
      pthread_join(thread, NULL);
  }
  printf("created: %s\n", rc == 0 ? "ok" : rc > 0 ? strerror(rc) : "thrd_error");
  fflush(stdout);
  limit.rlim_cur = 16;
  if (setrlimit(RLIMIT_NPROC, &limit) != 0) {
    perror("setrlimit");
    return 2;
  }
  pthread_t waiter;
  pthread_barrier_init(&looked, NULL, 2);
  if (pthread_create(&waiter, NULL, wait_for_the_look, NULL) != 0)
    return 2;
  int helper = 0; /* it names itself once it runs: a moment */
  for (int tries = 0; tries < 300 && !(helper = helper_named()); tries++)
    usleep(10000);
  printf("helper: %s\n", helper ? "yes" : "no");
  pthread_barrier_wait(&looked);
  pthread_join(waiter, NULL);
  return 0;
}
