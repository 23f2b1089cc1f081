/* Threads blocked in system calls leakwatch does not wrap, left behind when
 * main returns: read() on a pipe nobody writes, accept() on a listening
 * socket nobody connects to, epoll_wait() with a 20 s timeout, sleep(30).
 * Each is a thread_leak shown with its call and what its fd is; the exit
 * is not held up for them, and none is interrupted (no EINTR). */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static int pipe_fds[2];

static void *wait_for_input(void *arg) {
  (void)arg;
  char byte;
  if (read(pipe_fds[0], &byte, 1) != 1)
    puts("read returned early");
  return NULL;
}

static void *wait_for_client(void *arg) {
  (void)arg;
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address = {.sin_family = AF_INET};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(listener, (struct sockaddr *)&address, sizeof address);
  listen(listener, 1);
  if (accept(listener, NULL, NULL) < 0)
    puts("accept returned early");
  return NULL;
}

static void *wait_for_events(void *arg) {
  (void)arg;
  int poller = epoll_create1(0);
  struct epoll_event event;
  if (epoll_wait(poller, &event, 1, 20000) != 0)
    puts("epoll_wait returned early");
  return NULL;
}

static void *nap(void *arg) {
  (void)arg;
  if (sleep(30) != 0)
    puts("sleep returned early");
  return NULL;
}

int main(void) {
  pipe(pipe_fds);
  pthread_t thread;
  void *(*routines[])(void *) = {wait_for_input, wait_for_client, wait_for_events, nap};
  for (unsigned i = 0; i < sizeof routines / sizeof routines[0]; i++)
    pthread_create(&thread, NULL, routines[i], NULL);
  usleep(100000);
  puts("returning");
  return 0;
}
