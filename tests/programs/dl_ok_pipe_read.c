/* Not "all threads are asleep": the only other thread sleeps in read() on
 * stdin (a pipe the test writes to after a while), a call the shim cannot
 * see, while main waits in pthread_join. Prints "read <text>". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char line[128];

static void *reader(void *arg) {
  ssize_t got = read(0, line, sizeof line - 1);
  if (got > 0)
    line[got] = '\0';
  line[strcspn(line, "\n")] = '\0';
  return arg;
}

int main(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, reader, NULL);
  pthread_join(thread, NULL);
  printf("read %s\n", line);
  return 0;
}
