/* exit() from a worker while the other threads keep running and locking.
 *
 *   T1..T4 (locker): forever lock one of 8 mutexes (a pseudo-random one),
 *                    bump its counter, unlock; every 64 rounds also take
 *                    two of them in index order (never an inversion);
 *   T5, T6 (pinger, ponger): forever hand a token back and forth through
 *                    one mutex and two condition variables;
 *   T7 (quitter):    after 150 ms prints "quitter calls exit(3)" and
 *                    calls exit(3);
 *   main:            blocked in pthread_join on the quitter.
 * Nothing stops T1..T6: they are still running (or briefly blocked on one
 * another's mutex) while exit runs the handlers and leakwatch makes its
 * report. Expected under leakwatch: a report (trigger "exit") whose only
 * findings are thread_leak for T1..T6, status 66 (3 with exitcode=0); not
 * the quitter, not main; no deadlock, no abandoned_lock. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LOCKS 8

static pthread_mutex_t locks[LOCKS];
static unsigned long counters[LOCKS];
static pthread_mutex_t token_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t to_ping = PTHREAD_COND_INITIALIZER;
static pthread_cond_t to_pong = PTHREAD_COND_INITIALIZER;
static int token; /* 0: ping's turn, 1: pong's */

static void *locker(void *arg) {
  unsigned seed = (unsigned)(long)arg * 2654435761u;
  for (unsigned long round = 0;; round++) {
    seed = seed * 1103515245u + 12345u;
    int i = (int)((seed >> 16) % LOCKS);
    pthread_mutex_lock(&locks[i]);
    counters[i]++;
    pthread_mutex_unlock(&locks[i]);
    if (round % 64 == 0) {
      int j = (i + 1 + (int)((seed >> 8) % (LOCKS - 1))) % LOCKS;
      int lo = i < j ? i : j, hi = i < j ? j : i;
      pthread_mutex_lock(&locks[lo]);
      pthread_mutex_lock(&locks[hi]);
      counters[lo]++;
      counters[hi]++;
      pthread_mutex_unlock(&locks[hi]);
      pthread_mutex_unlock(&locks[lo]);
    }
  }
  return NULL;
}

static void *player(void *arg) {
  int me = (int)(long)arg;
  pthread_cond_t *mine = me == 0 ? &to_ping : &to_pong;
  pthread_cond_t *other = me == 0 ? &to_pong : &to_ping;
  pthread_mutex_lock(&token_mutex);
  for (;;) {
    while (token != me)
      pthread_cond_wait(mine, &token_mutex);
    token = !me;
    pthread_cond_signal(other);
  }
  return NULL;
}

static void *quitter(void *arg) {
  (void)arg;
  usleep(150 * 1000);
  printf("quitter calls exit(3)\n");
  exit(3);
}

int main(void) {
  for (int i = 0; i < LOCKS; i++)
    pthread_mutex_init(&locks[i], NULL);
  pthread_t t;
  for (long i = 0; i < 4; i++)
    pthread_create(&t, NULL, locker, (void *)(i + 1));
  pthread_create(&t, NULL, player, (void *)0L);
  pthread_create(&t, NULL, player, (void *)1L);
  pthread_t quitting;
  pthread_create(&quitting, NULL, quitter, NULL);
  pthread_join(quitting, NULL); /* never returns */
  printf("not reached\n");
  return 0;
}
