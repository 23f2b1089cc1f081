/* Which CPUs the shim's helper thread (named "leakwatch") may run on,
 * beside the main thread's: once it has started (with the program's first
 * thread), and after a join that lasted past deadlock_ms (the helper's
 * first due check, made while main still waits). Prints two lines,
 * "started: HELPER / MAIN" and "after a check: HELPER / MAIN", each a
 * Cpus_allowed_list (or "none" when there is no helper). */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void cpus_of(const char *task, char *out, size_t size) {
  char path[300], line[256];
  snprintf(path, sizeof path, "/proc/self/task/%s/status", task);
  snprintf(out, size, "unreadable");
  FILE *f = fopen(path, "r");
  if (!f)
    return;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
      char *value = line + 18;
      value += strspn(value, " \t");
      value[strcspn(value, "\n")] = '\0';
      snprintf(out, size, "%s", value);
    }
  fclose(f);
}

static void helper_cpus(char *out, size_t size) {
  snprintf(out, size, "none");
  DIR *dir = opendir("/proc/self/task");
  if (!dir)
    return;
  for (struct dirent *e; (e = readdir(dir));) {
    char path[300], name[32] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f)
      continue;
    if (fgets(name, sizeof name, f) && strcmp(name, "leakwatch\n") == 0)
      cpus_of(e->d_name, out, size);
    fclose(f);
  }
  closedir(dir);
}

static void show(const char *when) {
  char helper[256], main_cpus[256], self[32];
  snprintf(self, sizeof self, "%d", (int)getpid());
  helper_cpus(helper, sizeof helper);
  cpus_of(self, main_cpus, sizeof main_cpus);
  printf("%s: %s / %s\n", when, helper, main_cpus);
  fflush(stdout);
}

static void *slow(void *arg) {
  /* Long past deadlock_ms, even on a busy machine. */
  struct timespec pause = {1, 500 * 1000 * 1000};
  nanosleep(&pause, NULL);
  return arg;
}

int main(void) {
  pthread_t thread;
  if (pthread_create(&thread, NULL, slow, NULL) != 0)
    return 1;
  struct timespec settle = {0, 50 * 1000 * 1000}; /* the helper names itself */
  nanosleep(&settle, NULL);
  show("started");
  pthread_join(thread, NULL); /* 1.45 s: past deadlock_ms=100 */
  show("after a check");
  return 0;
}
