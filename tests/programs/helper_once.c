/* One helper thread, however the program's first waits fall. The shim
 * starts its helper just after the program's first thread; that thread here
 * waits over and over from its first moment (short timed waits), so some
 * wait begins while the helper is being started. Main then lets it stop,
 * joins it and prints how many threads of the process are named
 * "leakwatch" (the helper's name): "helpers 1". */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static atomic_int stop;

static void *waiter(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 50 * 1000;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&mutex);
    pthread_cond_timedwait(&never, &mutex, &until);
    pthread_mutex_unlock(&mutex);
  }
  return NULL;
}

static int threads_named(const char *name) {
  DIR *tasks = opendir("/proc/self/task");
  int count = 0;
  for (struct dirent *task; tasks && (task = readdir(tasks));) {
    char path[300], comm[32] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", task->d_name);
    FILE *file = fopen(path, "r");
    if (!file)
      continue;
    if (fgets(comm, sizeof comm, file))
      comm[strcspn(comm, "\n")] = '\0';
    fclose(file);
    count += strcmp(comm, name) == 0;
  }
  if (tasks)
    closedir(tasks);
  return count;
}

int main(void) {
  pthread_t thread;
  if (pthread_create(&thread, NULL, waiter, NULL) != 0)
    return 1;
  struct timespec pause = {0, 30 * 1000 * 1000};
  nanosleep(&pause, NULL);
  atomic_store(&stop, 1);
  pthread_join(thread, NULL);
  printf("helpers %d\n", threads_named("leakwatch"));
  return 0;
}
