// A small job queue with worker threads: the code under test of the
// GoogleTest example. Stop() wakes the workers and joins them; a queue
// destroyed without Stop() leaves its workers blocked for good.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

class JobQueue {
public:
  explicit JobQueue(int workers) {
    for (int i = 0; i < workers; i++)
      threads_.emplace_back([this] { Work(); });
  }

  void Push(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
  }

  // Wakes every worker and waits for them.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (std::thread &t : threads_)
      t.join();
    threads_.clear();
  }

  // The bug a test suite should catch: the workers are left waiting.
  void Abandon() {
    for (std::thread &t : threads_)
      t.detach();
    threads_.clear();
  }

private:
  void Work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty())
        return;
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};
