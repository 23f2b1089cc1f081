/* The smallest threaded test process: start one thread, join it, exit 0.
 * run_spawn.py starts it many times with and without the shim to measure
 * what leakwatch adds to every process (start-up plus exit).
 *
 * `spawn_tiny fork N`: then fork N children, one after another, each of
 * which exits at once through exit() (a fork-heavy program: each child
 * pays the shim's exit, with its report, but not its start).
 *
 * `spawn_tiny idle`: first start one more thread that only sleeps until
 * the process ends, as the shim's helper thread does: what one such
 * thread costs a process, without the shim. `spawn_tiny idle-pinned`: the
 * same thread started on the CPU main runs on, as the helper starts.
 * `spawn_tiny idle-pinned-after`: that thread started just after the
 * working one, as the shim starts its helper.
 *
 * `spawn_tiny phases`: the plain run, which then writes four CLOCK_MONOTONIC
 * times (ns) to stdout in one line: when its constructor ran (after every
 * library's, the shim's too), when main began, when pthread_create
 * returned, when pthread_join did (run_spawn.py --phases: where the time
 * goes). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *work(void *arg) { return arg; }

static long long now_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec * 1000000000LL + now.tv_nsec;
}

/* The program's constructors run after those of every library it loads;
 * glibc passes them main's arguments. Only the phases mode reads the clock
 * (the first reading is page faults of its own: the other modes must not
 * pay them, or they would hide the shim's). */
static long long constructed_ns;
__attribute__((constructor)) static void constructed(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "phases") == 0)
    constructed_ns = now_ns();
}

static void *sleep_forever(void *arg) {
  for (;;)
    pause();
  return arg;
}

/* One more thread that sleeps until the process ends (the helper's stack
 * size; on main's CPU when `pinned`). */
static int start_idle(bool pinned) {
  pthread_t idle;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024); /* the helper's */
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pinned && sched_getcpu() >= 0) {
    cpu_set_t here;
    CPU_ZERO(&here);
    CPU_SET(sched_getcpu(), &here);
    pthread_attr_setaffinity_np(&attr, sizeof here, &here);
  }
  return pthread_create(&idle, &attr, sleep_forever, NULL);
}

static bool is_mode(const char *mode, const char *name) { return mode && strcmp(mode, name) == 0; }

int main(int argc, char **argv) {
  pthread_t thread;
  const char *mode = argc == 2 ? argv[1] : NULL;
  const bool phases = is_mode(mode, "phases");
  const long long main_ns = phases ? now_ns() : 0;
  bool idle_after = is_mode(mode, "idle-pinned-after");
  if (mode && strncmp(mode, "idle", 4) == 0 && !idle_after &&
      start_idle(is_mode(mode, "idle-pinned")) != 0)
    return 1;
  if (pthread_create(&thread, NULL, work, NULL) != 0)
    return 1;
  const long long created_ns = phases ? now_ns() : 0;
  if (idle_after && start_idle(true) != 0)
    return 1;
  if (pthread_join(thread, NULL) != 0)
    return 1;
  if (phases) {
    const long long joined_ns = now_ns();
    char line[96];
    int len = snprintf(line, sizeof line, "%lld %lld %lld %lld\n", constructed_ns, main_ns,
                       created_ns, joined_ns);
    if (write(1, line, (size_t)len) != len)
      return 1;
  }
  int children = argc == 3 && strcmp(argv[1], "fork") == 0 ? atoi(argv[2]) : 0;
  for (int i = 0; i < children; i++) {
    pid_t pid = fork();
    if (pid < 0)
      return 1;
    if (pid == 0)
      exit(0);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      return 1;
  }
  return 0;
}
