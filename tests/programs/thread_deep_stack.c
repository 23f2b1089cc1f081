/* Two leaked threads with deep stacks, for the stack_depth option.
 *   T1 (deep_blocker) recurses 40 levels through descend(), then locks
 *      "outer" and waits in pthread_cond_wait on "cond" with "mutex".
 *   T2 (deep_runner) recurses 40 levels, then sleeps in a nanosleep loop.
 * leakwatch must report both (thread_leak, exit status 66); every stack
 * in the report (creation, wait, current, held) has at most stack_depth
 * frames: 32 by default, so T1's wait stack has exactly 32. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static volatile int go;

static __attribute__((noinline)) void block_forever(void) {
  pthread_mutex_lock(&outer);
  pthread_mutex_lock(&mutex);
  while (!go)
    pthread_cond_wait(&cond, &mutex);
  pthread_mutex_unlock(&mutex);
  pthread_mutex_unlock(&outer);
}

static __attribute__((noinline)) void sleep_forever(void) {
  while (!go) {
    struct timespec pause = {0, 5 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
}

static __attribute__((noinline)) int descend(int levels, void (*bottom)(void)) {
  if (levels == 0) {
    bottom();
    return 0;
  }
  int below = descend(levels - 1, bottom);
  __asm__ volatile("" ::: "memory"); /* keep the frame: no tail call */
  return below + 1;
}

static void *deep_blocker(void *arg) {
  return (void *)(long)descend((int)(long)arg, block_forever);
}
static void *deep_runner(void *arg) { return (void *)(long)descend((int)(long)arg, sleep_forever); }

int main(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, deep_blocker, (void *)40L);
  pthread_create(&thread, NULL, deep_runner, (void *)40L);
  printf("outer %p\ncond %p\n", (void *)&outer, (void *)&cond);
  struct timespec pause = {0, 50 * 1000 * 1000};
  nanosleep(&pause, NULL);
  return 0;
}
