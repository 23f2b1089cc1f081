/*
 * lwbench_cxx.cpp - the C++ half of the leakwatch micro-benchmarks.
 *
 * Usage: lwbench_cxx WORKLOAD [ITERATIONS]     (lwbench_cxx list: workloads)
 *
 * Same output as lwbench: `workload=NAME iters=N ns_per_op=F`, with
 * CLOCK_MONOTONIC around the measured loop only. Kept apart from lwbench.c
 * so the C benchmark stays plain C. libstdc++'s std::mutex calls
 * pthread_mutex_lock/unlock through the PLT, so this measures what a C++
 * program pays for the shim's mutex wrappers, inlined guard objects and all.
 * C++20: std::binary_semaphore waits on futexes through syscall().
 */
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <semaphore>
#include <sys/syscall.h>
#include <thread>
#include <time.h>
#include <unistd.h>

namespace {

double now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// stdmutex: std::lock_guard<std::mutex> around an increment, one thread.
void bench_stdmutex(unsigned long iters) {
  std::mutex mu;
  volatile unsigned long counter = 0;

  double t0 = now_ns();
  for (unsigned long i = 0; i < iters; i++) {
    std::lock_guard<std::mutex> guard(mu);
    counter = counter + 1;
  }
  double ns = now_ns() - t0;
  if (counter != iters) {
    std::fprintf(stderr, "lwbench_cxx: check failed: stdmutex: counter\n");
    std::exit(1);
  }
  std::printf("workload=stdmutex iters=%lu ns_per_op=%.3f\n", iters,
              ns / static_cast<double>(iters));
}

// syscall_getpid: syscall(SYS_getpid), one thread: what the syscall()
// wrapper costs a system call that is not a futex (one compare, then the
// real syscall() with every argument word forwarded).
void bench_syscall_getpid(unsigned long iters) {
  long expected = getpid(), mismatches = 0;
  double t0 = now_ns();
  for (unsigned long i = 0; i < iters; i++)
    mismatches += syscall(SYS_getpid) != expected;
  double ns = now_ns() - t0;
  if (mismatches != 0) {
    std::fprintf(stderr, "lwbench_cxx: check failed: syscall_getpid\n");
    std::exit(1);
  }
  std::printf("workload=syscall_getpid iters=%lu ns_per_op=%.3f\n", iters,
              ns / static_cast<double>(iters));
}

// semaphore_pingpong: two threads hand a token back and forth through two
// C++20 std::binary_semaphore (libstdc++ waits and wakes on futexes through
// syscall()). One op is one hand-over.
void bench_semaphore_pingpong(unsigned long iters) {
  std::binary_semaphore ping(0), pong(0);
  unsigned long returned = 0;
  std::thread other([&] {
    for (unsigned long i = 0; i < iters; i++) {
      ping.acquire();
      pong.release();
    }
  });
  double t0 = now_ns();
  for (unsigned long i = 0; i < iters; i++) {
    ping.release();
    pong.acquire();
    returned++;
  }
  double ns = now_ns() - t0;
  other.join();
  if (returned != iters) {
    std::fprintf(stderr, "lwbench_cxx: check failed: semaphore_pingpong\n");
    std::exit(1);
  }
  std::printf("workload=semaphore_pingpong iters=%lu ns_per_op=%.3f\n", iters,
              ns / static_cast<double>(2 * iters));
}

struct workload {
  const char *name;
  void (*run)(unsigned long iters);
  unsigned long default_iters; // for runs by hand; run_bench.py passes its own
};

const workload workloads[] = {
    {"stdmutex", bench_stdmutex, 40000000},
    {"syscall_getpid", bench_syscall_getpid, 20000000},
    {"semaphore_pingpong", bench_semaphore_pingpong, 1000000},
};

int usage() {
  std::fprintf(stderr, "usage: lwbench_cxx WORKLOAD [ITERATIONS]\n       lwbench_cxx list\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3)
    return usage();
  if (std::strcmp(argv[1], "list") == 0) {
    for (const workload &w : workloads)
      std::printf("%s %lu\n", w.name, w.default_iters);
    return 0;
  }
  for (const workload &w : workloads) {
    if (std::strcmp(argv[1], w.name) != 0)
      continue;
    unsigned long iters = w.default_iters;
    if (argc == 3) {
      char *end;
      errno = 0;
      iters = std::strtoul(argv[2], &end, 10);
      if (errno != 0 || end == argv[2] || *end != '\0' || iters == 0 || argv[2][0] == '-') {
        std::fprintf(stderr, "lwbench_cxx: bad iteration count '%s'\n", argv[2]);
        return 2;
      }
    }
    w.run(iters);
    return 0;
  }
  std::fprintf(stderr, "lwbench_cxx: unknown workload '%s' (try: lwbench_cxx list)\n", argv[1]);
  return 2;
}
