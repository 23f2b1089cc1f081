/* GLib waits on futexes through syscall() (GMutex, GCond, GAsyncQueue,
 * GThreadPool).
 *
 *   glib_waits leak   a consumer thread left blocked in g_async_queue_pop
 *                     on a queue nobody pushes to, when main returns
 *   glib_waits clean  a GThreadPool that does its work and is shut down
 *                     (waiting for its tasks, keeping no idle thread), a
 *                     queue drained by a joined consumer: nothing to report
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

static gpointer consume_forever(gpointer queue) {
  g_async_queue_pop(queue);
  return NULL;
}

static gint total;

static void add_task(gpointer data, gpointer unused) {
  (void)unused;
  g_atomic_int_add(&total, GPOINTER_TO_INT(data));
}

static gpointer consume_until_zero(gpointer queue) {
  gint sum = 0;
  for (gint value; (value = GPOINTER_TO_INT(g_async_queue_pop(queue))) != -1;)
    sum += value;
  return GINT_TO_POINTER(sum);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "leak") == 0) {
    GAsyncQueue *queue = g_async_queue_new();
    g_thread_unref(g_thread_new("consumer", consume_forever, queue));
    g_usleep(100000);
    puts("returning");
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "clean") == 0) {
    GThreadPool *pool = g_thread_pool_new(add_task, NULL, 4, TRUE, NULL);
    for (gint i = 1; i <= 1000; i++)
      g_thread_pool_push(pool, GINT_TO_POINTER(i), NULL);
    g_thread_pool_free(pool, FALSE, TRUE);
    GAsyncQueue *queue = g_async_queue_new();
    GThread *consumer = g_thread_new("consumer", consume_until_zero, queue);
    for (gint i = 1; i <= 100; i++)
      g_async_queue_push(queue, GINT_TO_POINTER(i));
    g_async_queue_push(queue, GINT_TO_POINTER(-1));
    gint sum = GPOINTER_TO_INT(g_thread_join(consumer));
    g_async_queue_unref(queue);
    /* GLib keeps idle pool threads for reuse; none may stay: they end now
     * (those already ending do so within the exit grace). */
    g_thread_pool_set_max_unused_threads(0);
    printf("pool %d queue %d\n", g_atomic_int_get(&total), sum);
    return 0;
  }
  fprintf(stderr, "usage: glib_waits leak|clean\n");
  return 2;
}
