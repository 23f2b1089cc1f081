// A cancellation crosses the shim's wrappers in a C++ program. Three
// threads block in waits the shim wraps (a condition variable, a
// semaphore, a join); each holds an object whose destructor says it ran,
// and sees the forced unwind as the exception abi::__forced_unwind. main
// cancels them and joins each: the unwind must pass the shim's frames
// (which carry no exception handling of their own: the shim is C) and run
// every destructor, and each join must return PTHREAD_CANCELED.
//
// Prints one line a thread, in order, then "done".
#include <condition_variable>
#include <cxxabi.h>
#include <mutex>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

namespace {

std::mutex mutex;
std::condition_variable never_notified;
sem_t never_posted;
pthread_t never_ends;
char seen[3][64];

struct Says {
  int index;
  bool forced = false;
  ~Says() {
    snprintf(seen[index], sizeof seen[index], "%d: destructor ran, forced unwind %s", index,
             forced ? "seen" : "not seen");
  }
};

void *on_cond(void *) {
  Says says{0};
  try {
    std::unique_lock<std::mutex> lock(mutex);
    never_notified.wait(lock);
  } catch (abi::__forced_unwind &) {
    says.forced = true;
    throw;
  }
  return nullptr;
}

void *on_sem(void *) {
  Says says{1};
  try {
    sem_wait(&never_posted);
  } catch (abi::__forced_unwind &) {
    says.forced = true;
    throw;
  }
  return nullptr;
}

void *forever(void *) {
  for (;;)
    pause();
  return nullptr;
}

void *on_join(void *) {
  Says says{2};
  try {
    pthread_join(never_ends, nullptr);
  } catch (abi::__forced_unwind &) {
    says.forced = true;
    throw;
  }
  return nullptr;
}

} // namespace

int main() {
  sem_init(&never_posted, 0, 0);
  pthread_create(&never_ends, nullptr, forever, nullptr);
  void *(*bodies[3])(void *) = {on_cond, on_sem, on_join};
  pthread_t threads[3];
  for (int i = 0; i < 3; i++)
    pthread_create(&threads[i], nullptr, bodies[i], nullptr);
  usleep(200000); // all three blocked
  for (int i = 0; i < 3; i++) {
    pthread_cancel(threads[i]);
    void *result = nullptr;
    pthread_join(threads[i], &result);
    printf("%s; %s\n", seen[i], result == PTHREAD_CANCELED ? "canceled" : "not canceled");
  }
  pthread_cancel(never_ends);
  pthread_join(never_ends, nullptr);
  printf("done\n");
  return 0;
}
