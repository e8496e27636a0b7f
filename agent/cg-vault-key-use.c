/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which sealing keys are still in use.
 *
 * Stored records are sealed under the master key, so no record depends on
 * a sealing key; what does is every EncryptedCredential out in linked
 * services and scripts, which the agent never sees until one is opened
 * (credgatectl decrypt, /v1/verify).  So the agent counts the openings per
 * key and remembers the last one: `key list` shows them and `key retire`
 * refuses a key that opened something recently.  A rewrap opens a value
 * to move it off its key, so it does not count.
 *
 * Counting costs no disk write per opening: counts gather in memory and
 * reach seal_keys.opened / last_opened at most once a minute per key, and
 * whenever they are read (list, retire) or the vault closes.  A crash
 * loses at most a minute of counts, never a key or a record.
 *
 * The vault tells this module of each opening and of each moment to write
 * (CG_VAULT_FLUSH) through its hooks; it does not know the module. */
#include "config.h"

#include "agent/cg-vault-private.h"

#define FLUSH_INTERVAL_US (60 * G_USEC_PER_SEC)

typedef struct
{
  gint64 pending;    /* openings not yet in the database */
  char *last;        /* RFC 3339 time of the last opening, NULL if written */
  gint64 flushed_us; /* monotonic time of the last write */
} KeyUse;

static void
key_use_free (gpointer p)
{
  KeyUse *u = p;
  g_free (u->last);
  g_free (u);
}

/* Under the lock.  Failure to write is only logged: counting must never
 * make an opening fail. */
static void
flush_one (CgVault *v, const char *kid, KeyUse *u)
{
  if (!u->pending && !u->last)
    return;
  g_autoptr (GError) error = NULL;
  if (!v->store->ops->key_note_use (v->store, kid, u->pending, u->last, &error))
    {
      g_warning ("cannot record the use of key %s: %s", kid, error->message);
      return;
    }
  u->pending = 0;
  g_clear_pointer (&u->last, g_free);
  u->flushed_us = g_get_monotonic_time ();
}

/* Under the lock. */
static void
flush_all (CgVault *v, GHashTable *table)
{
  GHashTableIter it;
  gpointer kid, u;
  g_hash_table_iter_init (&it, table);
  while (g_hash_table_iter_next (&it, &kid, &u))
    flush_one (v, kid, u);
}

static void
key_use_event (CgVault *v, CgVaultEvent event, gpointer table)
{
  if (event == CG_VAULT_FLUSH)
    flush_all (v, table);
}

static void
key_use_opened (CgVault *v, const char *kid, gpointer table)
{
  g_mutex_lock (&v->lock);
  KeyUse *u = g_hash_table_lookup (table, kid);
  if (!u)
    {
      u = g_new0 (KeyUse, 1);
      /* The first opening of a key since the start is written at once. */
      u->flushed_us = g_get_monotonic_time () - FLUSH_INTERVAL_US;
      g_hash_table_insert (table, g_strdup (kid), u);
    }
  u->pending++;
  g_free (u->last);
  u->last = cg_vault_now_rfc3339 ();
  if (g_get_monotonic_time () - u->flushed_us >= FLUSH_INTERVAL_US)
    flush_one (v, kid, u);
  g_mutex_unlock (&v->lock);
}

static const CgVaultHooks key_use_hooks = {
  key_use_event,
  key_use_opened,
  (GDestroyNotify) g_hash_table_unref,
};

void
cg_vault_key_use_attach (CgVault *v)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, key_use_free);
  cg_vault_add_hooks (v, &key_use_hooks, table);
}
