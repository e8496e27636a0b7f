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
 * loses at most a minute of counts, never a key or a record. */
#include "config.h"

#include "agent/cg-db.h"
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
  sqlite3_stmt *st = cg_db_prepare (
      v->db, "UPDATE seal_keys SET opened = opened + ?, last_opened = ? WHERE kid = ?", NULL);
  gboolean ok = st != NULL;
  if (st)
    {
      sqlite3_bind_int64 (st, 1, u->pending);
      sqlite3_bind_text (st, 2, u->last, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, kid, -1, SQLITE_STATIC);
      ok = sqlite3_step (st) == SQLITE_DONE;
      sqlite3_finalize (st);
    }
  if (!ok)
    {
      g_warning ("state database: cannot record the use of key %s: %s", kid,
                 sqlite3_errmsg (v->db));
      return;
    }
  u->pending = 0;
  g_clear_pointer (&u->last, g_free);
  u->flushed_us = g_get_monotonic_time ();
}

void
cg_vault_key_use_flush (CgVault *v)
{
  if (!v->key_use)
    return;
  GHashTableIter it;
  gpointer kid, u;
  g_hash_table_iter_init (&it, v->key_use);
  while (g_hash_table_iter_next (&it, &kid, &u))
    flush_one (v, kid, u);
}

void
cg_vault_key_use_note (CgVault *v, const char *kid)
{
  g_mutex_lock (&v->lock);
  if (!v->key_use)
    v->key_use = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, key_use_free);
  KeyUse *u = g_hash_table_lookup (v->key_use, kid);
  if (!u)
    {
      u = g_new0 (KeyUse, 1);
      /* The first opening of a key since the start is written at once. */
      u->flushed_us = g_get_monotonic_time () - FLUSH_INTERVAL_US;
      g_hash_table_insert (v->key_use, g_strdup (kid), u);
    }
  u->pending++;
  g_free (u->last);
  u->last = cg_vault_now_rfc3339 ();
  if (g_get_monotonic_time () - u->flushed_us >= FLUSH_INTERVAL_US)
    flush_one (v, kid, u);
  g_mutex_unlock (&v->lock);
}

void
cg_vault_key_use_clear (CgVault *v)
{
  g_clear_pointer (&v->key_use, g_hash_table_unref);
}
