// include/leakwatch.h from C++, in the shape of a GoogleTest fixture:
// SetUp() takes a leakwatch_mark(), TearDown() checks
// leakwatch_verify_since(mark, 500).
//   clean_test  a std::thread, joined                          -> 0
//   leaky_test  a detached std::thread (parked_worker) blocked on a
//               std::condition_variable                        -> 1
// Prints "<test> <n>" for each, then "active <n>"; releases the parked
// thread and gives it time to end before main returns (clean at exit).
#include <leakwatch.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

namespace {

std::mutex lock;
std::condition_variable wake;
bool released = false;
bool parked_done = false;

struct Fixture {
  leakwatch_mark_t mark{};
  void SetUp() { mark = leakwatch_mark(); }
  int TearDown() { return leakwatch_verify_since(mark, 500); }
};

void busy_worker() {
  volatile long sum = 0;
  for (long i = 0; i < 100000; i++)
    sum += i;
}

void parked_worker() {
  std::unique_lock<std::mutex> guard(lock);
  wake.wait(guard, [] { return released; });
  parked_done = true;
  wake.notify_all();
}

int clean_test() {
  Fixture f;
  f.SetUp();
  std::thread t(busy_worker);
  t.join();
  return f.TearDown();
}

int leaky_test() {
  Fixture f;
  f.SetUp();
  std::thread(parked_worker).detach();
  return f.TearDown();
}

} // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  std::printf("clean_test %d\n", clean_test());
  std::printf("leaky_test %d\n", leaky_test());
  std::printf("active %d\n", leakwatch_active());
  {
    std::unique_lock<std::mutex> guard(lock);
    released = true;
    wake.notify_all();
    wake.wait(guard, [] { return parked_done; });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50)); // the detached thread ends
  return 0;
}
