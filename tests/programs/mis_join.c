/* Joining and detaching mistakes. argv[1]:
 *   detached:     main detaches T1 (in let_go) while it runs, then joins it
 *                 in join_it (glibc: EINVAL);
 *   twice:        main joins T1 in join_it, then again in join_again;
 *   self:         main joins itself in join_self (glibc: EDEADLK);
 *   detach_twice: main detaches T1 in let_go, then again in let_go_again.
 * T1 waits on a semaphore until main is done with it, and says when it
 * ends; main waits for that and a little more, so no thread is left. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static sem_t go, finished;

static void *worker(void *arg) {
  if (arg)
    sem_wait(&go);
  sem_post(&finished);
  return NULL;
}

static __attribute__((noinline)) void let_go(pthread_t t) {
  int rc = pthread_detach(t);
  printf("detach %d\n", rc);
}

static __attribute__((noinline)) void let_go_again(pthread_t t) {
  int rc = pthread_detach(t);
  printf("detach again %d\n", rc);
}

static __attribute__((noinline)) void join_it(pthread_t t) {
  int rc = pthread_join(t, NULL);
  printf("join %d\n", rc);
}

static __attribute__((noinline)) void join_again(pthread_t t) {
  int rc = pthread_join(t, NULL);
  printf("join again %d\n", rc);
}

static __attribute__((noinline)) void join_self(void) {
  int rc = pthread_join(pthread_self(), NULL);
  printf("join self %d\n", rc);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *mode = argc > 1 ? argv[1] : "detached";
  sem_init(&go, 0, 0);
  sem_init(&finished, 0, 0);
  pthread_t t;
  if (strcmp(mode, "self") == 0) {
    join_self();
  } else if (strcmp(mode, "twice") == 0) {
    pthread_create(&t, NULL, worker, NULL);
    join_it(t);
    join_again(t);
  } else {
    pthread_create(&t, NULL, worker, (void *)1);
    let_go(t);
    if (strcmp(mode, "detached") == 0)
      join_it(t);
    else
      let_go_again(t);
    sem_post(&go);
    sem_wait(&finished);
    usleep(100 * 1000); /* the detached thread returns and ends */
  }
  printf("done\n");
  return 0;
}
