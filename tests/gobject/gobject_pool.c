/*
 * gobject_pool.c - a small GObject/GLib program for tests/test_realprograms.py:
 * libgobject's constructor runs before the shim's (it initialises a GRWLock,
 * a pthread_rwlock, in a library constructor), then the program uses GLib's
 * threads the usual way: an exclusive GThreadPool hashing strings, results
 * through a GAsyncQueue, a GObject whose property is set and whose signal is
 * emitted from the main thread, a GRWLock-protected table written by a
 * joined g_thread_new thread. It prints a digest of everything computed.
 */
#include <glib-object.h>
#include <stdio.h>
#include <string.h>

#define TASKS 400

/* ---- a GObject with a property and a signal ---- */

typedef struct {
  GObject parent;
  gint total;
} LwCounter;
typedef struct {
  GObjectClass parent_class;
} LwCounterClass;

G_DEFINE_TYPE(LwCounter, lw_counter, G_TYPE_OBJECT)

enum { PROP_TOTAL = 1 };
static guint added_signal;

static void lw_counter_set_property(GObject *object, guint id, const GValue *value,
                                    GParamSpec *pspec) {
  if (id == PROP_TOTAL)
    ((LwCounter *)object)->total = g_value_get_int(value);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
}

static void lw_counter_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec) {
  if (id == PROP_TOTAL)
    g_value_set_int(value, ((LwCounter *)object)->total);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
}

static void lw_counter_class_init(LwCounterClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->set_property = lw_counter_set_property;
  object_class->get_property = lw_counter_get_property;
  g_object_class_install_property(
      object_class, PROP_TOTAL,
      g_param_spec_int("total", "total", "sum of the results", 0, G_MAXINT, 0, G_PARAM_READWRITE));
  added_signal = g_signal_new("added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                              NULL, G_TYPE_NONE, 1, G_TYPE_INT);
}

static void lw_counter_init(LwCounter *self) { self->total = 0; }

static void on_added(LwCounter *counter, gint value, gpointer data) {
  (void)data;
  g_object_set(counter, "total", (counter->total + value) % 1000003, NULL);
}

static void on_notify(GObject *object, GParamSpec *pspec, gpointer data) {
  (void)object, (void)pspec;
  (*(int *)data)++;
}

/* ---- the pool ---- */

static GAsyncQueue *results;

static void hash_task(gpointer data, gpointer user_data) {
  (void)user_data;
  int i = GPOINTER_TO_INT(data) - 1;
  char *text = g_strdup_printf("task %d of %d", i, TASKS);
  char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
  g_free(text);
  g_async_queue_push(results, sum);
}

static GRWLock table_lock;
static GHashTable *table;

static gpointer table_writer(gpointer data) {
  (void)data;
  for (int i = 0; i < 1000; i++) {
    g_rw_lock_writer_lock(&table_lock);
    g_hash_table_insert(table, GINT_TO_POINTER(i % 97 + 1), GINT_TO_POINTER(i));
    g_rw_lock_writer_unlock(&table_lock);
  }
  return GINT_TO_POINTER(1000);
}

static gint compare_strings(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
  LwCounter *counter = g_object_new(lw_counter_get_type(), NULL);
  int notifications = 0;
  g_signal_connect(counter, "added", G_CALLBACK(on_added), NULL);
  g_signal_connect(counter, "notify::total", G_CALLBACK(on_notify), &notifications);

  table = g_hash_table_new(g_direct_hash, g_direct_equal);
  GThread *writer = g_thread_new("writer", table_writer, NULL);

  results = g_async_queue_new();
  /* A pool thread left without work would otherwise wait in GLib's global
   * pool of unused threads for 15 s, past exit (a thread leak, and a count
   * that depends on timing): none are kept. */
  g_thread_pool_set_max_unused_threads(0);
  GError *error = NULL;
  GThreadPool *pool = g_thread_pool_new(hash_task, NULL, 3, TRUE, &error);
  if (!pool) {
    fprintf(stderr, "pool: %s\n", error->message);
    return 1;
  }
  for (int i = 0; i < TASKS; i++)
    g_thread_pool_push(pool, GINT_TO_POINTER(i + 1), NULL);

  GPtrArray *sums = g_ptr_array_new_with_free_func(g_free);
  for (int i = 0; i < TASKS; i++) {
    char *sum = g_async_queue_pop(results);
    g_ptr_array_add(sums, sum);
    g_signal_emit(counter, added_signal, 0, (gint)(sum[0] + sum[1]));
    g_rw_lock_reader_lock(&table_lock);
    (void)g_hash_table_size(table);
    g_rw_lock_reader_unlock(&table_lock);
  }
  g_thread_pool_free(pool, FALSE, TRUE);
  g_thread_pool_stop_unused_threads();
  int written = GPOINTER_TO_INT(g_thread_join(writer));

  g_ptr_array_sort(sums, compare_strings);
  GChecksum *all = g_checksum_new(G_CHECKSUM_SHA256);
  for (guint i = 0; i < sums->len; i++)
    g_checksum_update(all, (const guchar *)g_ptr_array_index(sums, i), -1);
  gint total;
  g_object_get(counter, "total", &total, NULL);
  printf("tasks %u total %d notifications %d written %d table %u\n", sums->len, total,
         notifications, written, g_hash_table_size(table));
  printf("%s\n", g_checksum_get_string(all));

  g_checksum_free(all);
  g_ptr_array_unref(sums);
  g_hash_table_unref(table);
  g_async_queue_unref(results);
  g_object_unref(counter);
  return 0;
}
