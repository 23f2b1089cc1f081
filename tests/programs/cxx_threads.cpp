// std::threads named by their callables, standard-library frames folded in
// the text, threads grouped by source line (tests/test_cxx.py).
//
// main starts four detached std::threads, waits until each is parked on a
// condition variable nobody signals, prints "main returns" and returns 0;
// leakwatch reports them as leaked (66):
//   free_worker(int), started from a function pointer;
//   main::{lambda()#1}, a lambda (inlined into std::thread's _M_run);
//   pair_worker(int) twice, created by two calls on one line (PAIR_LINE):
//   one finding with count 2.
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <semaphore.h>
#include <thread>

static sem_t ready;
// Never destroyed: destroying a condition variable with waiters blocks.
static std::mutex &gate = *new std::mutex;
static std::condition_variable &never = *new std::condition_variable;
static bool go = false;

__attribute__((noinline)) static void park() {
  std::unique_lock<std::mutex> lock(gate);
  sem_post(&ready);
  while (!go)
    never.wait(lock); /* PARK_LINE */
}

__attribute__((noinline)) void free_worker(int) { park(); }
__attribute__((noinline)) void pair_worker(int) { park(); }

int main() {
  sem_init(&ready, 0, 0);
  std::thread(free_worker, 7).detach();
  std::thread([] { park(); }).detach();
  // clang-format off
  for (int i = 0; i < 1; i++) { std::thread(pair_worker, 1).detach(); std::thread(pair_worker, 2).detach(); } /* PAIR_LINE */
  // clang-format on
  for (int i = 0; i < 4; i++)
    sem_wait(&ready);
  std::printf("main returns\n");
  std::fflush(stdout);
  return 0;
}
