/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sealing-key rotation, retirement and re-wrapping. */
#include "config.h"

#include "agent/cg-vault-private.h"
#include "agent/cg-db.h"
#include "agent/cg-escrow.h"
#include "agent/cg-keystore.h"
#include "common/cg-error.h"

#include <string.h>

json_t *
cg_vault_key_list (CgVault *v, GError **error)
{
  json_t *list = NULL;
  g_mutex_lock (&v->lock);
  sqlite3_stmt *st = cg_db_prepare (
      v->db, "SELECT kid, created, current, retired FROM seal_keys ORDER BY created, kid", error);
  if (st)
    {
      list = json_array ();
      while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (
            list, json_pack ("{s:s, s:s, s:b, s:b}", "kid", sqlite3_column_text (st, 0),
                             "created", sqlite3_column_text (st, 1), "current",
                             sqlite3_column_int (st, 2), "retired", sqlite3_column_int (st, 3)));
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

  g_autofree char *now = cg_vault_now_rfc3339 ();
  if (!cg_db_exec (v->db, "BEGIN IMMEDIATE; UPDATE seal_keys SET current = 0", error))
    {
      sqlite3_exec (v->db, "ROLLBACK", NULL, NULL, NULL);
      return NULL;
    }
  sqlite3_stmt *st = cg_db_prepare (
      v->db, "INSERT INTO seal_keys (kid, created, current) VALUES (?, ?, 1)", error);
  gboolean ok = st != NULL;
  if (st)
    {
      sqlite3_bind_text (st, 1, kid, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 2, now, -1, SQLITE_STATIC);
      ok = sqlite3_step (st) == SQLITE_DONE;
      if (!ok)
        cg_db_set_error (error, v->db, "cannot record the new key");
      sqlite3_finalize (st);
    }
  if (!ok || !cg_db_exec (v->db, "COMMIT", error))
    {
      sqlite3_exec (v->db, "ROLLBACK", NULL, NULL, NULL);
      return NULL;
    }
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
cg_vault_key_retire (CgVault *v, const char *kid, GError **error)
{
  gboolean ok = FALSE;
  g_mutex_lock (&v->lock);
  sqlite3_stmt *st
      = cg_db_prepare (v->db, "SELECT current, retired FROM seal_keys WHERE kid = ?", error);
  if (st)
    {
      sqlite3_bind_text (st, 1, kid, -1, SQLITE_STATIC);
      if (sqlite3_step (st) != SQLITE_ROW)
        g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no sealing key %s", kid);
      else if (sqlite3_column_int (st, 0))
        g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                     "%s is the current sealing key; rotate first", kid);
      else if (sqlite3_column_int (st, 1))
        g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT, "%s is already retired", kid);
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
        g_hash_table_remove (v->seal_keys, kid);
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
  g_autoptr (CgBuf) plain = cg_vault_decrypt (v, jwe, expected_ctx ? expected_ctx : NULL, NULL,
                                              error);
  if (!plain)
    return NULL;
  return cg_vault_encrypt (v, plain->data, plain->len, ctx, error);
}
