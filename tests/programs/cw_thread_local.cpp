// A thread takes a mutex and returns; a C++ thread_local object's
// destructor, which runs after the thread function returns (before the
// thread-specific-data destructors), unlocks it. Nothing is abandoned.
// Prints "trylock 0" (the mutex is free after the join).
#include <cstdio>
#include <pthread.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

struct Unlocker {
  bool armed = false;
  ~Unlocker() {
    if (armed)
      pthread_mutex_unlock(&m);
  }
};

static thread_local Unlocker unlocker;

static void *worker(void *) {
  pthread_mutex_lock(&m);
  unlocker.armed = true;
  return nullptr;
}

int main() {
  pthread_t t;
  pthread_create(&t, nullptr, worker, nullptr);
  pthread_join(t, nullptr);
  std::printf("trylock %d\n", pthread_mutex_trylock(&m));
  return 0;
}
