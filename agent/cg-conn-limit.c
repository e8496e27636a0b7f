/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-conn-limit.h"
#include "agent/cg-peer.h"

/* A client's count; it lives while the client holds a slot.  A slot is the
 * client's entry itself: each one held is one of its count. */
struct CgConnSlot
{
  char group[CG_PEER_GROUP_LEN];
  guint count;
};

struct CgConnLimit
{
  GMutex lock;
  GHashTable *clients; /* group → CgConnSlot (owned) */
  guint total;
  guint max_total;
  guint max_per_client;
};

CgConnLimit *
cg_conn_limit_new (guint max_total, guint max_per_client)
{
  CgConnLimit *l = g_new0 (CgConnLimit, 1);
  g_mutex_init (&l->lock);
  l->clients = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  l->max_total = max_total;
  l->max_per_client = max_per_client;
  return l;
}

void
cg_conn_limit_free (CgConnLimit *l)
{
  if (!l)
    return;
  g_hash_table_unref (l->clients);
  g_mutex_clear (&l->lock);
  g_free (l);
}

static void
group_of (const struct sockaddr *peer, char group[CG_PEER_GROUP_LEN])
{
  /* Not an IP client (none reach a TCP listener): one group of its own. */
  if (!cg_peer_group_from_sockaddr (peer, group))
    g_strlcpy (group, "other", CG_PEER_GROUP_LEN);
}

CgConnSlot *
cg_conn_limit_acquire (CgConnLimit *l, const struct sockaddr *peer)
{
  char group[CG_PEER_GROUP_LEN];
  group_of (peer, group);

  CgConnSlot *slot = NULL;
  g_mutex_lock (&l->lock);
  if (l->total < l->max_total)
    {
      slot = g_hash_table_lookup (l->clients, group);
      if (!slot)
        {
          slot = g_new0 (CgConnSlot, 1);
          g_strlcpy (slot->group, group, sizeof slot->group);
          g_hash_table_insert (l->clients, slot->group, slot);
        }
      if (slot->count < l->max_per_client)
        {
          slot->count++;
          l->total++;
        }
      else
        {
          if (slot->count == 0)
            g_hash_table_remove (l->clients, group);
          slot = NULL;
        }
    }
  g_mutex_unlock (&l->lock);
  return slot;
}

void
cg_conn_limit_release (CgConnLimit *l, CgConnSlot *slot)
{
  if (!slot)
    return;
  g_mutex_lock (&l->lock);
  g_assert (slot->count > 0 && l->total > 0);
  l->total--;
  if (--slot->count == 0)
    g_hash_table_remove (l->clients, slot->group); /* frees slot */
  g_mutex_unlock (&l->lock);
}

guint
cg_conn_limit_count (CgConnLimit *l, const struct sockaddr *peer, guint *of_client)
{
  char group[CG_PEER_GROUP_LEN];
  group_of (peer, group);
  g_mutex_lock (&l->lock);
  guint total = l->total;
  const CgConnSlot *slot = g_hash_table_lookup (l->clients, group);
  if (of_client)
    *of_client = slot ? slot->count : 0;
  g_mutex_unlock (&l->lock);
  return total;
}
