/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vault: keys from the Secret Service, sealed records in SQLite. */
#include "config.h"

#include "agent/cg-vault-private.h"
#include "common/cg-time.h"
#include "agent/cg-db.h"
#include "agent/cg-keystore.h"
#include "agent/cg-record-seal.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "protocol/cg-names.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TYPE_MAX 64
#define PROPERTIES_MAX (16 * 1024)

char *
cg_vault_now_rfc3339 (void)
{
  return cg_time_now_rfc3339 ();
}

/* An existing state directory must be ours; one others can read into is
 * tightened (systemd's StateDirectory= makes 0755 by default).  A symlink
 * to it is fine (DynamicUser= makes one): the target is what is checked. */
static gboolean
check_state_dir (const char *dir, GError **error)
{
  struct stat st;
  if (stat (dir, &st) < 0 || !S_ISDIR (st.st_mode) || st.st_uid != geteuid ())
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO,
                   "%s must be a directory owned by the agent's user", dir);
      return FALSE;
    }
  if ((st.st_mode & 077) && chmod (dir, 0700) == 0)
    g_message ("%s was open to other users; now 0700", dir);
  return TRUE;
}

typedef struct
{
  const CgVaultHooks *hooks;
  gpointer data;
} VaultHook;

void
cg_vault_add_hooks (CgVault *v, const CgVaultHooks *hooks, gpointer data)
{
  VaultHook h = { hooks, data };
  g_array_append_val (v->hooks, h);
}

gpointer
cg_vault_get_hooks_data (CgVault *v, const CgVaultHooks *hooks)
{
  for (guint i = 0; i < v->hooks->len; i++)
    if (g_array_index (v->hooks, VaultHook, i).hooks == hooks)
      return g_array_index (v->hooks, VaultHook, i).data;
  return NULL;
}

void
cg_vault_emit_locked (CgVault *v, CgVaultEvent event)
{
  for (guint i = 0; i < v->hooks->len; i++)
    {
      VaultHook *h = &g_array_index (v->hooks, VaultHook, i);
      if (h->hooks->event)
        h->hooks->event (v, event, h->data);
    }
}

/* Without the lock: the hooks take it if they need it. */
static void
emit_key_opened (CgVault *v, const char *kid)
{
  for (guint i = 0; i < v->hooks->len; i++)
    {
      VaultHook *h = &g_array_index (v->hooks, VaultHook, i);
      if (h->hooks->key_opened)
        h->hooks->key_opened (v, kid, h->data);
    }
}

CgVault *
cg_vault_core_open (const char *state_dir, GError **error)
{
  if (!cg_mkdir_private (state_dir, 0700, error) || !check_state_dir (state_dir, error))
    return NULL;

  CgVault *v = g_new0 (CgVault, 1);
  g_mutex_init (&v->lock);
  v->state_dir = g_strdup (state_dir);
  v->seal_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) cg_seal_key_unref);
  v->old_masters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) cg_buf_free);
  v->last_key_error = -1;
  v->hooks = g_array_new (FALSE, FALSE, sizeof (VaultHook));

  g_autofree char *path = g_build_filename (state_dir, "state.db", NULL);
  v->db = cg_db_open (path, error);
  if (!v->db)
    goto fail;
  v->store = cg_vault_store_sqlite_new (v->db);

  GError *local = NULL;
  v->instance = v->store->ops->meta_get (v->store, "instance", &local);
  if (local)
    {
      g_propagate_error (error, local);
      goto fail;
    }
  if (!v->instance)
    {
      /* Random, not secret: it only tells this state directory's keyring
       * items from another agent's. */
      guint8 raw[16];
      if (gnutls_rnd (GNUTLS_RND_NONCE, raw, sizeof raw) < 0)
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "no randomness");
          goto fail;
        }
      GString *hex = g_string_sized_new (2 * sizeof raw);
      for (gsize i = 0; i < sizeof raw; i++)
        g_string_append_printf (hex, "%02x", raw[i]);
      v->instance = g_string_free (hex, FALSE);
      if (!v->store->ops->meta_set (v->store, "instance", v->instance, error))
        goto fail;
    }
  return v;

fail:
  cg_vault_free (v);
  return NULL;
}

