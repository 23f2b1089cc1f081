// ABBA through std::mutex and std::lock_guard, threads from std::thread.
// Prints "A 0x…", "B 0x…", "ready"; then as attach_common.h says.
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "attach_common.h"

static std::mutex accounts, ledger;

static std::atomic<int> holding{0};

static void transfer(std::mutex &first, std::mutex &second) {
  std::lock_guard<std::mutex> hold_first(first);
  holding++;
  while (holding.load() < 2)
    std::this_thread::yield();
  std::lock_guard<std::mutex> hold_second(second);
}

int main() {
  std::printf("A %p\nB %p\n", static_cast<void *>(&accounts), static_cast<void *>(&ledger));
  std::thread one(transfer, std::ref(accounts), std::ref(ledger));
  std::thread two(transfer, std::ref(ledger), std::ref(accounts));
  attach_ready();
  attach_wait_for_go();
  std::fflush(stdout);
  std::_Exit(0); // the deadlocked threads are still joinable
}
