// The same C++20 primitives used correctly: every waiter is released and
// every thread joined. Nothing to report.
#include <atomic>
#include <barrier>
#include <cstdio>
#include <latch>
#include <semaphore>
#include <thread>
#include <vector>

int main() {
  std::latch ready(3);
  std::barrier<> round(3);
  std::counting_semaphore<8> items(0);
  std::binary_semaphore pong(0);
  std::atomic<int> flag{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; i++)
    threads.emplace_back([&] {
      ready.count_down();
      ready.wait();
      round.arrive_and_wait();
      items.acquire();
      flag.wait(0);
    });
  std::thread ponger([&] {
    for (int i = 0; i < 100; i++)
      pong.acquire();
  });
  for (int i = 0; i < 100; i++)
    pong.release(), std::this_thread::yield();
  items.release(3);
  flag.store(1);
  flag.notify_all();
  for (auto &t : threads)
    t.join();
  ponger.join();
  std::puts("done");
  return 0;
}