void
cg_vault_forget_keys_locked (CgVault *v)
{
  g_clear_pointer (&v->master, cg_buf_free);
  g_clear_pointer (&v->master_id, g_free);
  g_hash_table_remove_all (v->old_masters);
  g_hash_table_remove_all (v->seal_keys);
  v->current = NULL;
}

CgBuf *
cg_vault_open_record_locked (CgVault *v, const char *name, gint64 version, GBytes *sealed,
                             GError **error)
{
  gsize len;
  const guint8 *blob = g_bytes_get_data (sealed, &len);
  g_autofree char *mkid = cg_record_master_id (blob, len);
  const CgBuf *master = !mkid                              ? NULL
                        : g_str_equal (mkid, v->master_id) ? v->master
                                                           : g_hash_table_lookup (v->old_masters, mkid);
  if (!master)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_DECRYPT, "cannot open the stored record");
      return NULL;
    }
  return cg_record_open (master, mkid, name, version, blob, len, error);
}

void
cg_vault_reload_keys (CgVault *v)
{
  g_mutex_lock (&v->lock);
  cg_vault_forget_keys_locked (v);
  g_mutex_unlock (&v->lock);
}

void
cg_vault_free (CgVault *v)
{
  if (!v)
    return;
  if (v->db)
    cg_vault_emit_locked (v, CG_VAULT_FLUSH);
  for (guint i = v->hooks->len; i-- > 0;)
    {
      VaultHook *h = &g_array_index (v->hooks, VaultHook, i);
      if (h->hooks->free)
        h->hooks->free (h->data);
    }
  g_array_unref (v->hooks);
  cg_vault_forget_keys_locked (v);
  g_hash_table_unref (v->seal_keys);
  g_hash_table_unref (v->old_masters);
  if (v->store)
    v->store->ops->free (v->store);
  if (v->db)
    sqlite3_close (v->db);
  g_free (v->instance);
  g_free (v->state_dir);
  g_mutex_clear (&v->lock);
  g_free (v);
}

CgSealKey *
cg_vault_new_seal_key_locked (CgVault *v, gboolean first, GError **error)
{
  g_autoptr (CgSealKey) key = cg_seal_key_generate (error);
  if (!key)
    return NULL;
  g_autoptr (CgBuf) d = cg_seal_key_export_private (key);
  const char *kid = cg_seal_key_get_kid (key);
  g_autofree char *now = cg_vault_now_rfc3339 ();
  if (!cg_keystore_store (v->instance, "seal", kid, d, error)
      || !v->store->ops->key_add_current (v->store, kid, now, first, error))
    return NULL;
  return g_steal_pointer (&key);
}

/* First start: keys go into the keyring first, then the store records
 * that they exist, in one write.  A crash between the two leaves an
 * unused item in the keyring, never a database that points at no key. */
static gboolean
create_keys (CgVault *v, GError **error)
{
  g_autoptr (CgBuf) master = cg_buf_new (32);
  if (gnutls_rnd (GNUTLS_RND_KEY, master->data, master->len) < 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "no randomness for a key");
      return FALSE;
    }
  if (!cg_keystore_store (v->instance, "master", "", master, error))
    return FALSE;
  g_autoptr (CgSealKey) seal = cg_vault_new_seal_key_locked (v, TRUE, error);
  if (!seal)
    return FALSE;
  const char *kid = cg_seal_key_get_kid (seal);
  g_message ("created the master key and sealing key %s in the secret store", kid);
  cg_vault_emit_locked (v, CG_VAULT_KEYS_CHANGED);
  return TRUE;
}

/* A lookup that came back empty means "locked" as often as "missing":
 * ask the keyring which before saying the keys are gone. */
static gboolean
missing_or_locked (const char *what, GError **error)
{
  if (!cg_keystore_check_unlocked (NULL, error))
    return FALSE;
  g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
               "the %s is missing from the secret store; it will not be re-created "
               "(restore it from a backup)",
               what);
  return FALSE;
}

/* Master key @mkid from the keyring (transfer full), or NULL with the
 * reason. */
