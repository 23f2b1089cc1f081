/* A C++ std::thread, detached by launch_background and left waiting on a
 * std::condition_variable that is never notified. leakwatch must report
 * one thread_leak: T1, "detached": true, blocked in pthread_cond_wait on
 * "cv" (mutex "mutex"), start = libstdc++'s thread entry, a creation stack
 * that contains launch_background (demangled), and a wait stack that
 * contains background_worker; exit status 66. */
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

static std::mutex mutex;
/* On the heap, never destroyed: ~condition_variable (pthread_cond_destroy)
 * at exit would wait for the leaked waiter forever. */
static std::condition_variable &cv = *new std::condition_variable;
static bool go;

static void background_worker() {
  std::unique_lock<std::mutex> lock(mutex);
  cv.wait(lock, [] { return go; });
}

__attribute__((noinline)) static void launch_background() {
  std::thread(background_worker).detach();
}

int main() {
  launch_background();
  std::printf("cv %p\nmutex %p\n", (void *)cv.native_handle(), (void *)mutex.native_handle());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return 0;
}
