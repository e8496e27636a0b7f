/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vault: keys from the Secret Service, sealed records in SQLite. */
#include "config.h"

#include "agent/cg-vault-private.h"
#include "agent/cg-db.h"
#include "agent/cg-escrow.h"
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
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
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

CgVault *
cg_vault_open (const char *state_dir, GError **error)
{
  if (!cg_mkdir_private (state_dir, 0700, error) || !check_state_dir (state_dir, error))
    return NULL;

  CgVault *v = g_new0 (CgVault, 1);
  g_mutex_init (&v->lock);
  v->state_dir = g_strdup (state_dir);
  v->seal_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) cg_seal_key_unref);
  v->last_key_error = -1;

  g_autofree char *path = g_build_filename (state_dir, "state.db", NULL);
  v->db = cg_db_open (path, error);
  if (!v->db)
    goto fail;

  GError *local = NULL;
  v->instance = cg_db_meta_get (v->db, "instance", &local);
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
      if (!cg_db_meta_set (v->db, "instance", v->instance, error))
        goto fail;
    }
  if (!cg_vault_tokens_init (v, error))
    goto fail;
  return v;

fail:
  cg_vault_free (v);
  return NULL;
}

static void
forget_keys (CgVault *v)
{
  g_clear_pointer (&v->master, cg_buf_free);
  g_hash_table_remove_all (v->seal_keys);
  v->current = NULL;
}

void
cg_vault_free (CgVault *v)
{
  if (!v)
    return;
  if (v->db)
    cg_vault_key_use_flush (v);
  cg_vault_key_use_clear (v);
  cg_vault_clients_free_locked (v);
  forget_keys (v);
  g_hash_table_unref (v->seal_keys);
  cg_buf_free (v->token_key);
  if (v->db)
    sqlite3_close (v->db);
  g_free (v->instance);
  g_free (v->state_dir);
  g_mutex_clear (&v->lock);
  g_free (v);
}

