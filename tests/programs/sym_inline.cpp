// An inlined frame (tests/test_symbols.py). wait_until_go() is always
// inlined into waiting_caller(); the report must show it as its own frame,
// "inlined": true, at INLINE_WAIT_LINE, followed by waiting_caller() at
// INLINE_CALL_LINE, then worker() at WORKER_CALL_LINE. The CMake build is
// -O1; the test also builds this file with g++ -O2 -g. main prints
// "main returns" and returns 0 with the worker blocked (status 66).
// It uses operator new so that it links libstdc++ (for demangling without
// it, see sym_cxx_plain.cpp).
#include <pthread.h>
#include <semaphore.h>
#include <cstdio>
#include <ctime>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static sem_t ready;
static volatile int go;

static inline __attribute__((always_inline)) void wait_until_go() {
  pthread_mutex_lock(&mutex);
  sem_post(&ready);
  while (!go)
    pthread_cond_wait(&cond, &mutex); /* INLINE_WAIT_LINE */
  pthread_mutex_unlock(&mutex);
}

static __attribute__((noinline, noclone)) void waiting_caller(volatile int *counter) {
  wait_until_go(); /* INLINE_CALL_LINE */
  *counter += 1;
}

static void *worker(void *arg) {
  waiting_caller(static_cast<volatile int *>(arg)); /* WORKER_CALL_LINE */
  return nullptr;
}

int main() {
  sem_init(&ready, 0, 0);
  pthread_t thread;
  pthread_create(&thread, nullptr, worker, new int(0));
  sem_wait(&ready);
  struct timespec pause = {0, 50 * 1000000L};
  nanosleep(&pause, nullptr);
  std::printf("main returns\n");
  std::fflush(stdout);
  return 0;
}
