/* Random nesting that always follows one hidden global order, so no cycle
 * exists: the lock-order graph must reorder itself a great deal (each new
 * edge may go down its topological order) without ever seeing a cycle.
 *   argv[1] = seed (default 1);
 *   argv[2] = "invert": at the end, take one pair the run took nested,
 *             the other way round (printed as A then B: the run took B
 *             then A): one inversion.
 * One thread. Every 500 rounds one lock is destroyed and initialised again
 * (the graph forgets it). Prints "random ok". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOCKS 400
#define ROUNDS 8000

static pthread_mutex_t locks[LOCKS];
static unsigned rank_of[LOCKS]; /* the hidden order: lower rank first */

static unsigned next_random(unsigned *state) {
  *state = *state * 1103515245u + 12345u;
  return (*state >> 8) & 0xffffff;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  unsigned state = argc > 1 ? (unsigned)atoi(argv[1]) : 1;
  int invert = argc > 2 && strcmp(argv[2], "invert") == 0;
  for (unsigned i = 0; i < LOCKS; i++) {
    pthread_mutex_init(&locks[i], NULL);
    rank_of[i] = i;
  }
  for (unsigned i = LOCKS - 1; i > 0; i--) { /* shuffle the ranks */
    unsigned j = next_random(&state) % (i + 1), t = rank_of[i];
    rank_of[i] = rank_of[j];
    rank_of[j] = t;
  }
  unsigned first = 0, second = 0;
  for (unsigned round = 0; round < ROUNDS; round++) {
    unsigned picked[4], n = 2 + next_random(&state) % 3;
    for (unsigned k = 0; k < n; k++) {
      unsigned candidate;
      int fresh;
      do { /* distinct locks */
        candidate = next_random(&state) % LOCKS;
        fresh = 1;
        for (unsigned q = 0; q < k; q++)
          fresh &= picked[q] != candidate;
      } while (!fresh);
      picked[k] = candidate;
    }
    for (unsigned k = 1; k < n; k++) /* in the hidden order */
      for (unsigned q = k; q > 0 && rank_of[picked[q]] < rank_of[picked[q - 1]]; q--) {
        unsigned t = picked[q];
        picked[q] = picked[q - 1];
        picked[q - 1] = t;
      }
    for (unsigned k = 0; k < n; k++)
      pthread_mutex_lock(&locks[picked[k]]);
    for (unsigned k = n; k-- > 0;)
      pthread_mutex_unlock(&locks[picked[k]]);
    first = picked[0];
    second = picked[1];
    if (round % 500 == 499) {
      unsigned victim = next_random(&state) % LOCKS;
      if (victim != first && victim != second) {
        pthread_mutex_destroy(&locks[victim]);
        pthread_mutex_init(&locks[victim], NULL);
      }
    }
  }
  if (invert) {
    printf("A %p\nB %p\n", (void *)&locks[second], (void *)&locks[first]);
    pthread_mutex_lock(&locks[second]);
    pthread_mutex_lock(&locks[first]);
    pthread_mutex_unlock(&locks[first]);
    pthread_mutex_unlock(&locks[second]);
  }
  printf("random ok\n");
  return 0;
}
