// C++: std::thread and std::mutex with std::lock_guard, in opposite orders
// in functions of namespace bank: T1 transfer(savings -> checking), joined,
// then T2 transfer(checking -> savings). transfer locks the source,
// deposit the destination. Prints "A <addr>" (savings), "B <addr>"
// (checking).
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>

namespace bank {

struct Account {
  std::mutex mutex;
  long balance = 100;
};

Account savings, checking;

__attribute__((noinline)) void deposit(Account &to, long amount) {
  std::lock_guard<std::mutex> guard(to.mutex);
  to.balance += amount;
}

__attribute__((noinline)) void transfer(Account &from, Account &to, long amount) {
  std::lock_guard<std::mutex> guard(from.mutex);
  from.balance -= amount;
  deposit(to, amount);
}

} // namespace bank

int main() {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  std::printf("A %p\nB %p\n", (void *)&bank::savings.mutex, (void *)&bank::checking.mutex);
  std::thread t1(bank::transfer, std::ref(bank::savings), std::ref(bank::checking), 10L);
  t1.join();
  std::thread t2(bank::transfer, std::ref(bank::checking), std::ref(bank::savings), 20L);
  t2.join();
  std::printf("done %ld\n", bank::savings.balance + bank::checking.balance);
  return 0;
}
