/* A program linked against glibc's pre-2003 condition variables
 * (pthread_cond_*@GLIBC_2.2.5, a different object layout). Under the shim
 * it must reach the old implementation: a producer/consumer handshake works
 * (prints "handshake 1000"), then a worker is left blocked in the old
 * pthread_cond_wait at exit, which leakwatch reports like any other. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

__asm__(".symver pthread_cond_init, pthread_cond_init@GLIBC_2.2.5");
__asm__(".symver pthread_cond_wait, pthread_cond_wait@GLIBC_2.2.5");
__asm__(".symver pthread_cond_signal, pthread_cond_signal@GLIBC_2.2.5");
__asm__(".symver pthread_cond_broadcast, pthread_cond_broadcast@GLIBC_2.2.5");

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready, never;
static int turn, rounds;

static void *ponger(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < 1000; i++) {
    while (turn != 1)
      pthread_cond_wait(&ready, &lock);
    turn = 0;
    rounds++;
    pthread_cond_signal(&ready);
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

static void *stuck(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  pthread_cond_wait(&never, &lock);
  pthread_mutex_unlock(&lock);
  return NULL;
}

int main(void) {
  pthread_cond_init(&ready, NULL);
  pthread_cond_init(&never, NULL);
  pthread_t t;
  pthread_create(&t, NULL, ponger, NULL);
  pthread_mutex_lock(&lock);
  for (int i = 0; i < 1000; i++) {
    turn = 1;
    pthread_cond_signal(&ready);
    while (turn != 0)
      pthread_cond_wait(&ready, &lock);
  }
  pthread_mutex_unlock(&lock);
  pthread_join(t, NULL);
  printf("handshake %d\n", rounds);
  printf("never %p\n", (void *)&never);
  fflush(stdout);
  pthread_create(&t, NULL, stuck, NULL);
  usleep(50 * 1000);
  return 0;
}