static CgBuf *
load_master (CgVault *v, const char *mkid, GError **error)
{
  if (!cg_record_master_id_valid (mkid))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                   "the state database names a malformed master key id");
      return NULL;
    }
  CgBuf *master = cg_keystore_lookup (v->instance, "master",
                                      cg_record_master_keyring_kid (mkid), error);
  if (master && master->len != CG_RECORD_MASTER_KEY_LEN)
    {
      cg_buf_free (master);
      g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                   "the master key %s in the secret store is damaged", mkid);
      return NULL;
    }
  if (!master && !(error && *error))
    {
      g_autofree char *what = g_str_equal (mkid, CG_RECORD_MASTER_FIRST)
                                  ? g_strdup ("master key")
                                  : g_strdup_printf ("master key %s", mkid);
      missing_or_locked (what, error);
    }
  return master;
}

gboolean
cg_vault_master_meta_locked (CgVault *v, char **current, char **old, GError **error)
{
  GError *local = NULL;
  g_autofree char *cur = v->store->ops->meta_get (v->store, CG_VAULT_META_MASTER_CURRENT,
                                                  &local);
  g_autofree char *o = local ? NULL
                             : v->store->ops->meta_get (v->store, CG_VAULT_META_MASTER_OLD,
                                                        &local);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  *current = cur ? g_steal_pointer (&cur) : g_strdup (CG_RECORD_MASTER_FIRST);
  *old = o ? g_steal_pointer (&o) : g_strdup ("");
  return TRUE;
}

/* The current master key and, while a key rotate --all is unfinished, the
 * earlier ones its records may still be sealed under. */
static gboolean
load_masters (CgVault *v, char **master_id, CgBuf **master, GHashTable **old_masters,
              GError **error)
{
  g_autofree char *current = NULL, *old = NULL;
  if (!cg_vault_master_meta_locked (v, &current, &old, error))
    return FALSE;
  *master_id = g_strdup (current);
  if (!(*master = load_master (v, *master_id, error)))
    return FALSE;
  *old_masters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) cg_buf_free);
  g_auto (GStrv) ids = g_strsplit (old, " ", -1);
  for (char **id = ids; *id; id++)
    {
      if (!**id || g_str_equal (*id, *master_id))
        continue;
      CgBuf *key = load_master (v, *id, error);
      if (!key)
        return FALSE;
      g_hash_table_insert (*old_masters, g_strdup (*id), key);
    }
  if (g_hash_table_size (*old_masters) > 0)
    g_message ("a key rotate --all is unfinished: some credentials may still be sealed under "
               "the earlier master key %s; run credgatectl key rotate --all to finish it",
               old);
  return TRUE;
}

static gboolean
load_keys (CgVault *v, guint *generation, GError **error)
{
  if (!cg_keystore_check_unlocked (generation, error))
    return FALSE;

  GError *local = NULL;
  g_autofree char *created = v->store->ops->meta_get (v->store, "keys_created", &local);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (!created && !create_keys (v, error))
    return FALSE;

  g_autofree char *master_id = NULL;
  g_autoptr (CgBuf) master = NULL;
  g_autoptr (GHashTable) old_masters = NULL;
  if (!load_masters (v, &master_id, &master, &old_masters, error))
    return FALSE;

  json_t *rows = v->store->ops->key_list (v->store, error);
  if (!rows)
    return FALSE;
  g_autoptr (GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                      (GDestroyNotify) cg_seal_key_unref);
  CgSealKey *current = NULL;
  gboolean ok = TRUE;
  gsize i;
  json_t *row;
  json_array_foreach (rows, i, row)
    {
      if (json_is_true (json_object_get (row, "retired")))
        continue;
      const char *kid = json_string_value (json_object_get (row, "kid"));
      g_autoptr (CgBuf) d = cg_keystore_lookup (v->instance, "seal", kid, error);
      if (!d)
        {
          g_autofree char *what = g_strdup_printf ("sealing key %s", kid);
          ok = (error && *error) ? FALSE : missing_or_locked (what, error);
          break;
        }
      CgSealKey *key = cg_seal_key_new_from_private (d->data, d->len, error);
      if (!key || !g_str_equal (cg_seal_key_get_kid (key), kid))
        {
          if (key)
            cg_seal_key_unref (key);
          g_clear_error (error);
          g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                       "the sealing key %s in the secret store is damaged", kid);
          ok = FALSE;
          break;
        }
      g_hash_table_insert (keys, g_strdup (kid), key);
      if (json_is_true (json_object_get (row, "current")))
        current = key;
    }
  json_decref (rows);
  if (!ok)
    return FALSE;
  if (!current)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                           "the state database names no current sealing key");
      return FALSE;
    }

  v->master = g_steal_pointer (&master);
  v->master_id = g_steal_pointer (&master_id);
  g_hash_table_unref (v->old_masters);
  v->old_masters = g_steal_pointer (&old_masters);
  g_hash_table_unref (v->seal_keys);
  v->seal_keys = g_steal_pointer (&keys);
  v->current = current;
  return TRUE;
}

