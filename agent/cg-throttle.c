/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-throttle.h"

#define WINDOW_USEC (60 * G_USEC_PER_SEC)
#define MAX_ENTRIES 65536

typedef struct
{
  gint64 window_start;
  guint failures;
} Entry;

struct CgThrottle
{
  GMutex lock;
  GHashTable *entries; /* client → Entry */
  guint limit;
};

CgThrottle *
cg_throttle_new (guint limit)
{
  CgThrottle *t = g_new0 (CgThrottle, 1);
  g_mutex_init (&t->lock);
  t->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  t->limit = limit;
  return t;
}

void
cg_throttle_free (CgThrottle *t)
{
  if (!t)
    return;
  g_hash_table_unref (t->entries);
  g_mutex_clear (&t->lock);
  g_free (t);
}

static gboolean
expired_cb (gpointer key, gpointer value, gpointer user_data)
{
  const Entry *e = value;
  return *(const gint64 *) user_data - e->window_start >= WINDOW_USEC;
}

/* With the lock held: the live entry for @client or NULL. */
static Entry *
lookup_live (CgThrottle *t, const char *client, gint64 now)
{
  Entry *e = g_hash_table_lookup (t->entries, client);
  if (e && now - e->window_start >= WINDOW_USEC)
    {
      g_hash_table_remove (t->entries, client);
      return NULL;
    }
  return e;
}

gboolean
cg_throttle_is_blocked (CgThrottle *t, const char *client)
{
  gint64 now = g_get_monotonic_time ();
  g_mutex_lock (&t->lock);
  Entry *e = lookup_live (t, client, now);
  gboolean blocked = e && e->failures >= t->limit;
  g_mutex_unlock (&t->lock);
  return blocked;
}

gboolean
cg_throttle_fail (CgThrottle *t, const char *client)
{
  gint64 now = g_get_monotonic_time ();
  g_mutex_lock (&t->lock);
  Entry *e = lookup_live (t, client, now);
  if (!e)
    {
      if (g_hash_table_size (t->entries) >= MAX_ENTRIES)
        g_hash_table_foreach_remove (t->entries, expired_cb, &now);
      if (g_hash_table_size (t->entries) >= MAX_ENTRIES)
        g_hash_table_remove_all (t->entries);
      e = g_new0 (Entry, 1);
      e->window_start = now;
      g_hash_table_insert (t->entries, g_strdup (client), e);
    }
  if (e->failures < G_MAXUINT)
    e->failures++;
  gboolean blocked = e->failures >= t->limit;
  g_mutex_unlock (&t->lock);
  return blocked;
}

void
cg_throttle_succeed (CgThrottle *t, const char *client)
{
  g_mutex_lock (&t->lock);
  g_hash_table_remove (t->entries, client);
  g_mutex_unlock (&t->lock);
}
