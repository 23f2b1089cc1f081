/* Thread churn: TOTAL threads created and joined by CREATORS creator
 * threads at once, while LOCKERS threads lock and unlock random mutexes
 * for at least LOCK_MS (and until the creators are done).
 *
 *   fault_many_threads [TOTAL [LOCK_MS]]     (defaults 10000, 5000)
 * Each creator starts its share in batches of 16 (each thread locks one
 * of the 32 mutexes, bumps a counter and returns), then joins the batch.
 * Lockers take one random mutex, or two in index order, never an
 * inversion. Before the churn (after a warm-up batch, so that glibc's
 * stack cache and the allocator are at their working size) and after it,
 * the program prints VmRSS from /proc/self/status:
 *   "rss_kb before N", "rss_kb after N", "threads ran TOTAL".
 * Exit 0; under leakwatch: no findings, no crash, RSS about the same (a
 * thread record kept per ended thread would add ~3.5 KiB x TOTAL). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CREATORS 8
#define LOCKERS 4
#define MUTEXES 32
#define BATCH 16

static pthread_mutex_t mutexes[MUTEXES];
static long counts[MUTEXES];
static atomic_long ran;
static atomic_int creators_done;
static long per_creator;
static long lock_ms;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0)
      kb = strtol(line + 6, NULL, 10);
  if (f)
    fclose(f);
  return kb;
}

static void *short_thread(void *arg) {
  long i = (long)arg % MUTEXES;
  pthread_mutex_lock(&mutexes[i]);
  counts[i]++;
  pthread_mutex_unlock(&mutexes[i]);
  atomic_fetch_add(&ran, 1);
  return NULL;
}

static void create_and_join(long first, long n) {
  pthread_t batch[BATCH];
  for (long done = 0; done < n;) {
    int k = 0;
    for (; k < BATCH && done + k < n; k++)
      if (pthread_create(&batch[k], NULL, short_thread, (void *)(first + done + k)) != 0) {
        perror("pthread_create");
        exit(1);
      }
    for (int j = 0; j < k; j++)
      pthread_join(batch[j], NULL);
    done += k;
  }
}

static void *creator(void *arg) {
  long index = (long)arg;
  create_and_join(index * per_creator, per_creator);
  atomic_fetch_add(&creators_done, 1);
  return NULL;
}

static void *locker(void *arg) {
  unsigned seed = (unsigned)(long)arg * 2654435761u;
  long start = now_ms();
  while (atomic_load(&creators_done) < CREATORS || now_ms() - start < lock_ms) {
    for (int r = 0; r < 256; r++) {
      seed = seed * 1103515245u + 12345u;
      int i = (int)((seed >> 16) % MUTEXES);
      int j = (int)((seed >> 8) % MUTEXES);
      if (i == j) {
        pthread_mutex_lock(&mutexes[i]);
        counts[i]++;
        pthread_mutex_unlock(&mutexes[i]);
      } else {
        int lo = i < j ? i : j, hi = i < j ? j : i;
        pthread_mutex_lock(&mutexes[lo]);
        pthread_mutex_lock(&mutexes[hi]);
        counts[lo]++;
        pthread_mutex_unlock(&mutexes[hi]);
        pthread_mutex_unlock(&mutexes[lo]);
      }
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  long total = argc > 1 ? atol(argv[1]) : 10000;
  lock_ms = argc > 2 ? atol(argv[2]) : 5000;
  per_creator = total / CREATORS;
  for (int i = 0; i < MUTEXES; i++)
    pthread_mutex_init(&mutexes[i], NULL);

  /* Warm-up: the same pattern, small, so caches are at working size. */
  pthread_t warm[CREATORS];
  long saved = per_creator;
  per_creator = 4 * BATCH;
  for (long i = 0; i < CREATORS; i++)
    pthread_create(&warm[i], NULL, creator, (void *)i);
  for (int i = 0; i < CREATORS; i++)
    pthread_join(warm[i], NULL);
  per_creator = saved;
  atomic_store(&creators_done, 0);
  atomic_store(&ran, 0);

  long before = rss_kb();
  long started = now_ms();
  pthread_t lockers[LOCKERS], creators[CREATORS];
  for (long i = 0; i < LOCKERS; i++)
    pthread_create(&lockers[i], NULL, locker, (void *)(i + 1));
  for (long i = 0; i < CREATORS; i++)
    pthread_create(&creators[i], NULL, creator, (void *)i);
  for (int i = 0; i < CREATORS; i++)
    pthread_join(creators[i], NULL);
  long churn_ms = now_ms() - started;
  for (int i = 0; i < LOCKERS; i++)
    pthread_join(lockers[i], NULL);
  long after = rss_kb();
  printf("rss_kb before %ld\nrss_kb after %ld\nthreads ran %ld\n", before, after,
         atomic_load(&ran));
  fprintf(stderr, "churn took %ld ms, total %ld ms\n", churn_ms, now_ms() - started);
  return atomic_load(&ran) == per_creator * CREATORS ? 0 : 1;
}
