/* A program that links libunwind. Its unversioned _Unwind_Backtrace comes
 * before libgcc_s's in the loader's search, and satisfies the shim's
 * versioned reference: the shim must still unwind with libgcc's (libunwind's
 * opens a pipe at its first use, to check addresses, and makes system calls
 * for every frame).
 * Prints whether the _Unwind_Backtrace the loader finds first is
 * libunwind's (what the case relies on) and how many descriptors the
 * process gained while it created and joined one thread (a creation stack
 * is captured). */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static int open_descriptors(void) {
  DIR *dir = opendir("/proc/self/fd");
  int count = 0;
  if (!dir)
    return -1;
  while (readdir(dir))
    count++;
  closedir(dir);
  return count;
}

static void *work(void *arg) { return arg; }

int main(void) {
  Dl_info info;
  void *first = dlsym(RTLD_DEFAULT, "_Unwind_Backtrace");
  int is_libunwind = first && dladdr(first, &info) && strstr(info.dli_fname, "libunwind");
  printf("first _Unwind_Backtrace: %s\n", is_libunwind ? "libunwind's" : "another");
  int before = open_descriptors();
  pthread_t thread;
  if (pthread_create(&thread, NULL, work, NULL) != 0 || pthread_join(thread, NULL) != 0)
    return 1;
  printf("descriptors gained: %d\n", open_descriptors() - before);
  return 0;
}
