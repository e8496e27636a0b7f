/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sealing-key rotation, retirement and re-wrapping. */
#include "config.h"

#include "agent/cg-vault-private.h"
#include "agent/cg-db.h"
#include "agent/cg-escrow.h"
#include "agent/cg-keystore.h"
#include "common/cg-error.h"

#include <string.h>

/* Whole days since an RFC 3339 time; -1 if it cannot be read. */
static gint64
days_since (const char *when)
{
  g_autoptr (GDateTime) then = when ? g_date_time_new_from_iso8601 (when, NULL) : NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return then ? g_date_time_difference (now, then) / G_TIME_SPAN_DAY : -1;
}

json_t *
cg_vault_key_list (CgVault *v, GError **error)
{
  json_t *list = NULL;
  g_mutex_lock (&v->lock);
  cg_vault_key_use_flush (v);
  sqlite3_stmt *st = cg_db_prepare (v->db,
                                    "SELECT kid, created, current, retired, opened, last_opened "
                                    "FROM seal_keys ORDER BY created, kid",
                                    error);
  if (st)
    {
      list = json_array ();
      while (sqlite3_step (st) == SQLITE_ROW)
        {
          const char *created = (const char *) sqlite3_column_text (st, 1);
          json_array_append_new (
              list, json_pack ("{s:s, s:s, s:I, s:b, s:b, s:I, s:s?}", "kid",
                               sqlite3_column_text (st, 0), "created", created, "ageDays",
                               (json_int_t) days_since (created), "current",
                               sqlite3_column_int (st, 2), "retired", sqlite3_column_int (st, 3),
                               "opened", (json_int_t) sqlite3_column_int64 (st, 4),
                               "lastOpened", sqlite3_column_text (st, 5)));
        }
      sqlite3_finalize (st);
    }
  g_mutex_unlock (&v->lock);
  return list;
}

/* With the lock held: the new key into the keyring first, then one
 * transaction that makes it current. */
static char *
rotate_locked (CgVault *v, GError **error)
{
  if (!cg_vault_ensure_keys (v, error))
    return NULL;
  g_autoptr (CgSealKey) key = cg_seal_key_generate (error);
  if (!key)
    return NULL;
  g_autoptr (CgBuf) d = cg_seal_key_export_private (key);
  const char *kid = cg_seal_key_get_kid (key);
  if (!cg_keystore_store (v->instance, "seal", kid, d, error))
    return NULL;

  if (!cg_db_transaction (v->db, cg_vault_add_current_key_txn, (gpointer) kid, error))
    return NULL;
  g_hash_table_insert (v->seal_keys, g_strdup (kid), cg_seal_key_ref (key));
  v->current = key;
  g_message ("rotated: sealing key %s is current", kid);
  cg_vault_escrow_sync_locked (v);
  return g_strdup (kid);
}

char *
cg_vault_key_rotate (CgVault *v, GError **error)
{
  g_mutex_lock (&v->lock);
  char *kid = rotate_locked (v, error);
  g_mutex_unlock (&v->lock);
  return kid;
}

gboolean
cg_vault_key_retire (CgVault *v, const char *kid, gboolean force, GError **error)
{
  gboolean ok = FALSE;
  g_mutex_lock (&v->lock);
  cg_vault_key_use_flush (v);
  sqlite3_stmt *st = cg_db_prepare (
      v->db, "SELECT current, retired, opened, last_opened FROM seal_keys WHERE kid = ?", error);
  if (st)
    {
      sqlite3_bind_text (st, 1, kid, -1, SQLITE_STATIC);
      const char *last = NULL;
      gint64 days = -1;
      if (sqlite3_step (st) != SQLITE_ROW)
        g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no sealing key %s", kid);
      else if (sqlite3_column_int (st, 0))
        g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                     "%s is the current sealing key; rotate first", kid);
      else if (sqlite3_column_int (st, 1))
        g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT, "%s is already retired", kid);
      else if (!force && (last = (const char *) sqlite3_column_text (st, 3))
               && (days = days_since (last)) >= 0 && days < CG_VAULT_RETIRE_QUIET_DAYS)
        g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                     "%s is still in use: it opened %" G_GINT64_FORMAT
                     " values, the last on %s; re-seal them to the current key "
                     "(credgate-encrypt-value --rewrap) and retire it once it has been "
                     "unused for %d days, or retire it now with --force",
                     kid, (gint64) sqlite3_column_int64 (st, 2), last,
                     CG_VAULT_RETIRE_QUIET_DAYS);
      else
        ok = TRUE;
      sqlite3_finalize (st);
    }
  if (ok)
    {
      st = cg_db_prepare (v->db, "UPDATE seal_keys SET retired = 1 WHERE kid = ?", error);
      ok = st != NULL;
      if (st)
        {
          sqlite3_bind_text (st, 1, kid, -1, SQLITE_STATIC);
          ok = sqlite3_step (st) == SQLITE_DONE;
          if (!ok)
            cg_db_set_error (error, v->db, "cannot retire the key");
          sqlite3_finalize (st);
        }
      if (ok)
        {
          g_hash_table_remove (v->seal_keys, kid);
          /* Escrow learns it too, so a recovery keeps the key retired. */
          cg_vault_escrow_sync_locked (v);
        }
    }
  g_mutex_unlock (&v->lock);
  return ok;
}

char *
cg_vault_rewrap (CgVault *v, const char *jwe, const char *expected_ctx, GError **error)
{
  g_autofree char *ctx = NULL;
  if (!cg_jwe_peek (jwe, strlen (jwe), NULL, &ctx, error))
    return NULL;
  /* The header's ctx, checked against the expected one by the open. */
  g_autoptr (CgBuf) plain = cg_vault_open_jwe (v, jwe, expected_ctx, FALSE, NULL, error);
  if (!plain)
    return NULL;
  return cg_vault_encrypt (v, plain->data, plain->len, ctx, error);
}
