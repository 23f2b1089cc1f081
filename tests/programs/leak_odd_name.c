/* A leaked thread whose name is not UTF-8 (names are bytes to the kernel):
 * the JSON report must stay valid JSON. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *sleeper(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "w\xff\xfe\"q\\");
  pause();
  return NULL;
}

int main(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, sleeper, NULL);
  usleep(50 * 1000);
  printf("done\n");
  return 0;
}
