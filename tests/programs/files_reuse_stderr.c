/* A daemon-like program: closes stdin, stdout and stderr, then opens
 * /dev/null twice (fd 0 and 1) and its own "database" (argv[1]), which gets
 * fd 2. It writes one record, misuses a mutex (a live misuse report), leaks
 * a thread, and returns 0.
 * Under leakwatch: nothing of leakwatch's ever lands in the database (fd 2
 * is no longer the stderr the process started with); status 66 all the same;
 * the JSON report is written. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <unistd.h>

static sem_t never_posted;

static void *parked(void *arg) {
  sem_wait(&never_posted);
  return arg;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  close(0);
  close(1);
  close(2);
  open("/dev/null", O_RDONLY);
  open("/dev/null", O_WRONLY);
  int db = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (db != 2)
    return 3;
  static const char record[] = "record 1\n";
  if (write(db, record, strlen(record)) < 0)
    return 4;
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_unlock(&lock); /* misuse: unlocks a mutex nobody holds */
  sem_init(&never_posted, 0, 0);
  pthread_t t;
  pthread_create(&t, NULL, parked, NULL);
  usleep(50 * 1000);
  return 0;
}