static void
keys_failed (CgVault *v, GError *local, GError **error)
{
  cg_vault_forget_keys_locked (v);
  v->last_key_error = local->domain == CG_ERROR ? local->code : CG_ERROR_FAILED;
  g_propagate_error (error, local);
}

/* With the lock held.  Keys in memory serve only while the keyring stays
 * unlocked: an admin who locks it means "stop sealing".  Noticing that
 * costs no D-Bus call per request: the keystore's generation moves when
 * the collection's properties or the service's owner change, and only
 * then is the keyring asked again. */
gboolean
cg_vault_ensure_keys (CgVault *v, GError **error)
{
  GError *local = NULL;
  guint generation = 0;

  if (v->master && cg_keystore_generation () == v->key_generation)
    return TRUE;
  if (v->master)
    {
      if (cg_keystore_check_unlocked (&generation, &local))
        {
          v->key_generation = generation;
          return TRUE;
        }
      g_message ("secret store: %s; keys dropped from memory", local->message);
      keys_failed (v, local, error);
      return FALSE;
    }
  if (!load_keys (v, &generation, &local))
    {
      keys_failed (v, local, error);
      return FALSE;
    }
  cg_vault_emit_locked (v, CG_VAULT_KEYS_LOADED);
  if (v->last_key_error != -1)
    g_message ("secret store available again; sealing key %s",
               cg_seal_key_get_kid (v->current));
  v->last_key_error = -1;
  v->key_generation = generation;
  return TRUE;
}

gboolean
cg_vault_keys_ready (CgVault *v, GError **error)
{
  g_mutex_lock (&v->lock);
  gboolean ok = cg_vault_ensure_keys (v, error);
  g_mutex_unlock (&v->lock);
  return ok;
}

const char *
cg_vault_keys_state_name (CgVault *v)
{
  g_mutex_lock (&v->lock);
  gboolean ok = cg_vault_ensure_keys (v, NULL);
  gint code = v->last_key_error;
  g_mutex_unlock (&v->lock);
  if (ok)
    return "ready";
  switch (code)
    {
    case CG_ERROR_LOCKED:
      return "locked";
    case CG_ERROR_KEYS_MISSING:
      return "keys_missing";
    default:
      return "unavailable";
    }
}

json_t *
cg_vault_sealing_jwk (CgVault *v, GError **error)
{
  json_t *jwk = NULL;
  g_mutex_lock (&v->lock);
  if (cg_vault_ensure_keys (v, error))
    jwk = cg_seal_key_to_public_jwk (v->current);
  g_mutex_unlock (&v->lock);
  return jwk;
}

char *
cg_vault_current_kid (CgVault *v)
{
  g_mutex_lock (&v->lock);
  char *kid = v->current ? g_strdup (cg_seal_key_get_kid (v->current)) : NULL;
  g_mutex_unlock (&v->lock);
  return kid;
}

/* ---- records ---------------------------------------------------------- */

static gboolean
check_name (const char *name, GError **error)
{
  if (!cg_name_is_valid (name))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "names are 1 to 128 characters of A-Z a-z 0-9 . _ -");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_record_input (const char *type, json_t *properties, json_t *secret, GError **error)
{
  gsize tlen = type ? strlen (type) : 0;
  if (tlen == 0 || tlen > TYPE_MAX || strspn (type, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                    "abcdefghijklmnopqrstuvwxyz0123456789._-")
                                          != tlen)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "field \"type\" must be 1 to %d characters of A-Z a-z 0-9 . _ -", TYPE_MAX);
      return FALSE;
    }
  if (!json_is_object (properties))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "field \"properties\" must be an object");
      return FALSE;
    }
  if (json_is_object (secret) && json_object_size (secret) > 0)
    {
      const char *k;
      json_t *val;
      json_object_foreach (secret, k, val)
        if (!json_is_string (val))
          {
            g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                         "field \"secret\": member \"%s\" must be a string", k);
            return FALSE;
          }
    }
  else if (!json_is_string (secret))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "field \"secret\" must be a string or an object of strings");
      return FALSE;
    }
  return TRUE;
}

