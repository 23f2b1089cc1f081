/*
 * early_return.c - a worker leaked by an early return on an error path.
 *
 * The story: fetch_price() starts a lookup worker first, so the slow query
 * can begin as soon as the request arrives, then checks its argument and
 * hands the worker the request through a condition variable. For a bad
 * symbol it returns -1 straight away: nobody posts the request, nobody tells
 * the worker to give up, nobody joins it. The worker sits in
 * pthread_cond_wait until the process exits.
 *
 * leakwatch reports a thread_leak: T2 (lookup_worker, created by T0 in
 * fetch_price) still blocked in pthread_cond_wait on lookup->ready at exit,
 * holding no locks. (T1, from the good call, was joined and is not reported.)
 *
 * The fix (early_return_fixed.c): the error path sets 'cancelled', signals
 * the worker and joins it, like the success path does.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lookup {
  pthread_mutex_t mu;
  pthread_cond_t ready; /* signalled when 'symbol' is posted */
  const char *symbol;   /* the request; NULL until posted */
  int price;            /* the answer */
};

static void *lookup_worker(void *arg) {
  struct lookup *lk = arg;

  pthread_mutex_lock(&lk->mu);
  while (lk->symbol == NULL)
    pthread_cond_wait(&lk->ready, &lk->mu);
  lk->price = (int)strlen(lk->symbol) * 25; /* stands in for a slow query */
  pthread_mutex_unlock(&lk->mu);
  return NULL;
}

/* Returns 0 and sets *price, or -1 for a symbol that is not 1-5 characters. */
static int fetch_price(const char *symbol, int *price) {
  /* On the heap: a leaked worker must not be left pointing into our stack. */
  struct lookup *lk = calloc(1, sizeof *lk);
  pthread_t worker;

  if (lk == NULL)
    return -1;
  pthread_mutex_init(&lk->mu, NULL);
  pthread_cond_init(&lk->ready, NULL);
  if (pthread_create(&worker, NULL, lookup_worker, lk) != 0) {
    free(lk);
    return -1;
  }

  size_t len = strlen(symbol);
  if (len == 0 || len > 5)
    return -1; /* BUG: the worker waits for a request that never comes */

  pthread_mutex_lock(&lk->mu);
  lk->symbol = symbol;
  pthread_cond_signal(&lk->ready);
  pthread_mutex_unlock(&lk->mu);
  pthread_join(worker, NULL);

  *price = lk->price;
  pthread_cond_destroy(&lk->ready);
  pthread_mutex_destroy(&lk->mu);
  free(lk);
  return 0;
}

int main(void) {
  int price = 0;
  int good = fetch_price("ACME", &price);
  int bad = fetch_price("", &price);

  printf("early_return: ACME price %d (rc %d), empty symbol rc %d\n", price, good, bad);
  return 0;
}
