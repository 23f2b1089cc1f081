/* A thread blocked forever in std::counting_semaphore::acquire (C++20).
 * The build compiles tests as C++17, where <semaphore> does not exist:
 * then this program only says so. The test case compiles it again with
 * -std=c++20. libstdc++ 12 implements counting_semaphore with atomics and
 * futex system calls, not sem_t, so leakwatch does not see the wait: it
 * must report T1 (acquire_forever) as a thread_leak in state "running",
 * with no "wait", and a current stack containing acquire_forever; exit
 * status 66. */
#include <cstdio>

#if __cplusplus > 201703L && __has_include(<semaphore>)
#include <chrono>
#include <semaphore>
#include <thread>

static std::counting_semaphore<8> semaphore(0);

static void acquire_forever() { semaphore.acquire(); }

int main() {
  new std::thread(acquire_forever); /* never joined: leaked on purpose */
  std::printf("semaphore %p\n", (void *)&semaphore);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return 0;
}
#else
int main() {
  std::printf("std::counting_semaphore needs C++20\n");
  return 0;
}
#endif
