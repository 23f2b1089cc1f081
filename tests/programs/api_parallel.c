/* Two "tests" running side by side in one process, each checking its own
 * threads with leakwatch_mark() / leakwatch_verify_since():
 *
 *   T1 test_leaky: mark; creates leaky_child, which creates
 *      leaky_grandchild (blocks forever in pthread_cond_wait) and returns;
 *      joins leaky_child; verify_since(mark, 600) -> 1 (the grandchild).
 *   T2 test_clean: mark; creates clean_worker (detached), which creates and
 *      joins clean_helper, then sleeps 300 ms from the moment both tests
 *      start verifying, and ends; verify_since(mark, 3000) -> 0 once it
 *      has gone.
 *
 * Both take their marks before either creates a thread, and both verify at
 * the same time (a barrier), so each verify runs while the other test's
 * threads are alive. Prints "leaky <n>", "clean <n>", "<test>_elapsed <ms>",
 * "grandchild <pthread_t>". main joins both and returns 0; the grandchild
 * is still blocked at exit. */
#define _GNU_SOURCE
#include <leakwatch.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t marked, verifying;
static int grandchild_blocked;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void *leaky_grandchild(void *arg) {
  pthread_mutex_lock(&lock);
  grandchild_blocked = 1;
  for (;;)
    pthread_cond_wait(&never, &lock);
  return arg;
}

static void *leaky_child(void *arg) {
  pthread_t g;
  pthread_create(&g, NULL, leaky_grandchild, NULL);
  printf("grandchild %p\n", (void *)g);
  return arg;
}

static void *test_leaky(void *arg) {
  leakwatch_mark_t mark = leakwatch_mark();
  pthread_barrier_wait(&marked);
  pthread_t c;
  pthread_create(&c, NULL, leaky_child, NULL);
  pthread_join(c, NULL);
  for (;;) {
    pthread_mutex_lock(&lock);
    int blocked = grandchild_blocked;
    pthread_mutex_unlock(&lock);
    if (blocked)
      break;
    usleep(1000);
  }
  pthread_barrier_wait(&verifying);
  long started = now_ms();
  int n = leakwatch_verify_since(mark, 600);
  printf("leaky %d\nleaky_elapsed %ld\n", n, now_ms() - started);
  return arg;
}

static void *clean_helper(void *arg) { return arg; }

static void *clean_worker(void *arg) {
  pthread_t h;
  pthread_create(&h, NULL, clean_helper, NULL);
  pthread_join(h, NULL);
  pthread_barrier_wait(&verifying);
  usleep(300 * 1000);
  return arg;
}

static void *test_clean(void *arg) {
  leakwatch_mark_t mark = leakwatch_mark();
  pthread_barrier_wait(&marked);
  pthread_t w;
  pthread_create(&w, NULL, clean_worker, NULL);
  pthread_detach(w);
  pthread_barrier_wait(&verifying);
  long started = now_ms();
  int n = leakwatch_verify_since(mark, 3000);
  printf("clean %d\nclean_elapsed %ld\n", n, now_ms() - started);
  return arg;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_barrier_init(&marked, NULL, 2);
  pthread_barrier_init(&verifying, NULL, 3); /* both tests and clean_worker */
  pthread_t a, b;
  pthread_create(&a, NULL, test_leaky, NULL);
  pthread_create(&b, NULL, test_clean, NULL);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  printf("main done\n");
  return 0;
}
