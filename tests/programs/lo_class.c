/* Lock classes: locks of one "type" are initialised at one call site.
 * argv[1]:
 *   types:      two caches and two entries (cache_new, entry_new each init
 *               their lock at one site). T1 runs cache_insert(cache1,
 *               entry1): cache lock then entry lock; after it ended, T2
 *               runs entry_evict(entry2, cache2): entry lock then cache
 *               lock. Different objects, conflicting classes.
 *   same_class: two entries; T1 entry_pair(e1, e2), T2 entry_pair(e2, e1):
 *               nested locks of one class (an inversion by object).
 *   static:     statically initialised locks, classed where first locked:
 *               lock_shard takes shards[i], lock_index takes indexes[i].
 *               T1: shard 0 then index 0 (shard_then_index); T2: index 1
 *               then shard 1 (index_then_shard).
 * Prints "C1 <addr>", "E1 <addr>", "C2 <addr>", "E2 <addr>" (the lock
 * fields), or "S0", "I0", "S1", "I1" for static. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cache {
  pthread_mutex_t lock;
  int entries;
};

struct entry {
  pthread_mutex_t lock;
  int hits;
};

static __attribute__((noinline)) struct cache *cache_new(void) {
  struct cache *c = calloc(1, sizeof *c);
  pthread_mutex_init(&c->lock, NULL);
  return c;
}

static __attribute__((noinline)) struct entry *entry_new(void) {
  struct entry *e = calloc(1, sizeof *e);
  pthread_mutex_init(&e->lock, NULL);
  return e;
}

static __attribute__((noinline)) void cache_insert(struct cache *c, struct entry *e) {
  pthread_mutex_lock(&c->lock);
  pthread_mutex_lock(&e->lock);
  c->entries++;
  e->hits = 0;
  pthread_mutex_unlock(&e->lock);
  pthread_mutex_unlock(&c->lock);
}

static __attribute__((noinline)) void entry_evict(struct entry *e, struct cache *c) {
  pthread_mutex_lock(&e->lock);
  pthread_mutex_lock(&c->lock);
  c->entries--;
  e->hits = -1;
  pthread_mutex_unlock(&c->lock);
  pthread_mutex_unlock(&e->lock);
}

static __attribute__((noinline)) void entry_pair(struct entry *first, struct entry *second) {
  pthread_mutex_lock(&first->lock);
  pthread_mutex_lock(&second->lock);
  first->hits += second->hits;
  pthread_mutex_unlock(&second->lock);
  pthread_mutex_unlock(&first->lock);
}

static pthread_mutex_t shards[2] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};
static pthread_mutex_t indexes[2] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};

static __attribute__((noinline)) void lock_shard(int i) {
  pthread_mutex_lock(&shards[i]);
  shards[i].__data.__spins += 0;
}

static __attribute__((noinline)) void lock_index(int i) {
  pthread_mutex_lock(&indexes[i]);
  indexes[i].__data.__spins += 0;
}

static __attribute__((noinline)) void shard_then_index(void) {
  lock_shard(0);
  lock_index(0);
  pthread_mutex_unlock(&indexes[0]);
  pthread_mutex_unlock(&shards[0]);
}

static __attribute__((noinline)) void index_then_shard(void) {
  lock_index(1);
  lock_shard(1);
  pthread_mutex_unlock(&shards[1]);
  pthread_mutex_unlock(&indexes[1]);
}

static struct cache *c1, *c2;
static struct entry *e1, *e2;

static void *first(void *arg) {
  const char *mode = arg;
  if (strcmp(mode, "types") == 0)
    cache_insert(c1, e1);
  else if (strcmp(mode, "same_class") == 0)
    entry_pair(e1, e2);
  else
    shard_then_index();
  return NULL;
}

static void *second(void *arg) {
  const char *mode = arg;
  if (strcmp(mode, "types") == 0)
    entry_evict(e2, c2);
  else if (strcmp(mode, "same_class") == 0)
    entry_pair(e2, e1);
  else
    index_then_shard();
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *mode = argc > 1 ? argv[1] : "types";
  c1 = cache_new();
  e1 = entry_new();
  c2 = cache_new();
  e2 = entry_new();
  if (strcmp(mode, "static") == 0)
    printf("S0 %p\nI0 %p\nS1 %p\nI1 %p\n", (void *)&shards[0], (void *)&indexes[0],
           (void *)&shards[1], (void *)&indexes[1]);
  else
    printf("C1 %p\nE1 %p\nC2 %p\nE2 %p\n", (void *)&c1->lock, (void *)&e1->lock, (void *)&c2->lock,
           (void *)&e2->lock);
  pthread_t t;
  pthread_create(&t, NULL, first, (void *)mode);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, second, (void *)mode);
  pthread_join(t, NULL);
  printf("done\n");
  return 0;
}
