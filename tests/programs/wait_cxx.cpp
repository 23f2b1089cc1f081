/* One C++ thread left blocked at exit in a standard-library mutex or
 * condition variable; argv[1] picks which. Threads are std::threads
 * (never joined: their objects are leaked on purpose) started by
 * start_thread(); a holder is T1 and the blocked thread T2, else the
 * blocked thread is T1. main prints the object's address, sleeps 50 ms and
 * returns 0. leakwatch must report (status 66):
 *   mutex:           T1 hold_mutex holds "mutex" (std::lock_guard), parks;
 *                    T2 lock_mutex is blocked in pthread_mutex_lock on it,
 *                    owner 1; T1's held lists it (stack with hold_mutex).
 *   recursive_mutex: T1 hold_recursive locks "mutex" twice, parks; T2
 *                    lock_recursive blocked in pthread_mutex_lock, owner 1.
 *   timed_mutex:     T1 hold_timed holds "mutex"; T2 try_lock_for_long
 *                    waits in try_lock_for(60 s): pthread_mutex_clocklock,
 *                    timed, owner 1.
 *   shared_vs_writer: T1 hold_exclusive holds "mutex" (std::shared_mutex)
 *                    exclusively; T2 lock_shared_blocked is blocked in
 *                    pthread_rwlock_rdlock, owner 1.
 *   exclusive_vs_reader: T1 hold_shared holds it shared; T2
 *                    lock_exclusive_blocked is blocked in
 *                    pthread_rwlock_wrlock, no owner.
 *   condition_variable: T1 wait_on_cv in pthread_cond_wait on "cv" with
 *                    "mutex"; holds nothing.
 *   condition_variable_any: T1 wait_on_cv_any in pthread_cond_wait on
 *                    "cv" (the _any object; libstdc++ waits on its inner
 *                    condition_variable, its first member) with libstdc++'s
 *                    internal mutex; holds nothing.
 *   wait_for:        T1 wait_for_long in cv.wait_for(60 s), which is
 *                    pthread_cond_clockwait: timed. */
#include <semaphore.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <thread>

static std::mutex mutex;
static std::recursive_mutex recursive;
static std::timed_mutex timed;
static std::shared_mutex shared;
/* On the heap, never destroyed: their destructors (pthread_cond_destroy)
 * at exit would wait for the leaked waiter forever. */
static std::condition_variable &cv = *new std::condition_variable;
static std::condition_variable_any &cv_any = *new std::condition_variable_any;
static bool go;
static sem_t ready, never;

__attribute__((noinline)) static void park() { sem_wait(&never); }

static void hold_mutex() {
  std::lock_guard<std::mutex> guard(mutex);
  sem_post(&ready);
  park();
}

static void lock_mutex() { std::lock_guard<std::mutex> guard(mutex); }

static void hold_recursive() {
  std::lock_guard<std::recursive_mutex> first(recursive);
  std::lock_guard<std::recursive_mutex> second(recursive);
  sem_post(&ready);
  park();
}

static void lock_recursive() { std::lock_guard<std::recursive_mutex> guard(recursive); }

static void hold_timed() {
  timed.lock();
  sem_post(&ready);
  park();
  timed.unlock();
}

static void try_lock_for_long() {
  if (timed.try_lock_for(std::chrono::seconds(60)))
    timed.unlock();
}

static void hold_exclusive() {
  std::unique_lock<std::shared_mutex> lock(shared);
  sem_post(&ready);
  park();
}

static void lock_shared_blocked() { std::shared_lock<std::shared_mutex> lock(shared); }

static void hold_shared() {
  std::shared_lock<std::shared_mutex> lock(shared);
  sem_post(&ready);
  park();
}

static void lock_exclusive_blocked() { std::unique_lock<std::shared_mutex> lock(shared); }

static void wait_on_cv() {
  std::unique_lock<std::mutex> lock(mutex);
  cv.wait(lock, [] { return go; });
}

static void wait_on_cv_any() {
  std::unique_lock<std::mutex> lock(mutex);
  cv_any.wait(lock, [] { return go; });
}

static void wait_for_long() {
  std::unique_lock<std::mutex> lock(mutex);
  cv.wait_for(lock, std::chrono::seconds(60), [] { return go; });
}

__attribute__((noinline)) static void start_thread(void (*routine)()) {
  new std::thread(routine); /* never joined: leaked on purpose */
}

static void holder_then_waiter(void (*holder)(), void (*waiter)()) {
  start_thread(holder);
  sem_wait(&ready);
  start_thread(waiter);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  sem_init(&ready, 0, 0);
  sem_init(&never, 0, 0);
  if (std::strcmp(mode, "mutex") == 0) {
    holder_then_waiter(hold_mutex, lock_mutex);
    std::printf("mutex %p\n", (void *)mutex.native_handle());
  } else if (std::strcmp(mode, "recursive_mutex") == 0) {
    holder_then_waiter(hold_recursive, lock_recursive);
    std::printf("mutex %p\n", (void *)recursive.native_handle());
  } else if (std::strcmp(mode, "timed_mutex") == 0) {
    holder_then_waiter(hold_timed, try_lock_for_long);
    std::printf("mutex %p\n", (void *)timed.native_handle());
  } else if (std::strcmp(mode, "shared_vs_writer") == 0) {
    holder_then_waiter(hold_exclusive, lock_shared_blocked);
    std::printf("mutex %p\n", (void *)&shared);
  } else if (std::strcmp(mode, "exclusive_vs_reader") == 0) {
    holder_then_waiter(hold_shared, lock_exclusive_blocked);
    std::printf("mutex %p\n", (void *)&shared);
  } else if (std::strcmp(mode, "condition_variable") == 0) {
    start_thread(wait_on_cv);
    std::printf("cv %p\nmutex %p\n", (void *)cv.native_handle(), (void *)mutex.native_handle());
  } else if (std::strcmp(mode, "condition_variable_any") == 0) {
    start_thread(wait_on_cv_any);
    std::printf("cv %p\nmutex %p\n", (void *)&cv_any, (void *)mutex.native_handle());
  } else if (std::strcmp(mode, "wait_for") == 0) {
    start_thread(wait_for_long);
    std::printf("cv %p\nmutex %p\n", (void *)cv.native_handle(), (void *)mutex.native_handle());
  } else {
    std::fprintf(stderr, "usage: %s MODE (see the header comment)\n", argv[0]);
    return 2;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::printf("%s: main returns\n", mode);
  return 0;
}
