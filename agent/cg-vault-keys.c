/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sealing-key rotation, retirement and re-wrapping. */
#include "config.h"

#include "agent/cg-vault-private.h"
#include "agent/cg-keystore.h"
#include "agent/cg-record-seal.h"
#include "common/cg-error.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
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

/* ---- key rotate --all ------------------------------------------------- */

json_t *
cg_vault_rotation_state_locked (CgVault *v, GError **error)
{
  g_autofree char *current = NULL, *old = NULL;
  if (!cg_vault_master_meta_locked (v, &current, &old, error))
    return NULL;
  const char *mkid = current;
  json_t *olds = json_array ();
  g_auto (GStrv) ids = g_strsplit (old, " ", -1);
  for (char **id = ids; *id; id++)
    if (**id && !g_str_equal (*id, mkid))
      json_array_append_new (olds, json_string (*id));
  if (json_array_size (olds) == 0)
    return olds; /* an empty array: nothing unfinished */
  json_auto_t *list = v->store->ops->record_list (v->store, error);
  if (!list)
    {
      json_decref (olds);
      return NULL;
    }
  gint64 under_old = 0;
  gsize i;
  json_t *row;
  json_array_foreach (list, i, row)
    {
      g_autoptr (GBytes) sealed = NULL;
      json_auto_t *meta = v->store->ops->record_get (
          v->store, json_string_value (json_object_get (row, "name")), &sealed, NULL);
      if (!meta)
        continue; /* gone meanwhile */
      gsize len;
      const guint8 *blob = g_bytes_get_data (sealed, &len);
      g_autofree char *id = cg_record_master_id (blob, len);
      under_old += !id || !g_str_equal (id, mkid);
    }
  return json_pack ("{s:b, s:s, s:o, s:I, s:s}", "unfinished", TRUE, "master", mkid,
                    "oldMasters", olds, "credentialsUnderOldMaster", (json_int_t) under_old,
                    "finishWith", "credgatectl key rotate --all");
}

#define RESEAL_BATCH 100
#define RESEAL_TRIES 5

typedef struct
{
  CgVault *v;
  const char *name;
} ResealData;

/* Open with whichever loaded master key the bytes name, seal under the
 * current one (the lock is held: the store calls back inside its write). */
static GBytes *
reseal_record (GBytes *old_sealed, gint64 version, gpointer data, GError **error)
{
  ResealData *d = data;
  g_autoptr (CgBuf) plain = cg_vault_open_record_locked (d->v, d->name, version, old_sealed,
                                                         error);
  if (!plain || !cg_vault_sealing_master_locked (d->v, error))
    return NULL;
  return cg_record_seal (d->v->master, d->v->master_id, d->name, version, plain->data,
                         plain->len);
}

/* With the lock held and keys loaded: @name sealed under the current
 * master key, re-sealing it if it is not; *@resealed says whether it was.
 * A record replaced or deleted meanwhile is read again. */
static gboolean
reseal_one_locked (CgVault *v, const char *name, gboolean *resealed, GError **error)
{
  *resealed = FALSE;
  for (int tries = 0; tries < RESEAL_TRIES; tries++)
    {
      GError *local = NULL;
      g_autoptr (GBytes) sealed = NULL;
      json_auto_t *meta = v->store->ops->record_get (v->store, name, &sealed, &local);
      if (!meta)
        {
          if (g_error_matches (local, CG_ERROR, CG_ERROR_NOT_FOUND))
            {
              g_error_free (local);
              return TRUE;
            }
          g_propagate_error (error, local);
          return FALSE;
        }
      gsize len;
      const guint8 *blob = g_bytes_get_data (sealed, &len);
      g_autofree char *mkid = cg_record_master_id (blob, len);
      if (mkid && g_str_equal (mkid, v->master_id))
        return TRUE;
      gint64 version = json_integer_value (json_object_get (meta, "version"));
      ResealData d = { v, name };
      if (v->store->ops->record_reseal (v->store, name, version, reseal_record, &d, &local))
        {
          *resealed = TRUE;
          return TRUE;
        }
      if (!g_error_matches (local, CG_ERROR, CG_ERROR_CONFLICT)
          && !g_error_matches (local, CG_ERROR, CG_ERROR_NOT_FOUND))
        {
          g_propagate_prefixed_error (error, local, "credential \"%s\": ", name);
          return FALSE;
        }
      g_error_free (local);
    }
  g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
               "credential \"%s\" kept changing while it was re-sealed; run key rotate --all "
               "again to finish",
               name);
  return FALSE;
}

/* With the lock held: a new current sealing key and a new current master
 * key, the old master key kept loaded (and named in meta "master_old"
 * before the new one is current: a crash between the writes leaves every
 * record opening). */
