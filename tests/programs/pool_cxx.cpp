// A small C++ thread pool, written the way an application would: a fixed
// set of std::thread workers, a task queue guarded by a std::mutex, a
// std::condition_variable to wake idle workers and another to wait until
// the queue drains, std::packaged_task/std::future for results, tasks that
// submit further tasks, a std::shared_mutex-protected lookup table, and a
// clean shutdown (stop flag set under the lock, notify_all, join every
// worker). Everything it prints is deterministic.
//
// argv[1] = number of workers (default 4), argv[2] = number of tasks
// (default 2000). Under leakwatch it must report nothing and exit 0.
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

class ThreadPool {
public:
  explicit ThreadPool(unsigned workers) {
    for (unsigned i = 0; i < workers; i++)
      threads_.emplace_back([this] { worker_loop(); });
  }

  ~ThreadPool() { shutdown(); }

  template <typename F> auto submit(F &&f) -> std::future<decltype(f())> {
    using R = decltype(f());
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    std::future<R> result = task->get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.emplace_back([task] { (*task)(); });
      pending_++;
    }
    work_ready_.notify_one();
    return result;
  }

  // Block until every submitted task (including tasks submitted by tasks)
  // has finished.
  void wait_idle() {
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [this] { return pending_ == 0; });
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_)
        return;
      stopping_ = true;
    }
    work_ready_.notify_all();
    for (auto &t : threads_)
      t.join();
  }

  std::size_t executed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return executed_;
  }

private:
  void worker_loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty())
          return; // stopping and drained
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
      bool now_idle;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        executed_++;
        now_idle = --pending_ == 0;
      }
      if (now_idle)
        idle_.notify_all();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> queue_;
  std::size_t pending_ = 0;
  std::size_t executed_ = 0;
  bool stopping_ = false;
};

// A shared table: readers and writers (sums are order-independent).
class Table {
public:
  std::uint64_t get(int key) {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    auto it = values_.find(key);
    return it == values_.end() ? 0 : it->second;
  }
  void add(int key, std::uint64_t value) {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    values_[key] += value;
  }
  std::uint64_t checksum() {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    std::uint64_t sum = 0;
    for (auto &kv : values_)
      sum = sum * 1000003u + kv.first * 31u + kv.second;
    return sum;
  }

private:
  std::shared_mutex mutex_;
  std::map<int, std::uint64_t> values_;
};

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

std::uint64_t work(int n) {
  std::uint64_t h = static_cast<std::uint64_t>(n);
  for (int i = 0; i < 20000; i++)
    h = mix(h + static_cast<std::uint64_t>(i));
  return h;
}

} // namespace

int main(int argc, char **argv) {
  unsigned workers = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 4;
  int tasks = argc > 2 ? std::atoi(argv[2]) : 2000;
  if (workers == 0 || tasks <= 0) {
    std::fprintf(stderr, "usage: %s [workers] [tasks]\n", argv[0]);
    return 2;
  }

  Table table;
  std::uint64_t total = 0;
  std::size_t executed = 0;
  {
    ThreadPool pool(workers);

    // Round 1: independent tasks with futures.
    std::vector<std::future<std::uint64_t>> results;
    results.reserve(static_cast<std::size_t>(tasks));
    for (int i = 0; i < tasks; i++)
      results.push_back(pool.submit([i] { return work(i); }));
    for (auto &f : results)
      total ^= f.get();

    // Round 2: tasks that update the table and submit follow-up tasks.
    for (int i = 0; i < tasks / 4; i++) {
      pool.submit([&pool, &table, i] {
        table.add(i % 64, work(i) & 0xffff);
        if (i % 8 == 0)
          pool.submit([&table, i] { table.add(1000 + i % 16, work(-i) & 0xff); });
        return 0;
      });
    }
    pool.wait_idle();
    std::vector<std::future<std::uint64_t>> reads;
    for (int r = 0; r < 8; r++)
      reads.push_back(pool.submit([&table, r] {
        std::uint64_t s = 0;
        for (int k = r; k < 64; k += 8)
          s += table.get(k);
        return s;
      }));
    std::uint64_t read_sum = 0;
    for (auto &f : reads)
      read_sum += f.get();
    std::printf("read %llu\n", static_cast<unsigned long long>(read_sum));

    // Round 3: a promise fulfilled by a plain std::thread, waited on by a task.
    std::promise<int> promise;
    std::shared_future<int> ready = promise.get_future().share();
    auto waiter = pool.submit([ready] { return ready.get() * 2; });
    std::thread producer([&promise] { promise.set_value(21); });
    producer.join();
    std::printf("promise %d\n", waiter.get());

    pool.wait_idle();
    executed = pool.executed();
    pool.shutdown();
  }

  std::printf("workers %u tasks %d\n", workers, tasks);
  std::printf("executed %zu\n", executed);
  std::printf("results %016llx\n", static_cast<unsigned long long>(total));
  std::printf("table %016llx\n", static_cast<unsigned long long>(table.checksum()));
  return 0;
}
