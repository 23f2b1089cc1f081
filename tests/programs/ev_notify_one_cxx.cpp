// std::condition_variable::notify_one (libstdc++ calls pthread_cond_signal
// through its PLT) where notify_all was needed: three workers wait for a
// flag, the notifier sets it and wakes one. The other two stay blocked;
// main returns without joining them. Prints "line <n>" (the notify call).
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

static std::mutex lock;
// Never destroyed: glibc's pthread_cond_destroy at exit would wait for the
// two workers still blocked on it.
static std::condition_variable &started = *new std::condition_variable;
static int waiting;
static bool go;

static void worker() {
  std::unique_lock<std::mutex> guard(lock);
  waiting++;
  started.wait(guard, [] { return go; });
  // One woken worker leaves; the flag stays set, but it never tells the others.
  go = false;
}

__attribute__((noinline)) static void start_all() {
  std::unique_lock<std::mutex> guard(lock);
  while (waiting < 3) {
    guard.unlock();
    std::this_thread::yield();
    guard.lock();
  }
  go = true;
  std::printf("line %d\n", __LINE__ + 1);
  started.notify_one();
}

int main() {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  std::thread workers[3] = {std::thread(worker), std::thread(worker), std::thread(worker)};
  std::thread notifier(start_all);
  notifier.join();
  for (auto &w : workers)
    w.detach();
  std::printf("ready\n");
  return 0;
}
