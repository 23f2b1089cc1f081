/* A root process that drops to another user (argv[1] "setuid") or into a
 * chroot (argv[1] "chroot" DIR), then leaks a thread started in
 * leaked_worker: the report's frames and start function must still have
 * names. Run as a normal user, "setuid" prints "not root" and does the
 * rest as is. Prints "dropped <rc>" then "leaking". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *leaked_worker(void *arg) {
  pthread_mutex_lock(&m);
  for (;;)
    pthread_cond_wait(&never, &m);
  return arg;
}

static __attribute__((noinline)) void start_leak(void) {
  pthread_t t;
  pthread_create(&t, NULL, leaked_worker, NULL);
  usleep(50000);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int rc = 0;
  if (argc > 2 && strcmp(argv[1], "chroot") == 0)
    rc = chroot(argv[2]) || chdir("/");
  else if (getuid() != 0)
    printf("not root\n");
  else
    rc = setgid(65534) || setuid(65534);
  printf("dropped %d\n", rc);
  start_leak();
  printf("leaking\n");
  return 0;
}
