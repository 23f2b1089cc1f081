/*
 * early_return_fixed.c - early_return.c with the error path repaired.
 *
 * The bug was: fetch_price() started a lookup worker, then returned early on
 * a bad symbol without waking or joining it, leaving it in pthread_cond_wait
 * forever (leakwatch: thread_leak, blocked in pthread_cond_wait).
 *
 * The fix: the worker also wakes for 'cancelled', and every path out of
 * fetch_price() goes through one place that wakes the worker and joins it.
 * leakwatch reports nothing: both workers were joined.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lookup {
  pthread_mutex_t mu;
  pthread_cond_t ready; /* signalled when 'symbol' or 'cancelled' is set */
  const char *symbol;   /* the request; NULL until posted */
  int cancelled;        /* set instead of 'symbol' on the error path */
  int price;            /* the answer */
};

static void *lookup_worker(void *arg) {
  struct lookup *lk = arg;

  pthread_mutex_lock(&lk->mu);
  while (lk->symbol == NULL && !lk->cancelled)
    pthread_cond_wait(&lk->ready, &lk->mu);
  if (lk->symbol != NULL)
    lk->price = (int)strlen(lk->symbol) * 25; /* stands in for a slow query */
  pthread_mutex_unlock(&lk->mu);
  return NULL;
}

/* Returns 0 and sets *price, or -1 for a symbol that is not 1-5 characters. */
static int fetch_price(const char *symbol, int *price) {
  struct lookup *lk = calloc(1, sizeof *lk);
  pthread_t worker;
  size_t len = strlen(symbol);
  int rc = (len == 0 || len > 5) ? -1 : 0;

  if (lk == NULL)
    return -1;
  pthread_mutex_init(&lk->mu, NULL);
  pthread_cond_init(&lk->ready, NULL);
  if (pthread_create(&worker, NULL, lookup_worker, lk) != 0) {
    free(lk);
    return -1;
  }

  /* The one exit path: either post the request or cancel it, then join. */
  pthread_mutex_lock(&lk->mu);
  if (rc == 0)
    lk->symbol = symbol;
  else
    lk->cancelled = 1;
  pthread_cond_signal(&lk->ready);
  pthread_mutex_unlock(&lk->mu);
  pthread_join(worker, NULL);

  if (rc == 0)
    *price = lk->price;
  pthread_cond_destroy(&lk->ready);
  pthread_mutex_destroy(&lk->mu);
  free(lk);
  return rc;
}

int main(void) {
  int price = 0;
  int good = fetch_price("ACME", &price);
  int bad = fetch_price("", &price);

  printf("early_return: ACME price %d (rc %d), empty symbol rc %d\n", price, good, bad);
  return 0;
}
