/* One thread creates 150 threads from one call site and joins all but
 * two, which block for good: the 3rd and the 140th. The shim captures a
 * creating thread's first stacks with libgcc's unwinder and later ones with
 * libunwind's cached one (stack.c): both leaks must carry the same
 * creation stack, spawn_batch under main. */
#include <pthread.h>
#include <stdio.h>

#define THREADS 150

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int blocked;

static void *stay(void *arg) {
  pthread_mutex_lock(&lock);
  blocked++;
  for (;;)
    pthread_cond_wait(&never, &lock);
  return arg;
}

static void *leave(void *arg) { return arg; }

static __attribute__((noinline)) int spawn_batch(pthread_t *threads) {
  for (int i = 0; i < THREADS; i++) {
    void *(*start)(void *) = i == 2 || i == 139 ? stay : leave;
    if (pthread_create(&threads[i], NULL, start, NULL) != 0)
      return -1;
  }
  return 0;
}

int main(void) {
  static pthread_t threads[THREADS];
  if (spawn_batch(threads) != 0)
    return 1;
  for (int i = 0; i < THREADS; i++)
    if (i != 2 && i != 139)
      pthread_join(threads[i], NULL);
  for (;;) {
    pthread_mutex_lock(&lock);
    int now = blocked;
    pthread_mutex_unlock(&lock);
    if (now == 2)
      break;
  }
  printf("created %d\n", THREADS);
  return 0;
}
