// C++20 waits libstdc++ builds on futexes through syscall(): a thread left
// blocked in each of std::latch::wait, std::barrier::arrive_and_wait,
// std::counting_semaphore::acquire and std::atomic<int>::wait when main
// returns. Each must be a thread_leak, blocked in futex, whose stack names
// the user's function (wait_on_latch, ...).
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <latch>
#include <semaphore>
#include <thread>

static std::latch never_counted_down(1);
static std::barrier<> two_party(2);
static std::counting_semaphore<8> never_released(0);
static std::atomic<int> never_changed{0};

__attribute__((noinline)) static void wait_on_latch() { never_counted_down.wait(); }
__attribute__((noinline)) static void wait_on_barrier() { two_party.arrive_and_wait(); }
__attribute__((noinline)) static void wait_on_semaphore() { never_released.acquire(); }
__attribute__((noinline)) static void wait_on_atomic() { never_changed.wait(0); }

int main() {
  std::thread(wait_on_latch).detach();
  std::thread(wait_on_barrier).detach();
  std::thread(wait_on_semaphore).detach();
  std::thread(wait_on_atomic).detach();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::puts("returning");
  return 0;
}
