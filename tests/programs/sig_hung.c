/* A service that does not shut down: main joins a worker blocked in read()
 * on a pipe nobody writes to or closes. No cycle, not all threads asleep:
 * only a signal ends it.
 *
 * argv[1] says what the program does with its signals before "ready":
 *   plain    nothing (SIGINT, SIGTERM... at SIG_DFL)
 *   single   no worker: main itself reads the pipe (one thread)
 *   handler  its own SIGTERM handler, installed after the worker started
 *            (after leakwatch's start): writes "handled" and _exit(7)
 *   ignore   SIGINT ignored (SIG_IGN)
 *   query    prints what sigaction and signal say about SIGTERM/SIGINT
 *   restore  a SIGTERM handler, then SIG_DFL again (default once more)
 *   sigset   System V's sigset on SIGHUP and SIGINT (hold, release, a
 *            handler, the default again), printing what each call returns
 *            and what sigaction says in between; SIGTERM untouched
 *   joined   the worker is stopped and joined first (by closing the pipe):
 *            then main reads another pipe, the one thread left, while
 *            leakwatch's helper thread runs
 *   fork     with the worker running, fork: the child (one thread, no
 *            helper) prints "child PID" and reads the pipe; the parent
 *            waits for it, prints "child died of N", releases its worker,
 *            joins it and returns 0
 * Prints "ready" when the blocking thread is (about to be) in read. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int fds[2];

static void *pipe_worker(void *arg) {
  char byte;
  ssize_t got = read(fds[0], &byte, 1);
  return (void *)got + (size_t)arg;
}

static void on_term(int signo) {
  (void)signo;
  static const char text[] = "handled\n";
  if (write(STDOUT_FILENO, text, sizeof text - 1) < 0) {
  }
  _exit(7);
}

static const char *name(void (*handler)(int)) {
  return handler == SIG_DFL    ? "SIG_DFL"
         : handler == SIG_IGN  ? "SIG_IGN"
         : handler == SIG_HOLD ? "SIG_HOLD"
                               : "a handler";
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "plain";
  setvbuf(stdout, NULL, _IONBF, 0);
  if (pipe(fds) != 0)
    return 2;
  if (strcmp(mode, "joined") == 0) {
    pthread_t worker;
    pthread_create(&worker, NULL, pipe_worker, NULL);
    close(fds[1]);
    pthread_join(worker, NULL);
    if (pipe(fds) != 0)
      return 2;
    mode = "single";
  }
  if (strcmp(mode, "single") == 0) {
    printf("ready\n");
    char byte;
    return (int)read(fds[0], &byte, 1);
  }
  pthread_t worker;
  pthread_create(&worker, NULL, pipe_worker, NULL);
  if (strcmp(mode, "fork") == 0) {
    usleep(50 * 1000);
    pid_t child = fork();
    if (child == 0) {
      printf("child %d\nready\n", (int)getpid());
      char byte;
      _exit((int)read(fds[0], &byte, 1));
    }
    int status = 0;
    waitpid(child, &status, 0);
    printf("child died of %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (write(fds[1], "x", 1) != 1)
      return 3;
    pthread_join(worker, NULL);
    return 0;
  }
  if (strcmp(mode, "handler") == 0 || strcmp(mode, "restore") == 0) {
    struct sigaction action, old;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_term;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, &old);
    printf("SIGTERM was %s\n", name(old.sa_handler));
    if (strcmp(mode, "restore") == 0) {
      void (*before)(int) = signal(SIGTERM, SIG_DFL);
      printf("SIGTERM was %s\n", name(before));
    }
  } else if (strcmp(mode, "sigset") == 0) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* System V's, on purpose */
    printf("sigset SIGHUP hold was %s\n", name(sigset(SIGHUP, SIG_HOLD)));
    printf("sigset SIGHUP hold again was %s\n", name(sigset(SIGHUP, SIG_HOLD)));
    printf("sigset SIGHUP default was %s\n", name(sigset(SIGHUP, SIG_DFL)));
    printf("sigset SIGINT handler was %s\n", name(sigset(SIGINT, on_term)));
    struct sigaction now;
    memset(&now, 0, sizeof now);
    sigaction(SIGINT, NULL, &now);
    printf("sigaction SIGINT: %s\n", name(now.sa_handler));
    printf("sigset SIGINT default was %s\n", name(sigset(SIGINT, SIG_DFL)));
#pragma GCC diagnostic pop
  } else if (strcmp(mode, "ignore") == 0) {
    signal(SIGINT, SIG_IGN);
  } else if (strcmp(mode, "query") == 0) {
    struct sigaction old;
    memset(&old, 0, sizeof old);
    int rc = sigaction(SIGTERM, NULL, &old);
    printf("sigaction SIGTERM: %d %s flags %#x\n", rc, name(old.sa_handler),
           (unsigned)(old.sa_flags & ~0x04000000)); /* not SA_RESTORER */
    void (*was)(int) = signal(SIGINT, SIG_IGN);
    printf("signal SIGINT was %s\n", name(was));
    was = signal(SIGINT, SIG_DFL);
    printf("signal SIGINT was %s\n", name(was));
    was = signal(SIGINT, SIG_DFL);
    printf("signal SIGINT was %s\n", name(was));
  }
  usleep(50 * 1000); /* the worker is in read by then */
  printf("ready\n");
  pthread_join(worker, NULL);
  return 0;
}
