/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sealing-key rotation, retirement and re-wrapping. */
#include "config.h"

#include "agent/cg-vault-private.h"
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
  g_mutex_lock (&v->lock);
  cg_vault_emit_locked (v, CG_VAULT_FLUSH);
  json_auto_t *rows = v->store->ops->key_list (v->store, error);
  g_mutex_unlock (&v->lock);
  if (!rows)
    return NULL;
  /* The store's rows with each key's age after its creation time. */
  json_t *list = json_array ();
  gsize i;
  json_t *row;
  json_array_foreach (rows, i, row)
    {
      const char *created = json_string_value (json_object_get (row, "created"));
      json_t *item = json_pack ("{s:O, s:O, s:I}", "kid", json_object_get (row, "kid"),
                                "created", json_object_get (row, "created"), "ageDays",
                                (json_int_t) days_since (created));
      json_object_update (item, row);
      json_array_append_new (list, item);
    }
  return list;
}

/* The row of @kid in @rows, or NULL (borrowed). */
static json_t *
find_key_row (json_t *rows, const char *kid)
{
  gsize i;
  json_t *row;
  json_array_foreach (rows, i, row)
    if (g_strcmp0 (json_string_value (json_object_get (row, "kid")), kid) == 0)
      return row;
  return NULL;
}

/* With the lock held: a new current key, in the keyring and the store. */
static char *
rotate_locked (CgVault *v, GError **error)
{
  if (!cg_vault_ensure_keys (v, error))
    return NULL;
  g_autoptr (CgSealKey) key = cg_vault_new_seal_key_locked (v, FALSE, error);
  if (!key)
    return NULL;
  const char *kid = cg_seal_key_get_kid (key);
  g_hash_table_insert (v->seal_keys, g_strdup (kid), cg_seal_key_ref (key));
  v->current = key;
  g_message ("rotated: sealing key %s is current", kid);
  cg_vault_emit_locked (v, CG_VAULT_KEYS_CHANGED);
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

/* May @kid be retired?  The reason in @error if not. */
static gboolean
check_retire (json_t *row, const char *kid, gboolean force, GError **error)
{
  const char *last = row ? json_string_value (json_object_get (row, "lastOpened")) : NULL;
  gint64 days = last ? days_since (last) : -1;
  if (!row)
    g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no sealing key %s", kid);
  else if (json_is_true (json_object_get (row, "current")))
    g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                 "%s is the current sealing key; rotate first", kid);
  else if (json_is_true (json_object_get (row, "retired")))
    g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT, "%s is already retired", kid);
  else if (!force && days >= 0 && days < CG_VAULT_RETIRE_QUIET_DAYS)
    g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                 "%s is still in use: it opened %" G_GINT64_FORMAT
                 " values, the last on %s; re-seal them to the current key "
                 "(credgate-encrypt-value --rewrap) and retire it once it has been "
                 "unused for %d days, or retire it now with --force",
                 kid, (gint64) json_integer_value (json_object_get (row, "opened")), last,
                 CG_VAULT_RETIRE_QUIET_DAYS);
  else
    return TRUE;
  return FALSE;
}

gboolean
cg_vault_key_retire (CgVault *v, const char *kid, gboolean force, GError **error)
{
  gboolean ok = FALSE;
  g_mutex_lock (&v->lock);
  cg_vault_emit_locked (v, CG_VAULT_FLUSH);
  json_t *rows = v->store->ops->key_list (v->store, error);
  if (rows && check_retire (find_key_row (rows, kid), kid, force, error)
      && v->store->ops->key_retire (v->store, kid, error))
    {
      ok = TRUE;
      g_hash_table_remove (v->seal_keys, kid);
      /* Escrow learns it too, so a recovery keeps the key retired. */
      cg_vault_emit_locked (v, CG_VAULT_KEYS_CHANGED);
    }
  json_decref (rows);
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
