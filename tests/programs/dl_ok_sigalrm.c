/* Not "all threads are asleep": a SIGALRM handler posts the semaphore main
 * waits on (alarm(1)); a worker waits on a condition variable that main
 * signals after that. Both are blocked in untimed waits for about 1 s,
 * but the handler wakes main. Prints "alarm" and "done". */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static sem_t alarm_sem;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static int go;

static void on_alarm(int sig) {
  (void)sig;
  sem_post(&alarm_sem); /* async-signal-safe */
}

static void *worker(void *arg) {
  pthread_mutex_lock(&lock);
  while (!go)
    pthread_cond_wait(&go_cond, &lock);
  pthread_mutex_unlock(&lock);
  return arg;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  sem_init(&alarm_sem, 0, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  pthread_t thread;
  pthread_create(&thread, NULL, worker, NULL);
  alarm(1);
  while (sem_wait(&alarm_sem) != 0)
    ; /* EINTR: retry */
  printf("alarm\n");
  pthread_mutex_lock(&lock);
  go = 1;
  pthread_cond_signal(&go_cond);
  pthread_mutex_unlock(&lock);
  pthread_join(thread, NULL);
  printf("done\n");
  return 0;
}