gboolean
cg_vault_add_current_key_txn (sqlite3 *db, gpointer kid, GError **error)
{
  g_autofree char *now = cg_vault_now_rfc3339 ();
  if (!cg_db_exec (db, "UPDATE seal_keys SET current = 0", error))
    return FALSE;
  sqlite3_stmt *st
      = cg_db_prepare (db, "INSERT INTO seal_keys (kid, created, current) VALUES (?, ?, 1)", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, kid, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, now, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot record the new key");
  sqlite3_finalize (st);
  return ok;
}

/* The database's half of create_keys: the first sealing key, current, and
 * the mark that keys were made. */
static gboolean
record_first_keys (sqlite3 *db, gpointer kid, GError **error)
{
  return cg_vault_add_current_key_txn (db, kid, error)
         && cg_db_meta_set (db, "keys_created", "1", error);
}

/* First start: keys go into the keyring first, then the database records
 * that they exist, in one transaction.  A crash between the two leaves an
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
  g_autoptr (CgSealKey) seal = cg_seal_key_generate (error);
  if (!seal)
    return FALSE;
  g_autoptr (CgBuf) d = cg_seal_key_export_private (seal);
  const char *kid = cg_seal_key_get_kid (seal);

  if (!cg_keystore_store (v->instance, "master", "", master, error)
      || !cg_keystore_store (v->instance, "seal", kid, d, error))
    return FALSE;

  if (!cg_db_transaction (v->db, record_first_keys, (gpointer) kid, error))
    return FALSE;
  g_message ("created the master key and sealing key %s in the secret store", kid);
  cg_vault_escrow_sync_locked (v);
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

static gboolean
load_keys (CgVault *v, guint *generation, GError **error)
{
  if (!cg_keystore_check_unlocked (generation, error))
    return FALSE;

  GError *local = NULL;
  g_autofree char *created = cg_db_meta_get (v->db, "keys_created", &local);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (!created && !create_keys (v, error))
    return FALSE;

  g_autoptr (CgBuf) master = cg_keystore_lookup (v->instance, "master", "", error);
  if (!master)
    return (error && *error) ? FALSE : missing_or_locked ("master key", error);

  sqlite3_stmt *st = cg_db_prepare (v->db, "SELECT kid, current FROM seal_keys WHERE retired = 0", error);
  if (!st)
    return FALSE;
  g_autoptr (GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                      (GDestroyNotify) cg_seal_key_unref);
  CgSealKey *current = NULL;
  gboolean ok = TRUE;
  while (ok && sqlite3_step (st) == SQLITE_ROW)
    {
      const char *kid = (const char *) sqlite3_column_text (st, 0);
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
      if (sqlite3_column_int (st, 1))
        current = key;
    }
  sqlite3_finalize (st);
  if (!ok)
    return FALSE;
  if (!current)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                           "the state database names no current sealing key");
      return FALSE;
    }

  v->master = g_steal_pointer (&master);
  g_hash_table_unref (v->seal_keys);
  v->seal_keys = g_steal_pointer (&keys);
  v->current = current;
  return TRUE;
}

static void
keys_failed (CgVault *v, GError *local, GError **error)
{
  forget_keys (v);
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
  cg_vault_clients_created_keys_locked (v);
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

/* Metadata of the row the statement is on: name, type, properties,
 * version, created, updated in columns 0..5. */
static json_t *
row_metadata (sqlite3_stmt *st)
{
  json_t *props = json_loads ((const char *) sqlite3_column_text (st, 2), 0, NULL);
  return json_pack ("{s:s, s:s, s:o, s:I, s:s, s:s}", "name", sqlite3_column_text (st, 0),
                    "type", sqlite3_column_text (st, 1), "properties",
                    props ? props : json_object (), "version",
                    (json_int_t) sqlite3_column_int64 (st, 3), "created",
                    sqlite3_column_text (st, 4), "updated", sqlite3_column_text (st, 5));
}

#define SELECT_META "SELECT name, type, properties, version, created, updated"

typedef struct
{
  const CgBuf *master;
  const char *name, *type, *props_text, *secret_text, *now;
  char *created; /* the first version's, when the name existed */
  gint64 version;
} PutTxn;

/* The version is read and bumped inside the write transaction, so two
 * replaces of one name never seal under the same version. */
static gboolean
put_txn (sqlite3 *db, gpointer user_data, GError **error)
{
  PutTxn *p = user_data;
  sqlite3_stmt *st
      = cg_db_prepare (db, "SELECT version, created FROM credentials WHERE name = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, p->name, -1, SQLITE_STATIC);
  int r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      p->version = sqlite3_column_int64 (st, 0) + 1;
      p->created = g_strdup ((const char *) sqlite3_column_text (st, 1));
    }
  else if (r != SQLITE_DONE)
    cg_db_set_error (error, db, "cannot read the credential");
  sqlite3_finalize (st);
  if (r != SQLITE_ROW && r != SQLITE_DONE)
    return FALSE;

  g_autoptr (GBytes) sealed = cg_record_seal (p->master, p->name, p->version,
                                              (const guint8 *) p->secret_text,
                                              strlen (p->secret_text));
  st = cg_db_prepare (db,
                      "INSERT OR REPLACE INTO credentials (name, type, properties, version, "
                      "created, updated, sealed) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, p->name, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, p->type, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, p->props_text, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 4, p->version);
  sqlite3_bind_text (st, 5, p->created ? p->created : p->now, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 6, p->now, -1, SQLITE_STATIC);
  sqlite3_bind_blob (st, 7, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed),
                     SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot store the credential");
  sqlite3_finalize (st);
  return ok;
}

/* With the lock held and keys loaded: one transaction, so a record is
 * stored whole or not at all. */
static json_t *
put_locked (CgVault *v, const char *name, const char *type, json_t *properties,
            const char *props_text, const char *secret_text, GError **error)
{
  g_autofree char *now = cg_vault_now_rfc3339 ();
  PutTxn p = { v->master, name, type, props_text, secret_text, now, NULL, 1 };
  g_autofree char *created = NULL;
  gboolean ok = cg_db_transaction (v->db, put_txn, &p, error);
  created = g_steal_pointer (&p.created);
  if (!ok)
    return NULL;
  return json_pack ("{s:s, s:s, s:O, s:I, s:s, s:s}", "name", name, "type", type, "properties",
                    properties, "version", (json_int_t) p.version, "created",
                    created ? created : now, "updated", now);
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
  sqlite3_stmt *st
      = cg_db_prepare (v->db, SELECT_META ", sealed FROM credentials WHERE name = ?", error);
  if (!st)
    return NULL;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
  json_t *meta = NULL;
  int r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      meta = row_metadata (st);
      if (sealed)
        *sealed = g_bytes_new (sqlite3_column_blob (st, 6), sqlite3_column_bytes (st, 6));
    }
  else if (r == SQLITE_DONE)
    g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no credential named \"%s\"", name);
  else
    cg_db_set_error (error, v->db, "cannot read the credential");
  sqlite3_finalize (st);
  return meta;
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
  json_t *list = NULL;
  sqlite3_stmt *st = cg_db_prepare (v->db, SELECT_META " FROM credentials ORDER BY name", error);
  if (st)
    {
      list = json_array ();
      int r;
      while ((r = sqlite3_step (st)) == SQLITE_ROW)
        json_array_append_new (list, row_metadata (st));
      if (r != SQLITE_DONE)
        {
          g_clear_pointer (&list, json_decref);
          cg_db_set_error (error, v->db, "cannot list credentials");
        }
      sqlite3_finalize (st);
    }
  g_mutex_unlock (&v->lock);
  return list;
}

