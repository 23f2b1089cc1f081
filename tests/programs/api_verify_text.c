/* leakwatch_verify_none_text and leakwatch_verify_since_text (issue: test
 * suites at full speed). Modes:
 *   none   a worker left blocked, then verify_none_text(100): prints the
 *          returned text between BEGIN and END lines, then exit 0
 *   since  a clean "test" (its thread joined) gives NULL; a second "test"
 *          leaks, and verify_since_text of its mark returns its text only
 *   clean  nothing leaks: NULL
 * The calls print nothing themselves; a thread they reported is not
 * reported again at exit, and the status stays 0. */
#include <leakwatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *stuck_worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  pthread_cond_wait(&never, &lock);
  pthread_mutex_unlock(&lock);
  return NULL;
}

static void *quick_worker(void *arg) { return arg; }

static void show(const char *label, char *text) {
  printf("%s: %s\n", label, text ? "text" : "NULL");
  if (text) {
    printf("BEGIN\n%sEND\n", text);
    free(text);
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "none";
  pthread_t t;
  if (strcmp(mode, "none") == 0) {
    pthread_create(&t, NULL, stuck_worker, NULL);
    show("verify_none_text", leakwatch_verify_none_text(100));
    show("again", leakwatch_verify_none_text(0));
  } else if (strcmp(mode, "since") == 0) {
    leakwatch_mark_t first = leakwatch_mark();
    pthread_create(&t, NULL, quick_worker, NULL);
    pthread_join(t, NULL);
    show("first test", leakwatch_verify_since_text(first, 100));
    leakwatch_mark_t second = leakwatch_mark();
    pthread_create(&t, NULL, stuck_worker, NULL);
    show("second test", leakwatch_verify_since_text(second, 100));
  } else {
    pthread_create(&t, NULL, quick_worker, NULL);
    pthread_join(t, NULL);
    show("clean", leakwatch_verify_none_text(100));
  }
  return 0;
}
