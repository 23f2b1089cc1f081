// C++ names in stacks (tests/test_symbols.py): demangled, never "_Z...".
// Marked lines are read by the test; keep each marked call on its line.
//
// main starts three std::threads, waits until each is parked, prints
// "main returns" and returns 0; leakwatch reports three thread_leaks (66):
//   T1 runs ns::Worker::run() (a method), blocked in
//      std::condition_variable::wait (METHOD_WAIT_LINE), holding side_
//      (locked at SIDE_LOCK_LINE);
//   T2 runs a lambda defined in ns::start_lambda(), blocked in
//      std::condition_variable::wait (LAMBDA_WAIT_LINE);
//   T3 runs ns::Box<int>::hold() (a method of a class template) that is
//      blocked in std::mutex::lock (TEMPLATE_LOCK_LINE) on a mutex main
//      holds (main took it at BUSY_LOCK_LINE).
// std::thread's constructor and std::mutex::lock are inline templates: their
// frames are "inlined": true above the program's own function.
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <semaphore.h>
#include <thread>

static sem_t ready;

namespace ns {

class Worker {
public:
  void run();

private:
  std::mutex mutex_;
  std::mutex side_;
  std::condition_variable cv_;
  bool go_ = false;
};

__attribute__((noinline)) void Worker::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  side_.lock(); /* SIDE_LOCK_LINE */
  sem_post(&ready);
  while (!go_)
    cv_.wait(lock); /* METHOD_WAIT_LINE */
  side_.unlock();
}

std::mutex &lambda_mutex = *new std::mutex;
std::condition_variable &lambda_cv = *new std::condition_variable;
bool lambda_go = false;

__attribute__((noinline)) std::thread start_lambda() {
  return std::thread([]() __attribute__((noinline)) {
    std::unique_lock<std::mutex> lock(lambda_mutex);
    sem_post(&ready);
    while (!lambda_go)
      lambda_cv.wait(lock); /* LAMBDA_WAIT_LINE */
  });
}

template <typename T> class Box {
public:
  explicit Box(std::mutex &mutex) : mutex_(mutex) {}
  __attribute__((noinline)) void hold() {
    sem_post(&ready);
    mutex_.lock(); /* TEMPLATE_LOCK_LINE */
    value_ += 1;
    mutex_.unlock();
  }

private:
  std::mutex &mutex_;
  T value_{};
};

} // namespace ns

int main() {
  sem_init(&ready, 0, 0);
  // Never destroyed: destroying a condition variable that has waiters
  // would block exit.
  ns::Worker *worker = new ns::Worker;
  std::thread method_thread(&ns::Worker::run, worker); /* METHOD_CREATE_LINE */
  sem_wait(&ready);
  std::thread lambda_thread = ns::start_lambda();
  sem_wait(&ready);
  std::mutex *busy = new std::mutex;
  busy->lock(); /* BUSY_LOCK_LINE */
  ns::Box<int> *box = new ns::Box<int>(*busy);
  std::thread template_thread(&ns::Box<int>::hold, box);
  sem_wait(&ready);
  struct timespec pause = {0, 80 * 1000000L};
  nanosleep(&pause, nullptr);
  std::printf("main returns\n");
  std::fflush(stdout);
  // Leaked on purpose: detach so that the std::thread destructors do not
  // terminate the program.
  method_thread.detach();
  lambda_thread.detach();
  template_thread.detach();
  return 0;
}
