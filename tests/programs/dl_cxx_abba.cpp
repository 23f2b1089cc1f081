// ABBA with C++: two std::threads take two std::mutex with std::lock_guard
// in opposite orders, in functions of namespace bank. A std::atomic
// rendezvous makes it always deadlock. Prints "A <addr>", "B <addr>" and
// one "formed <ms>" (steady_clock = CLOCK_MONOTONIC) per thread; main
// sleeps.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

namespace bank {

struct Account {
  std::mutex mutex;
  long balance = 100;
};

static Account savings, checking;
static std::atomic<int> holding{0};

static long now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

__attribute__((noinline)) static void deposit(Account &to, long amount) {
  std::printf("formed %ld\n", now_ms());
  std::lock_guard<std::mutex> guard(to.mutex);
  to.balance += amount;
}

__attribute__((noinline)) void transfer(Account &from, Account &to, long amount) {
  std::lock_guard<std::mutex> guard(from.mutex);
  from.balance -= amount;
  holding++;
  while (holding.load() < 2)
    std::this_thread::yield();
  deposit(to, amount);
}

} // namespace bank

int main() {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  std::printf("A %p\nB %p\n", (void *)&bank::savings.mutex, (void *)&bank::checking.mutex);
  std::thread t1(bank::transfer, std::ref(bank::savings), std::ref(bank::checking), 10L);
  std::thread t2(bank::transfer, std::ref(bank::checking), std::ref(bank::savings), 20L);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  std::printf("main done\n");
  t1.detach();
  t2.detach();
  return 0;
}
