/* The shim loaded with dlopen (not preloaded) after a thread exists: its
 * per-thread state must already be valid in every thread, the main thread
 * and the older worker alike (the dynamic loader copies the shim's TLS
 * initial values into each thread's block). argv[1] is the shim's path.
 * Both threads lock and unlock a mutex through the shim's own wrappers,
 * found with dlsym. Prints, with status 0:
 *   main lock 0 / main unlock 0 / worker lock 0 / worker unlock 0 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static int (*shim_lock)(pthread_mutex_t *);
static int (*shim_unlock)(pthread_mutex_t *);
static sem_t loaded;

static void *worker(void *arg) {
  (void)arg;
  sem_wait(&loaded); /* the shim arrives while this thread waits */
  printf("worker lock %d\n", shim_lock(&mutex));
  printf("worker unlock %d\n", shim_unlock(&mutex));
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  sem_init(&loaded, 0, 0);
  pthread_t thread;
  pthread_create(&thread, NULL, worker, NULL);
  void *shim = dlopen(argv[1], RTLD_NOW);
  if (!shim) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  shim_lock = (int (*)(pthread_mutex_t *))dlsym(shim, "pthread_mutex_lock");
  shim_unlock = (int (*)(pthread_mutex_t *))dlsym(shim, "pthread_mutex_unlock");
  printf("main lock %d\n", shim_lock(&mutex));
  printf("main unlock %d\n", shim_unlock(&mutex));
  fflush(stdout);
  sem_post(&loaded);
  pthread_join(thread, NULL);
  return 0;
}