gboolean
cg_vault_delete (CgVault *v, const char *name, GError **error)
{
  if (!check_name (name, error))
    return FALSE;
  g_mutex_lock (&v->lock);
  gboolean ok = FALSE;
  sqlite3_stmt *st = cg_db_prepare (v->db, "DELETE FROM credentials WHERE name = ?", error);
  if (st)
    {
      sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
      if (sqlite3_step (st) != SQLITE_DONE)
        cg_db_set_error (error, v->db, "cannot delete the credential");
      else if (sqlite3_changes (v->db) == 0)
        g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no credential named \"%s\"", name);
      else
        ok = TRUE;
      sqlite3_finalize (st);
    }
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
      gsize len;
      const guint8 *blob = g_bytes_get_data (sealed, &len);
      gint64 version = json_integer_value (json_object_get (record, "version"));
      g_autoptr (CgBuf) plain = cg_record_open (v->master, name, version, blob, len, error);
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
    cg_vault_key_use_note (v, kid);
  if (plain && kid_out)
    *kid_out = g_steal_pointer (&kid);
  return plain;
}

json_t *
cg_vault_status (CgVault *v)
{
  const char *state = cg_vault_keys_state_name (v);
  g_mutex_lock (&v->lock);
  json_int_t creds = 0, tokens = 0, clients = 0;
  sqlite3_stmt *st = cg_db_prepare (
      v->db,
      "SELECT (SELECT count(*) FROM credentials), (SELECT count(*) FROM tokens), "
      "(SELECT count(*) FROM clients WHERE revoked IS NULL AND expires > ?)",
      NULL);
  g_autofree char *now = cg_vault_now_rfc3339 ();
  if (st)
    sqlite3_bind_text (st, 1, now, -1, SQLITE_STATIC);
  if (st && sqlite3_step (st) == SQLITE_ROW)
    {
      creds = sqlite3_column_int64 (st, 0);
      tokens = sqlite3_column_int64 (st, 1);
      clients = sqlite3_column_int64 (st, 2);
    }
  sqlite3_finalize (st);
  /* "state_dir" is the old name of "stateDir", kept for one release
   * (README.md) for scripts that read it. */
  json_t *status = json_pack ("{s:I, s:I, s:I, s:s, s:s?, s:s, s:s}", "credentials", creds,
                              "tokens", tokens, "clients", clients, "keys", state, "kid",
                              v->current ? cg_seal_key_get_kid (v->current) : NULL, "stateDir",
                              v->state_dir, "state_dir", v->state_dir);
  g_mutex_unlock (&v->lock);
  return status;
}
