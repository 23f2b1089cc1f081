/* Objects named by where they live (tests/test_objects.py): four threads
 * block on four mutexes main holds, then main calls exit() from inside
 * itself, so its frame (and the mutex on its stack) is still there:
 *   T1 'queue' on queue_lock, a global: named "queue_lock";
 *   T2 'account' on accounts[1].lock, a member of a global array: named
 *      "accounts+N" (N printed as "account_offset=N");
 *   T3 'stack' on a mutex in main's frame: "on T0's stack, in main";
 *   T4 'heap' on a malloc'ed mutex: "heap".
 * It prints the addresses ("queue_lock=0x..."), then "exiting". */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;

struct account {
  long balance;
  char owner[32];
  pthread_mutex_t lock;
};
struct account accounts[4] = {
    {0, "a", PTHREAD_MUTEX_INITIALIZER},
    {0, "b", PTHREAD_MUTEX_INITIALIZER},
    {0, "c", PTHREAD_MUTEX_INITIALIZER},
    {0, "d", PTHREAD_MUTEX_INITIALIZER},
};

static sem_t started;

static void *lock_and_wait(void *mutex) {
  sem_post(&started);
  pthread_mutex_lock(mutex);
  pthread_mutex_unlock(mutex);
  return NULL;
}

static void start(const char *name, pthread_mutex_t *mutex) {
  pthread_t thread;
  pthread_create(&thread, NULL, lock_and_wait, mutex);
  pthread_setname_np(thread, name);
  sem_wait(&started);
}

int main(void) {
  sem_init(&started, 0, 0);
  pthread_mutex_t on_stack = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_t *on_heap = malloc(sizeof *on_heap);
  pthread_mutex_init(on_heap, NULL);
  pthread_mutex_t *all[] = {&queue_lock, &accounts[1].lock, &on_stack, on_heap};
  const char *names[] = {"queue", "account", "stack", "heap"};
  for (int i = 0; i < 4; i++)
    pthread_mutex_lock(all[i]);
  for (int i = 0; i < 4; i++)
    start(names[i], all[i]);
  printf("queue_lock=%p account=%p stack=%p heap=%p account_offset=%zu\n", (void *)&queue_lock,
         (void *)&accounts[1].lock, (void *)&on_stack, (void *)on_heap,
         (size_t)((char *)&accounts[1].lock - (char *)accounts));
  struct timespec pause = {0, 50 * 1000000L};
  nanosleep(&pause, NULL);
  printf("exiting\n");
  fflush(stdout);
  exit(0); /* from inside main: its frame stays on the stack */
}