static gboolean
start_rotation_locked (CgVault *v, char **kid_out, GError **error)
{
  g_autofree char *kid = rotate_locked (v, error);
  if (!kid)
    return FALSE;
  g_autoptr (CgBuf) master = cg_buf_new (CG_RECORD_MASTER_KEY_LEN);
  if (gnutls_rnd (GNUTLS_RND_KEY, master->data, master->len) < 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "no randomness for a key");
      return FALSE;
    }
  g_autofree char *mkid = cg_record_master_id_new ();
  if (!cg_keystore_store (v->instance, "master", cg_record_master_keyring_kid (mkid), master,
                          error)
      || !v->store->ops->meta_set (v->store, CG_VAULT_META_MASTER_OLD, v->master_id, error)
      || !v->store->ops->meta_set (v->store, CG_VAULT_META_MASTER_CURRENT, mkid, error))
    {
      /* The store may now name the old key as "old" too: harmless (a next
       * rotate --all finishes with it); the keys are read again. */
      cg_vault_forget_keys_locked (v);
      return FALSE;
    }
  g_hash_table_insert (v->old_masters, g_strdup (v->master_id), g_steal_pointer (&v->master));
  g_free (v->master_id);
  v->master = g_steal_pointer (&master);
  v->master_id = g_strdup (mkid);
  g_message ("rotate --all: master key %s and sealing key %s are current; re-sealing every "
             "credential",
             mkid, kid);
  cg_vault_emit_locked (v, CG_VAULT_KEYS_CHANGED);
  *kid_out = g_steal_pointer (&kid);
  return TRUE;
}

/* Every record's name (transfer full), read under the lock. */
static GPtrArray *
record_names (CgVault *v, GError **error)
{
  g_mutex_lock (&v->lock);
  json_auto_t *list = v->store->ops->record_list (v->store, error);
  g_mutex_unlock (&v->lock);
  if (!list)
    return NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  gsize i;
  json_t *row;
  json_array_foreach (list, i, row)
    g_ptr_array_add (names, g_strdup (json_string_value (json_object_get (row, "name"))));
  return names;
}

/* With the lock held, once every record is sealed under the current master
 * key: the store stops naming the old ones, memory drops them, then the
 * keyring does (an item left by a crash in between is unused). */
static json_t *
retire_old_masters_locked (CgVault *v, GError **error)
{
  if (!v->store->ops->meta_set (v->store, CG_VAULT_META_MASTER_OLD, "", error))
    return NULL;
  json_t *retired = json_array ();
  GHashTableIter it;
  gpointer id;
  g_hash_table_iter_init (&it, v->old_masters);
  while (g_hash_table_iter_next (&it, &id, NULL))
    json_array_append_new (retired, json_string (id));
  g_hash_table_remove_all (v->old_masters);
  gsize i;
  json_t *item;
  json_array_foreach (retired, i, item)
    {
      g_autoptr (GError) local = NULL;
      const char *mkid = json_string_value (item);
      if (!cg_keystore_delete (v->instance, "master", cg_record_master_keyring_kid (mkid),
                               &local))
        g_message ("rotate --all: master key %s could not be removed from the secret store "
                   "(unused now): %s",
                   mkid, local->message);
    }
  cg_vault_emit_locked (v, CG_VAULT_KEYS_CHANGED);
  return retired;
}

json_t *
cg_vault_key_rotate_all (CgVault *v, CgVaultRotateProgress progress, gpointer data,
                         GError **error)
{
  g_autofree char *kid = NULL;
  gboolean resumed = FALSE;
  g_mutex_lock (&v->lock);
  gboolean ok = cg_vault_ensure_keys (v, error);
  if (ok)
    {
      /* A rotation that was cut short (old master keys still named) is
       * finished rather than begun again. */
      resumed = g_hash_table_size (v->old_masters) > 0;
      if (resumed)
        g_message ("rotate --all: finishing the rotation to master key %s", v->master_id);
      else
        ok = start_rotation_locked (v, &kid, error);
    }
  g_mutex_unlock (&v->lock);
  if (!ok)
    return NULL;

  g_autoptr (GPtrArray) names = record_names (v, error);
  if (!names)
    return NULL;
  gint64 total = names->len, done = 0, resealed = 0;
  if (progress)
    progress (0, total, data);
  /* In batches, the lock released between them: PUTs and reads go on. */
  for (guint i = 0; i < names->len;)
    {
      g_mutex_lock (&v->lock);
      ok = cg_vault_ensure_keys (v, error);
      for (guint end = MIN (i + RESEAL_BATCH, names->len); ok && i < end; i++, done++)
        {
          gboolean one = FALSE;
          ok = reseal_one_locked (v, names->pdata[i], &one, error);
          resealed += one;
        }
      g_mutex_unlock (&v->lock);
      if (!ok)
        return NULL;
      if (progress)
        progress (done, total, data);
    }

  /* A last pass under the lock over what exists now (records added while
   * the batches ran are sealed under the new key already), then the old
   * master keys go. */
  json_t *retired = NULL;
  g_mutex_lock (&v->lock);
  json_auto_t *list = NULL;
  if (cg_vault_ensure_keys (v, error) && (list = v->store->ops->record_list (v->store, error)))
    {
      gsize j;
      json_t *row;
      ok = TRUE;
      json_array_foreach (list, j, row)
        {
          gboolean one = FALSE;
          if (!(ok = reseal_one_locked (v, json_string_value (json_object_get (row, "name")),
                                        &one, error)))
            break;
          resealed += one;
        }
      if (ok)
        retired = retire_old_masters_locked (v, error);
    }
  json_t *result = NULL;
  if (retired)
    {
      result = json_pack ("{s:s, s:s?, s:o, s:b, s:I, s:I}", "master", v->master_id, "kid",
                          kid ? kid : (v->current ? cg_seal_key_get_kid (v->current) : NULL),
                          "retiredMasters", retired, "resumed", resumed, "credentials",
                          (json_int_t) json_array_size (list), "resealed",
                          (json_int_t) resealed);
      g_message ("rotate --all: done; %" G_GINT64_FORMAT " credentials re-sealed under master "
                 "key %s; the earlier master key is retired",
                 resealed, v->master_id);
    }
  g_mutex_unlock (&v->lock);
  return result;
}
