/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-throttle.h"
#include "agent/cg-peer.h"

#define WINDOW_USEC (60 * G_USEC_PER_SEC)
#define DEFAULT_MAX_ENTRIES 65536

typedef struct
{
  char group[CG_PEER_GROUP_LEN];
  gint64 window_start;
  guint failures;
  GList link; /* in open or blocked; data is the entry */
} Entry;

struct CgThrottle
{
  GMutex lock;
  GHashTable *entries; /* group → Entry (owned) */
  /* Every entry is in one of two queues, oldest first: those still allowed
   * and those blocked.  A full table drops the oldest allowed entry, so a
   * flood of new addresses never lifts a block; only a table full of
   * blocked entries gives up its oldest block. */
  GQueue open;
  GQueue blocked;
  guint limit;
  guint max_entries;
};

CgThrottle *
cg_throttle_new_full (guint limit, guint max_entries)
{
  g_return_val_if_fail (max_entries > 0, NULL);
  CgThrottle *t = g_new0 (CgThrottle, 1);
  g_mutex_init (&t->lock);
  t->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_queue_init (&t->open);
  g_queue_init (&t->blocked);
  t->limit = limit;
  t->max_entries = max_entries;
  return t;
}

CgThrottle *
cg_throttle_new (guint limit)
{
  return cg_throttle_new_full (limit, DEFAULT_MAX_ENTRIES);
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

static GQueue *
queue_of (CgThrottle *t, const Entry *e)
{
  return e->failures >= t->limit ? &t->blocked : &t->open;
}

/* With the lock held. */
static void
drop (CgThrottle *t, Entry *e)
{
  g_queue_unlink (queue_of (t, e), &e->link);
  g_hash_table_remove (t->entries, e->group); /* frees e */
}

static gboolean
expired (const Entry *e, gint64 now)
{
  return now - e->window_start >= WINDOW_USEC;
}

/* With the lock held: the live entry for @group or NULL. */
static Entry *
lookup_live (CgThrottle *t, const char *group, gint64 now)
{
  Entry *e = g_hash_table_lookup (t->entries, group);
  if (e && expired (e, now))
    {
      drop (t, e);
      return NULL;
    }
  return e;
}

/* With the lock held: room for one more entry.  Expired entries go first
 * (each queue is in the order its entries started or were blocked, so the
 * expired ones are at its head), then the oldest allowed one, and only if
 * every entry is blocked, the oldest block. */
static void
make_room (CgThrottle *t, gint64 now)
{
  GQueue *queues[] = { &t->open, &t->blocked };
  for (gsize i = 0; i < G_N_ELEMENTS (queues); i++)
    while (queues[i]->head && expired (queues[i]->head->data, now))
      drop (t, queues[i]->head->data);
  while (g_hash_table_size (t->entries) >= t->max_entries)
    drop (t, (t->open.head ? t->open.head : t->blocked.head)->data);
}

gboolean
cg_throttle_is_blocked (CgThrottle *t, const char *client)
{
  char group[CG_PEER_GROUP_LEN];
  cg_peer_group_from_string (client, group);
  gint64 now = g_get_monotonic_time ();
  g_mutex_lock (&t->lock);
  Entry *e = lookup_live (t, group, now);
  gboolean blocked = e && e->failures >= t->limit;
  g_mutex_unlock (&t->lock);
  return blocked;
}

gboolean
cg_throttle_fail (CgThrottle *t, const char *client)
{
  char group[CG_PEER_GROUP_LEN];
  cg_peer_group_from_string (client, group);
  gint64 now = g_get_monotonic_time ();
  g_mutex_lock (&t->lock);
  Entry *e = lookup_live (t, group, now);
  if (!e)
    {
      if (g_hash_table_size (t->entries) >= t->max_entries)
        make_room (t, now);
      e = g_new0 (Entry, 1);
      g_strlcpy (e->group, group, sizeof e->group);
      e->window_start = now;
      e->link.data = e;
      g_hash_table_insert (t->entries, e->group, e);
      g_queue_push_tail_link (queue_of (t, e), &e->link);
    }
  GQueue *before = queue_of (t, e);
  if (e->failures < G_MAXUINT)
    e->failures++;
  if (queue_of (t, e) != before)
    {
      g_queue_unlink (before, &e->link);
      g_queue_push_tail_link (queue_of (t, e), &e->link);
    }
  gboolean blocked = e->failures >= t->limit;
  g_mutex_unlock (&t->lock);
  return blocked;
}

void
cg_throttle_succeed (CgThrottle *t, const char *client)
{
  char group[CG_PEER_GROUP_LEN];
  cg_peer_group_from_string (client, group);
  g_mutex_lock (&t->lock);
  Entry *e = g_hash_table_lookup (t->entries, group);
  if (e)
    drop (t, e);
  g_mutex_unlock (&t->lock);
}
