/* A library that tests/test_symbols.py builds at test time (gcc -g -O1
 * -fPIC -shared) for sym_dlopen to dlopen. SYM_TAG names its functions
 * (default "alpha"): <tag>_block(ready) posts `ready`, then blocks in
 * pthread_cond_wait at LIB_WAIT_LINE until <tag>_release() is called. Two
 * builds with tags of equal length have the same code layout. */
#include <pthread.h>
#include <semaphore.h>

#ifndef SYM_TAG
#define SYM_TAG alpha
#endif
#define SYM_CAT2(a, b) a##b
#define SYM_CAT(a, b) SYM_CAT2(a, b)

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int go;
static volatile int sink;

__attribute__((noinline)) void SYM_CAT(SYM_TAG, _block)(sem_t *ready) {
  pthread_mutex_lock(&mutex);
  sem_post(ready);
  while (!go)
    pthread_cond_wait(&cond, &mutex); /* LIB_WAIT_LINE */
  pthread_mutex_unlock(&mutex);
  sink++;
}

void SYM_CAT(SYM_TAG, _release)(void) {
  pthread_mutex_lock(&mutex);
  go = 1;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&mutex);
}
