/* A leaked thread whose name is made to fool a terminal and a reader of the
 * report: ESC [2J (clear the screen), then a newline and a line that looks
 * like a report's own ("==1== fake"). 15 bytes, the kernel's limit.
 * Under leakwatch: the text report shows it escaped (\x1b[2J\x0a==1== fake),
 * the JSON report has the name as it is. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *sleeper(void *arg) {
  pthread_setname_np(pthread_self(), "\x1b[2J\n==1== fake");
  pause();
  return arg;
}

int main(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, sleeper, NULL);
  usleep(50 * 1000);
  printf("done\n");
  return 0;
}
