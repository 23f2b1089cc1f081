/* C++ threads used correctly. argv[1] picks:
 *   pool:  a pool of 4 std::threads summing under a std::mutex, all joined;
 *   async: three std::async(std::launch::async) tasks whose futures are
 *          read with get().
 * Prints the results. leakwatch must report nothing and keep status 0;
 * output identical with and without it. */
#include <cstdio>
#include <cstring>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

static std::mutex mutex;
static long total;

static void add_range(long from, long to) {
  for (long i = from; i < to; i++) {
    std::lock_guard<std::mutex> guard(mutex);
    total += i;
  }
}

static long square_sum(long n) {
  long sum = 0;
  for (long i = 1; i <= n; i++)
    sum += i * i;
  return sum;
}

int main(int argc, char **argv) {
  if (argc > 1 && std::strcmp(argv[1], "pool") == 0) {
    std::vector<std::thread> pool;
    for (long i = 0; i < 4; i++)
      pool.emplace_back(add_range, i * 1000, (i + 1) * 1000);
    for (auto &thread : pool)
      thread.join();
    std::printf("pool total %ld\n", total);
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "async") == 0) {
    std::vector<std::future<long>> futures;
    for (long n = 10; n <= 30; n += 10)
      futures.push_back(std::async(std::launch::async, square_sum, n));
    for (auto &f : futures)
      std::printf("async %ld\n", f.get());
    return 0;
  }
  std::fprintf(stderr, "usage: %s pool|async\n", argv[0]);
  return 2;
}