gboolean
cg_vault_sealing_master_locked (CgVault *v, GError **error)
{
  GError *local = NULL;
  g_autofree char *current = v->store->ops->meta_get (v->store, CG_VAULT_META_MASTER_CURRENT,
                                                      &local);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  const char *want = current ? current : CG_RECORD_MASTER_FIRST;
  if (v->master && g_str_equal (want, v->master_id))
    return TRUE;
  g_message ("master key %s is current now (made on another node); keys loaded again", want);
  cg_vault_forget_keys_locked (v);
  return cg_vault_ensure_keys (v, error);
}

typedef struct
{
  CgVault *v;
  const char *name, *secret_text;
} SealData;

/* Sealed under the current master key with the name and the version the
 * store chose bound in. */
static GBytes *
seal_record (gint64 version, gpointer user_data)
{
  SealData *d = user_data;
  g_autoptr (GError) error = NULL;
  if (!cg_vault_sealing_master_locked (d->v, &error))
    {
      g_message ("cannot seal a credential: %s", error->message);
      return NULL;
    }
  return cg_record_seal (d->v->master, d->v->master_id, d->name, version,
                         (const guint8 *) d->secret_text, strlen (d->secret_text));
}

/* With the lock held and keys loaded: the store writes it whole or not at
 * all; the answer carries the caller's properties as given. */
static json_t *
put_locked (CgVault *v, const char *name, const char *type, json_t *properties,
            const char *props_text, const char *secret_text, GError **error)
{
  g_autofree char *now = cg_vault_now_rfc3339 ();
  SealData d = { v, name, secret_text };
  json_t *meta = v->store->ops->record_put (v->store, name, type, props_text, now, seal_record,
                                            &d, error);
  if (meta)
    json_object_set (meta, "properties", properties);
  return meta;
}

json_t *
cg_vault_put (CgVault *v, const char *name, const char *type, json_t *properties,
              json_t *secret, GError **error)
{
  if (!check_name (name, error) || !check_record_input (type, properties, secret, error))
    return NULL;
  g_autofree char *props_text = cg_json_dump (properties);
  if (strlen (props_text) > PROPERTIES_MAX)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE, "field \"properties\" is over %d bytes",
                   PROPERTIES_MAX);
      return NULL;
    }
  char *secret_text = cg_json_dump (secret);
  json_t *meta = NULL;

  g_mutex_lock (&v->lock);
  if (cg_vault_ensure_keys (v, error))
    meta = put_locked (v, name, type, properties, props_text, secret_text, error);
  g_mutex_unlock (&v->lock);
  cg_wipe_str (secret_text);
  return meta;
}

static json_t *
get_locked (CgVault *v, const char *name, GBytes **sealed, GError **error)
{
  return v->store->ops->record_get (v->store, name, sealed, error);
}

json_t *
cg_vault_get (CgVault *v, const char *name, GError **error)
{
  if (!check_name (name, error))
    return NULL;
  g_mutex_lock (&v->lock);
  json_t *meta = get_locked (v, name, NULL, error);
  g_mutex_unlock (&v->lock);
  return meta;
}

json_t *
cg_vault_list (CgVault *v, GError **error)
{
  g_mutex_lock (&v->lock);
  json_t *list = v->store->ops->record_list (v->store, error);
  g_mutex_unlock (&v->lock);
  return list;
}

gboolean
cg_vault_delete (CgVault *v, const char *name, GError **error)
{
  if (!check_name (name, error))
    return FALSE;
  g_mutex_lock (&v->lock);
  gboolean ok = v->store->ops->record_delete (v->store, name, error);
  g_mutex_unlock (&v->lock);
  return ok;
}

