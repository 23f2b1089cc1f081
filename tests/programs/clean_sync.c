/* Each primitive used correctly by several threads, all joined; argv[1]
 * picks: mutex, rwlock, cond, sem, barrier, c11. Four workers per mode
 * (contended: they really wait on each other) and a deterministic result
 * that main prints. leakwatch must report nothing, keep status 0 and not
 * change the output. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <threads.h>

#define WORKERS 4
#define ROUNDS 2000

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;
static sem_t slots, items;
static mtx_t mtx;
static cnd_t cnd;
static long counter, queue[4], produced, consumed_sum;
static int queued, turn;

static void *mutex_worker(void *arg) {
  (void)arg;
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&mutex);
    counter++;
    pthread_mutex_unlock(&mutex);
  }
  return NULL;
}

static void *rwlock_worker(void *arg) {
  long id = (long)arg, seen = 0;
  for (int i = 0; i < ROUNDS; i++) {
    if (i % 4 == (int)id) {
      pthread_rwlock_wrlock(&rwlock);
      counter++;
      pthread_rwlock_unlock(&rwlock);
    } else {
      pthread_rwlock_rdlock(&rwlock);
      seen += counter >= 0;
      pthread_rwlock_unlock(&rwlock);
    }
  }
  return (void *)seen;
}

/* Round robin: worker `id` waits for its turn on the condition variable. */
static void *cond_worker(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < 200; i++) {
    pthread_mutex_lock(&mutex);
    while (turn != id)
      pthread_cond_wait(&cond, &mutex);
    counter += id;
    turn = (turn + 1) % WORKERS;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&mutex);
  }
  return NULL;
}

/* Bounded queue of 4 with two semaphores: 2 producers, 2 consumers. */
static void *sem_producer(void *arg) {
  (void)arg;
  for (int i = 1; i <= ROUNDS / 2; i++) {
    sem_wait(&slots);
    pthread_mutex_lock(&mutex);
    queue[queued++] = i;
    produced++;
    pthread_mutex_unlock(&mutex);
    sem_post(&items);
  }
  return NULL;
}

static void *sem_consumer(void *arg) {
  (void)arg;
  for (int i = 1; i <= ROUNDS / 2; i++) {
    sem_wait(&items);
    pthread_mutex_lock(&mutex);
    consumed_sum += queue[--queued];
    pthread_mutex_unlock(&mutex);
    sem_post(&slots);
  }
  return NULL;
}

static void *barrier_worker(void *arg) {
  long id = (long)arg;
  int serial = 0;
  for (int phase = 0; phase < 50; phase++) {
    pthread_mutex_lock(&mutex);
    counter += id;
    pthread_mutex_unlock(&mutex);
    if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD)
      serial++;
  }
  return (void *)(long)serial;
}

static int c11_worker(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < 200; i++) {
    mtx_lock(&mtx);
    while (turn != id)
      cnd_wait(&cnd, &mtx);
    counter += id;
    turn = (turn + 1) % WORKERS;
    cnd_broadcast(&cnd);
    mtx_unlock(&mtx);
  }
  return 0;
}

static long run_workers(void *(*routine)(void *)) {
  pthread_t threads[WORKERS];
  long total = 0;
  for (long i = 0; i < WORKERS; i++)
    pthread_create(&threads[i], NULL, routine, (void *)i);
  for (int i = 0; i < WORKERS; i++) {
    void *result;
    pthread_join(threads[i], &result);
    total += (long)result;
  }
  return total;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "mutex") == 0) {
    run_workers(mutex_worker);
    printf("mutex counter %ld\n", counter);
  } else if (strcmp(mode, "rwlock") == 0) {
    long seen = run_workers(rwlock_worker);
    printf("rwlock counter %ld reads %ld\n", counter, seen);
  } else if (strcmp(mode, "cond") == 0) {
    run_workers(cond_worker);
    printf("cond counter %ld\n", counter);
  } else if (strcmp(mode, "sem") == 0) {
    sem_init(&slots, 0, 4);
    sem_init(&items, 0, 0);
    pthread_t threads[4];
    pthread_create(&threads[0], NULL, sem_producer, NULL);
    pthread_create(&threads[1], NULL, sem_producer, NULL);
    pthread_create(&threads[2], NULL, sem_consumer, NULL);
    pthread_create(&threads[3], NULL, sem_consumer, NULL);
    for (int i = 0; i < 4; i++)
      pthread_join(threads[i], NULL);
    sem_destroy(&slots);
    sem_destroy(&items);
    printf("sem produced %ld consumed sum %ld\n", produced, consumed_sum);
  } else if (strcmp(mode, "barrier") == 0) {
    pthread_barrier_init(&barrier, NULL, WORKERS);
    long serials = run_workers(barrier_worker);
    pthread_barrier_destroy(&barrier);
    printf("barrier counter %ld serial %ld\n", counter, serials);
  } else if (strcmp(mode, "c11") == 0) {
    mtx_init(&mtx, mtx_plain);
    cnd_init(&cnd);
    thrd_t threads[WORKERS];
    for (long i = 0; i < WORKERS; i++)
      thrd_create(&threads[i], c11_worker, (void *)i);
    for (int i = 0; i < WORKERS; i++)
      thrd_join(threads[i], NULL);
    cnd_destroy(&cnd);
    mtx_destroy(&mtx);
    printf("c11 counter %ld\n", counter);
  } else {
    fprintf(stderr, "usage: %s mutex|rwlock|cond|sem|barrier|c11\n", argv[0]);
    return 2;
  }
  pthread_mutex_destroy(&mutex);
  return 0;
}
