/* Trylock back-off in the inverted order: T1 takes A and tries B, T2 takes
 * B and tries A; on EBUSY they release and retry. Both run at once for
 * argv[1] seconds (default 1). Then, one after the other, T3 takes A and
 * trylocks B (succeeds) and T4 takes B and trylocks A (succeeds): a
 * trylock adds no order. Prints "A <addr>", "B <addr>", "trylock ok". */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static double seconds = 1.0;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct order {
  pthread_mutex_t *first, *second;
  long rounds;
  int once;
};

static void *worker(void *arg) {
  struct order *o = arg;
  double end = now() + seconds;
  do {
    pthread_mutex_lock(o->first);
    if (pthread_mutex_trylock(o->second) != 0) {
      pthread_mutex_unlock(o->first);
      sched_yield();
      continue;
    }
    o->rounds++;
    pthread_mutex_unlock(o->second);
    pthread_mutex_unlock(o->first);
  } while (o->once ? o->rounds == 0 : now() < end);
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1)
    seconds = atof(argv[1]);
  printf("A %p\nB %p\n", (void *)&lock_a, (void *)&lock_b);
  struct order ab = {&lock_a, &lock_b, 0, 0}, ba = {&lock_b, &lock_a, 0, 0};
  pthread_t t1, t2;
  pthread_create(&t1, NULL, worker, &ab);
  pthread_create(&t2, NULL, worker, &ba);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  struct order ab1 = {&lock_a, &lock_b, 0, 1}, ba1 = {&lock_b, &lock_a, 0, 1};
  pthread_create(&t1, NULL, worker, &ab1);
  pthread_join(t1, NULL);
  pthread_create(&t2, NULL, worker, &ba1);
  pthread_join(t2, NULL);
  printf("trylock %s\n",
         ab.rounds + ba.rounds > 0 && ab1.rounds == 1 && ba1.rounds == 1 ? "ok" : "none");
  return 0;
}
