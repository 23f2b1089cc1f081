// C++ that does not need libstdc++ at run time (only C APIs): its names must
// be demangled all the same (tests/test_symbols.py). The test checks that
// the binary does not list libstdc++ as NEEDED.
// plain::Waiter::wait_here() blocks in pthread_cond_wait (PLAIN_WAIT_LINE),
// called from plain::run_waiter(void*) (PLAIN_CALL_LINE), the start
// routine. main prints "main returns" and returns 0 (status 66).
#include <pthread.h>
#include <semaphore.h>
#include <cstdio>
#include <ctime>

static sem_t ready;

namespace plain {

struct Waiter {
  pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
  volatile int go = 0;
  __attribute__((noinline)) void wait_here(int rounds);
};

void Waiter::wait_here(int rounds) {
  pthread_mutex_lock(&mutex);
  sem_post(&ready);
  while (!go)
    pthread_cond_wait(&cond, &mutex); /* PLAIN_WAIT_LINE */
  go += rounds;
  pthread_mutex_unlock(&mutex);
}

static Waiter waiter;

void *run_waiter(void *arg) {
  waiter.wait_here(static_cast<int>(reinterpret_cast<long>(arg))); /* PLAIN_CALL_LINE */
  return nullptr;
}

} // namespace plain

int main() {
  sem_init(&ready, 0, 0);
  pthread_t thread;
  pthread_create(&thread, nullptr, plain::run_waiter, reinterpret_cast<void *>(1L));
  sem_wait(&ready);
  struct timespec pause = {0, 50 * 1000000L};
  nanosleep(&pause, nullptr);
  std::printf("main returns\n");
  std::fflush(stdout);
  return 0;
}