json_t *
cg_vault_resolve (CgVault *v, const char *name, GError **error)
{
  if (!check_name (name, error))
    return NULL;
  g_autoptr (GBytes) sealed = NULL;
  json_t *record = NULL;

  g_mutex_lock (&v->lock);
  if (cg_vault_ensure_keys (v, error) && (record = get_locked (v, name, &sealed, error)))
    {
      gint64 version = json_integer_value (json_object_get (record, "version"));
      g_autoptr (CgBuf) plain = cg_vault_open_record_locked (v, name, version, sealed, error);
      json_t *secret = plain ? json_loadb ((const char *) plain->data, plain->len, JSON_DECODE_ANY, NULL)
                             : NULL;
      if (!secret)
        {
          if (plain)
            g_set_error_literal (error, CG_ERROR, CG_ERROR_DECRYPT,
                                 "cannot open the stored record");
          g_clear_pointer (&record, json_decref);
        }
      else
        json_object_set_new (record, "secret", secret);
    }
  g_mutex_unlock (&v->lock);
  return record;
}

/* ---- EncryptedCredential ---------------------------------------------- */

char *
cg_vault_encrypt (CgVault *v, const guint8 *value, gsize len, const char *ctx, GError **error)
{
  g_autoptr (CgSealKey) key = NULL;
  g_mutex_lock (&v->lock);
  if (cg_vault_ensure_keys (v, error))
    key = cg_seal_key_ref (v->current);
  g_mutex_unlock (&v->lock);
  /* Seal outside the lock: the key is immutable and refcounted. */
  return key ? cg_jwe_seal (key, ctx, value, len, error) : NULL;
}

CgBuf *
cg_vault_decrypt (CgVault *v, const char *jwe, const char *expected_ctx, char **kid_out,
                  GError **error)
{
  return cg_vault_open_jwe (v, jwe, expected_ctx, TRUE, kid_out, error);
}

CgBuf *
cg_vault_open_for_store (CgVault *v, const char *jwe, const char *ctx, GError **error)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  return cg_vault_open_jwe (v, jwe, ctx, FALSE, NULL, error);
}

CgBuf *
cg_vault_open_jwe (CgVault *v, const char *jwe, const char *expected_ctx, gboolean count_use,
                   char **kid_out, GError **error)
{
  g_autofree char *kid = NULL;
  gsize len = strlen (jwe);
  if (!cg_jwe_peek (jwe, len, &kid, NULL, error))
    return NULL;

  g_autoptr (CgSealKey) key = NULL;
  g_mutex_lock (&v->lock);
  if (cg_vault_ensure_keys (v, error))
    {
      CgSealKey *k = g_hash_table_lookup (v->seal_keys, kid);
      if (k)
        key = cg_seal_key_ref (k);
      else
        g_set_error_literal (error, CG_ERROR, CG_ERROR_DECRYPT,
                             "cannot decrypt: sealed to a key this agent does not hold");
    }
  g_mutex_unlock (&v->lock);
  if (!key)
    return NULL;

  CgBuf *plain = cg_jwe_open (key, jwe, len, expected_ctx, error);
  if (plain && count_use)
    emit_key_opened (v, kid);
  if (plain && kid_out)
    *kid_out = g_steal_pointer (&kid);
  return plain;
}

json_t *
cg_vault_status (CgVault *v)
{
  const char *state = cg_vault_keys_state_name (v);
  g_mutex_lock (&v->lock);
  gint64 creds = 0, tokens = 0, clients = 0;
  g_autofree char *now = cg_vault_now_rfc3339 ();
  v->store->ops->counts (v->store, now, &creds, &tokens, &clients);
  /* "state_dir" is the old name of "stateDir", kept for one release
   * (README.md) for scripts that read it. */
  json_t *status = json_pack ("{s:I, s:I, s:I, s:s, s:s?, s:s, s:s}", "credentials",
                              (json_int_t) creds, "tokens", (json_int_t) tokens, "clients",
                              (json_int_t) clients, "keys", state, "kid",
                              v->current ? cg_seal_key_get_kid (v->current) : NULL, "stateDir",
                              v->state_dir, "state_dir", v->state_dir);
  /* A key rotate --all cut short is said until it is finished. */
  json_t *rotation = cg_vault_rotation_state_locked (v, NULL);
  if (json_is_object (rotation))
    json_object_set_new (status, "rotation", rotation);
  else
    json_decref (rotation);
  g_mutex_unlock (&v->lock);
  return status;
}
