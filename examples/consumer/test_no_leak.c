/*
 * test_no_leak.c - a test that checks it leaks no thread, with leakwatch.h.
 *
 * Build it any of three ways (see CMakeLists.txt for the full recipes):
 *   find_package(leakwatch) + target_link_libraries(... leakwatch::leakwatch)
 *   cc -pthread test_no_leak.c $(pkg-config --cflags --libs leakwatch)
 *   cc -pthread -I<prefix>/include test_no_leak.c   (then LD_PRELOAD, or nothing)
 * It prints active=1 when leakwatch is loaded (linked or preloaded), active=0
 * when it is not; either way it exits 0, because its worker is joined.
 */
#include <pthread.h>
#include <stdio.h>

#include <leakwatch.h>

static void *worker(void *arg) {
  int *value = arg;
  *value = 42;
  return NULL;
}

int main(void) {
  printf("active=%d\n", leakwatch_active());
  fflush(stdout);
  leakwatch_ignore_current(); /* threads alive before the test are not ours */

  int value = 0;
  pthread_t thread;
  if (pthread_create(&thread, NULL, worker, &value) != 0)
    return 2;
  pthread_join(thread, NULL);

  int leaked = leakwatch_verify_none(1000);
  printf("value=%d leaked=%d\n", value, leaked);
  return leaked == 0 ? 0 : 1;
}
