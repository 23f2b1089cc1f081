/* C++ standard-library synchronisation used correctly by 4 std::threads,
 * all joined: std::mutex, std::recursive_mutex, std::timed_mutex
 * (try_lock_for), std::shared_mutex (shared and exclusive),
 * std::condition_variable (wait and wait_for) and
 * std::condition_variable_any, in a round robin. Prints the totals.
 * leakwatch must report nothing, keep status 0 and not change the output. */
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

static std::mutex mutex;
static std::recursive_mutex recursive;
static std::timed_mutex timed;
static std::shared_mutex shared;
static std::condition_variable cv;
static std::condition_variable_any cv_any;
static long counter, recursive_counter, timed_counter, shared_value, reads;
static int turn;

static void add_twice() {
  std::lock_guard<std::recursive_mutex> outer(recursive);
  std::lock_guard<std::recursive_mutex> inner(recursive);
  recursive_counter++;
}

static void worker(int id) {
  for (int i = 0; i < 500; i++) {
    {
      std::lock_guard<std::mutex> guard(mutex);
      counter++;
    }
    add_twice();
    if (timed.try_lock_for(std::chrono::seconds(10))) {
      timed_counter++;
      timed.unlock();
    }
    if (i % 4 == id) {
      std::unique_lock<std::shared_mutex> lock(shared);
      shared_value++;
    } else {
      std::shared_lock<std::shared_mutex> lock(shared);
      if (shared_value >= 0) {
        std::lock_guard<std::mutex> guard(mutex);
        reads++;
      }
    }
  }
  for (int i = 0; i < 100; i++) {
    std::unique_lock<std::mutex> lock(mutex);
    if (i % 2 == 0)
      cv.wait(lock, [id] { return turn == id; });
    else
      while (!cv.wait_for(lock, std::chrono::seconds(10), [id] { return turn == id; }))
        ;
    turn = (turn + 1) % 4;
    cv.notify_all(); /* both: a worker may already wait in the next loop */
    cv_any.notify_all();
  }
  for (int i = 0; i < 100; i++) {
    std::unique_lock<std::mutex> lock(mutex);
    cv_any.wait(lock, [id] { return turn == id; });
    turn = (turn + 1) % 4;
    cv.notify_all(); /* both: a worker may already wait in the next loop */
    cv_any.notify_all();
  }
}

int main() {
  std::vector<std::thread> threads;
  for (int id = 0; id < 4; id++)
    threads.emplace_back(worker, id);
  for (auto &thread : threads)
    thread.join();
  std::printf("counter %ld recursive %ld timed %ld shared %ld reads %ld turn %d\n", counter,
              recursive_counter, timed_counter, shared_value, reads, turn);
  return 0;
}
