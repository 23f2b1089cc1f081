/* What this machine charges for the things a process's start and exit are
 * made of: a system call, a page's first touch (anonymous, and a file's
 * page already in the page cache), the same pages populated in one call,
 * and a thread's creation and join (with a fresh stack, and with one from
 * glibc's cache). run_spawn.py's figures are sums of these: on a VM a page
 * fault can cost 20 times what it costs on bare metal, and the same shim
 * then adds 20 times the milliseconds. Prints microseconds, the median of
 * a few rounds. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

enum { ROUNDS = 9, PAGES = 16 };

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *values) {
  qsort(values, ROUNDS, sizeof *values, by_value);
  return values[ROUNDS / 2];
}

static double syscall_us(void) {
  double t0 = now_us();
  for (int i = 0; i < 10000; i++)
    syscall(SYS_getpid);
  return (now_us() - t0) / 10000;
}

/* Per page: PAGES fresh anonymous pages, each written once. */
static double anon_touch_us(int populate) {
  size_t size = (size_t)PAGES * 4096;
  char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return -1;
  double t0 = now_us();
  if (populate && madvise(p, size, MADV_POPULATE_WRITE) != 0) {
    munmap(p, size);
    return -1; /* a kernel before 5.14 */
  }
  for (int i = 0; i < PAGES; i++)
    p[i * 4096] = 1;
  double spent = now_us() - t0;
  munmap(p, size);
  return spent / PAGES;
}

/* Per fault: a page of a cached file (libc), one per 64 KiB so that each
 * is a fault of its own (the kernel maps the pages around a fault). */
static double file_fault_us(const char *path) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0)
    return -1;
  size_t size = (size_t)st.st_size;
  volatile char *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED)
    return -1;
  int faults = 0;
  double t0 = now_us();
  for (size_t offset = 0; offset < size; offset += 65536, faults++)
    (void)p[offset];
  double spent = now_us() - t0;
  munmap((void *)p, size);
  return faults ? spent / faults : -1;
}

static void *returns(void *arg) { return arg; }

/* Create and join one thread; a stack size never asked before defeats
 * glibc's stack cache. */
static void thread_us(size_t stack, double *create, double *join) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack);
  pthread_t thread;
  double t0 = now_us();
  if (pthread_create(&thread, &attr, returns, NULL) != 0) {
    *create = *join = -1;
    return;
  }
  double t1 = now_us();
  pthread_join(thread, NULL);
  *create = t1 - t0;
  *join = now_us() - t1;
  pthread_attr_destroy(&attr);
}

int main(void) {
  Dl_info libc;
  if (!dladdr((void *)printf, &libc) || !libc.dli_fname)
    return 1;
  double ignored[2];
  thread_us(256 * 1024, &ignored[0], &ignored[1]); /* the first one sets up glibc's threads */
  double sys[ROUNDS], anon[ROUNDS], populated[ROUNDS], file[ROUNDS];
  double fresh_create[ROUNDS], fresh_join[ROUNDS], cached_create[ROUNDS], cached_join[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    sys[r] = syscall_us();
    anon[r] = anon_touch_us(0);
    populated[r] = anon_touch_us(1);
    file[r] = file_fault_us(libc.dli_fname);
    thread_us(256 * 1024 + (size_t)(r + 1) * 65536, &fresh_create[r], &fresh_join[r]);
    thread_us(256 * 1024, &cached_create[r], &cached_join[r]);
  }
  printf("system call (getpid)           %7.2f us\n", median(sys));
  printf("anonymous page, first write    %7.2f us\n", median(anon));
  printf("  the same, populated at once  %7.2f us\n", median(populated));
  printf("cached file page fault         %7.2f us\n", median(file));
  printf("thread create, fresh stack     %7.2f us\n", median(fresh_create));
  printf("thread join, fresh stack       %7.2f us\n", median(fresh_join));
  printf("thread create, cached stack    %7.2f us\n", median(cached_create));
  printf("thread join, cached stack      %7.2f us\n", median(cached_join));
  return 0;
}
