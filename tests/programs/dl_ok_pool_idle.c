/* No deadlock: a pool of 4 workers idles on a condition variable for 1 s
 * (argv[1] seconds if given) while main sleeps, then main queues 4 jobs,
 * shuts the pool down (flag + broadcast) and joins it. Prints "jobs 4".
 * argv[2] "pid": print "pid <pid>" first (for the CPU test). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static int pending, done_jobs, shutting_down;

static void *pool_worker(void *arg) {
  pthread_mutex_lock(&lock);
  for (;;) {
    while (pending == 0 && !shutting_down)
      pthread_cond_wait(&work_ready, &lock);
    if (pending > 0) {
      pending--;
      done_jobs++;
      continue;
    }
    break; /* shutting down, nothing left */
  }
  pthread_mutex_unlock(&lock);
  return arg;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  double idle = argc > 1 ? atof(argv[1]) : 1.0;
  if (argc > 2 && strcmp(argv[2], "pid") == 0)
    printf("pid %d\n", (int)getpid());
  pthread_t pool[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&pool[i], NULL, pool_worker, NULL);
  usleep((useconds_t)(idle * 1e6));
  pthread_mutex_lock(&lock);
  pending = 4;
  pthread_cond_broadcast(&work_ready);
  pthread_mutex_unlock(&lock);
  pthread_mutex_lock(&lock);
  shutting_down = 1;
  pthread_cond_broadcast(&work_ready);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < 4; i++)
    pthread_join(pool[i], NULL);
  printf("jobs %d\n", done_jobs);
  return 0;
}
