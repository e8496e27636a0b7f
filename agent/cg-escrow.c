/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Key escrow: every key the agent holds, sealed to admins' public keys,
 * so that a backup never goes stale after a rotation; and, since ECDH-ES
 * says nothing about who sealed a file, a manifest of what the agent
 * wrote, signed with its escrow signing key.  Layout, the plaintext's form
 * and the manifest are in cg-escrow.h. */
#include "config.h"

#include "agent/cg-escrow.h"
#include "agent/cg-db.h"
#include "agent/cg-keystore.h"
#include "agent/cg-record-seal.h"
#include "agent/cg-vault-private.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "jose/cg-jws.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct
{
  char *rkid;
  CgSealKey *key;
} Recipient;

static void
recipient_free (gpointer p)
{
  Recipient *r = p;
  g_free (r->rkid);
  cg_seal_key_unref (r->key);
  g_free (r);
}

/* Recipients in STATE_DIR/escrow/recipients; an absent folder is none. */
static GPtrArray *
load_recipients (const char *state_dir, GError **error)
{
  GPtrArray *list = g_ptr_array_new_with_free_func (recipient_free);
  g_autofree char *dir_path = g_build_filename (state_dir, "escrow", "recipients", NULL);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  if (!dir)
    return list;
  const char *name;
  while ((name = g_dir_read_name (dir)))
    {
      if (!g_str_has_suffix (name, ".jwk"))
        continue;
      g_autofree char *path = g_build_filename (dir_path, name, NULL);
      CgSealKey *key = cg_seal_key_load_file (path, error);
      if (!key)
        {
          g_ptr_array_unref (list);
          return NULL;
        }
      Recipient *r = g_new0 (Recipient, 1);
      r->rkid = g_strdup (cg_seal_key_get_kid (key));
      r->key = key;
      g_ptr_array_add (list, r);
    }
  return list;
}

typedef struct
{
  char *kind, *kid, *created;
  gint64 seq;
  gboolean current, retired;
} KeyRef;

static void
key_ref_free (gpointer p)
{
  KeyRef *k = p;
  g_free (k->kind);
  g_free (k->kid);
  g_free (k->created);
  g_free (k);
}

/* The current master key (its keyring kid: "" for the first, else its id)
 * and every sealing key state.db names, retired too.  An earlier master
 * key that an unfinished key rotate --all still needs is not escrowed:
 * the rotation re-seals every record before it goes. */
static GPtrArray *
list_keys_locked (CgVault *v, GError **error)
{
  GError *local = NULL;
  g_autofree char *mkid = cg_db_meta_get (v->db, CG_VAULT_META_MASTER_CURRENT, &local);
  if (local)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  GPtrArray *keys = g_ptr_array_new_with_free_func (key_ref_free);
  KeyRef *m = g_new0 (KeyRef, 1);
  m->kind = g_strdup ("master");
  m->kid = g_strdup (mkid ? cg_record_master_keyring_kid (mkid) : "");
  m->created = g_strdup ("");
  g_ptr_array_add (keys, m);
  sqlite3_stmt *st = cg_db_prepare (
      v->db, "SELECT kid, created, rowid, current, retired FROM seal_keys ORDER BY rowid", error);
  if (!st)
    {
      g_ptr_array_unref (keys);
      return NULL;
    }
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      KeyRef *k = g_new0 (KeyRef, 1);
      k->kind = g_strdup ("seal");
      k->kid = g_strdup ((const char *) sqlite3_column_text (st, 0));
      k->created = g_strdup ((const char *) sqlite3_column_text (st, 1));
      k->seq = sqlite3_column_int64 (st, 2);
      k->current = sqlite3_column_int (st, 3);
      k->retired = sqlite3_column_int (st, 4);
      g_ptr_array_add (keys, k);
    }
  sqlite3_finalize (st);
  return keys;
}

/* What the manifest says of a key: the master key is "current"; a sealing
 * key "current", "old" or "retired". */
static const char *
key_state (KeyRef *k)
{
  return k->retired                                       ? "retired"
         : (k->current || g_str_equal (k->kind, "master")) ? "current"
                                                            : "old";
}

/* A retired key is escrowed again under another name, with "retired" in
 * it, so that a recovery keeps it retired (a key an admin retired, maybe
 * because it leaked, must not open values again after a recovery). */
static char *
escrow_file_name (KeyRef *k, gboolean retired)
{
  return g_str_equal (k->kind, "master") ? g_strdup ("master.jwe")
         : retired ? g_strdup_printf ("seal-%s.retired.jwe", k->kid)
                   : g_strdup_printf ("seal-%s.jwe", k->kid);
}

static char *
escrow_path_as (CgVault *v, const char *rkid, KeyRef *k, gboolean retired)
{
  g_autofree char *file = escrow_file_name (k, retired);
  return g_build_filename (v->state_dir, "escrow", rkid, file, NULL);
}

static char *
escrow_path (CgVault *v, const char *rkid, KeyRef *k)
{
  return escrow_path_as (v, rkid, k, k->retired);
}

/* The SHA-256 of a file's bytes (hex), NULL if it cannot be read. */
static char *
file_digest (const char *path)
{
  char *text = NULL;
  gsize len = 0;
  if (!cg_file_read_capped (path, CG_JWE_MAX_LEN, &text, &len, NULL))
    return NULL;
  char *digest = cg_escrow_digest (text, len);
  g_free (text);
  return digest;
}

/* Seal one key to one recipient, atomically into its file.  Returns the
 * SHA-256 of what was written (transfer full). */
static char *
escrow_one (CgVault *v, Recipient *r, KeyRef *k, const CgBuf *key, GError **error)
{
  g_autofree char *dir = g_build_filename (v->state_dir, "escrow", r->rkid, NULL);
  g_autofree char *path = escrow_path (v, r->rkid, k);
  if (!cg_mkdir_private (dir, 0700, error))
    return NULL;
  char *b64 = g_base64_encode (key->data, key->len);
  json_t *doc = json_pack ("{s:i, s:s, s:s, s:s, s:s, s:I, s:s}", "credgateEscrow", 1,
                           "instance", v->instance, "kind", k->kind, "kid", k->kid, "created",
                           k->created, "seq", (json_int_t) k->seq, "key", b64);
  if (k->retired)
    json_object_set_new (doc, "retired", json_true ());
  cg_wipe_str (b64);
  char *text = cg_json_dump (doc);
  json_decref (doc);
  g_autofree char *jwe
      = cg_jwe_seal (r->key, CG_ESCROW_CTX, (const guint8 *) text, strlen (text), error);
  cg_wipe_str (text);
  if (!jwe || !cg_file_write_atomic (path, jwe, strlen (jwe), 0600, error))
    return NULL;
  return cg_escrow_digest (jwe, strlen (jwe));
}

/* ---- the escrow signing key and the signed manifest ------------------- */

/* "sha256:" and the RFC 7638 thumbprint: what escrow add prints and
 * restore --escrow --escrow-signer takes. */
static char *
signer_fingerprint (CgSealKey *key)
{
  return g_strconcat ("sha256:", cg_seal_key_get_kid (key), NULL);
}

/* The agent's escrow signing key, from the keyring.  Made (with @create)
 * only when state.db says none was ever made and the keyring is unlocked;
 * one that was made and is gone is an error, never made again silently. */
static CgSealKey *
signer_locked (CgVault *v, gboolean create, GError **error)
{
  GError *local = NULL;
  g_autofree char *fp = cg_db_meta_get (v->db, "escrow_signer", &local);
  if (local)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (!fp)
    {
      if (!create)
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                               "this agent has no escrow signing key yet");
          return NULL;
        }
      if (!cg_keystore_check_unlocked (NULL, error))
        return NULL;
      g_autoptr (CgSealKey) key = cg_seal_key_generate (error);
      if (!key)
        return NULL;
      g_autoptr (CgBuf) d = cg_seal_key_export_private (key);
      if (!cg_keystore_store (v->instance, CG_ESCROW_SIGNER_KIND, cg_seal_key_get_kid (key), d,
                              error)
          || !cg_db_meta_set (v->db, "escrow_signer", cg_seal_key_get_kid (key), error))
        return NULL;
      g_message ("made the escrow signing key sha256:%s", cg_seal_key_get_kid (key));
      return g_steal_pointer (&key);
    }
  g_autoptr (CgBuf) d = cg_keystore_lookup (v->instance, CG_ESCROW_SIGNER_KIND, fp, error);
  if (!d)
    {
      if (error && *error)
        return NULL;
      if (!cg_keystore_check_unlocked (NULL, error))
        return NULL;
      g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                   "the escrow signing key sha256:%s is missing from the secret store", fp);
      return NULL;
    }
  CgSealKey *key = cg_seal_key_new_from_private (d->data, d->len, NULL);
  if (!key || !g_str_equal (cg_seal_key_get_kid (key), fp))
    {
      if (key)
        cg_seal_key_unref (key);
      g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                   "the escrow signing key sha256:%s in the secret store is damaged", fp);
      return NULL;
    }
  return key;
}

/* Is @k escrowed to @r as the (verified) @manifest says, and is the file
 * there unchanged? */
static gboolean
key_in_manifest (CgVault *v, Recipient *r, KeyRef *k, json_t *manifest)
{
  g_autofree char *name = escrow_file_name (k, k->retired);
  json_t *e = manifest ? cg_escrow_manifest_entry (manifest, name) : NULL;
  if (!e || !g_str_equal (cg_escrow_entry_str (e, "kind"), k->kind)
      || !g_str_equal (cg_escrow_entry_str (e, "kid"), k->kid)
      || !g_str_equal (cg_escrow_entry_str (e, "state"), key_state (k)))
    return FALSE;
  g_autofree char *path = escrow_path (v, r->rkid, k);
  g_autofree char *digest = file_digest (path);
  return digest && g_str_equal (digest, cg_escrow_entry_str (e, "sha256"));
}

/* Escrow to @r every key in @keys and sign a manifest of what was
 * written.  @material caches the keys read from the keyring. */
static gboolean
escrow_recipient (CgVault *v, Recipient *r, GPtrArray *keys, GPtrArray *material,
                  CgSealKey *signer, guint *written, GError **error)
{
  json_t *files = json_array ();
  json_auto_t *manifest = json_pack ("{s:i, s:s, s:s, s:I, s:s, s:o}", "credgateEscrowManifest",
                                     1, "instance", v->instance, "recipient", r->rkid, "seq",
                                     (json_int_t) 0, "created", "", "files", files);
  for (guint i = 0; i < keys->len; i++)
    {
      KeyRef *k = keys->pdata[i];
      if (!material->pdata[i])
        {
          GError *local = NULL;
          material->pdata[i] = cg_keystore_lookup (v->instance, k->kind, k->kid, &local);
          if (!material->pdata[i])
            {
              if (local)
                g_propagate_error (error, local);
              else
                g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                             "the %s key %s is not in the secret store", k->kind, k->kid);
              return FALSE;
            }
        }
      g_autofree char *digest = escrow_one (v, r, k, material->pdata[i], error);
      if (!digest)
        return FALSE;
      if (k->retired)
        {
          /* The retired copy is written: the active one goes. */
          g_autofree char *active = escrow_path_as (v, r->rkid, k, FALSE);
          g_unlink (active);
        }
      g_autofree char *name = escrow_file_name (k, k->retired);
      json_array_append_new (files, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", name,
                                               "kind", k->kind, "kid", k->kid, "state",
                                               key_state (k), "created", k->created, "sha256",
                                               digest));
      if (written)
        (*written)++;
    }

  /* A sequence number that only grows, so that manifests can be told
   * apart in time (escrow status and a recovery print it). */
  GError *local = NULL;
  g_autofree char *last = cg_db_meta_get (v->db, "escrow_seq", &local);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  gint64 seq = (last ? g_ascii_strtoll (last, NULL, 10) : 0) + 1;
  g_autofree char *seq_text = g_strdup_printf ("%" G_GINT64_FORMAT, seq);
  g_autofree char *now = cg_vault_now_rfc3339 ();
  json_object_set_new (manifest, "seq", json_integer (seq));
  json_object_set_new (manifest, "created", json_string (now));
  g_autofree char *text = cg_json_dump (manifest);
  g_autofree char *jws
      = cg_jws_sign (signer, CG_ESCROW_MANIFEST_TYP, (const guint8 *) text, strlen (text), error);
  g_autofree char *path = g_build_filename (v->state_dir, "escrow", r->rkid, CG_ESCROW_MANIFEST,
                                            NULL);
  return jws && cg_db_meta_set (v->db, "escrow_seq", seq_text, error)
         && cg_file_write_atomic (path, jws, strlen (jws), 0600, error);
}

/* Escrow to @only (or every recipient) whose signed manifest does not
 * list exactly the keys state.db names, in their states, with the files
 * unchanged; with @force, to each of them (a restore may have replaced
 * the master key, which a manifest cannot tell). */
static gboolean
sync_locked (CgVault *v, const char *only, gboolean force, guint *written, GError **error)
{
  g_autoptr (GPtrArray) recipients = load_recipients (v->state_dir, error);
  if (!recipients)
    return FALSE;
  if (recipients->len == 0)
    return TRUE;
  /* An escrow holds one master key: while a key rotate --all is
   * unfinished, a recovery from it would not open the credentials still
   * sealed under the earlier one.  Refused until the rotation is done (its
   * end escrows the new keys). */
  json_auto_t *rotation = cg_vault_rotation_state_locked (v, error);
  if (!rotation)
    return FALSE;
  if (json_is_object (rotation))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                   "a key rotate --all is unfinished: %" JSON_INTEGER_FORMAT
                   " credentials are still sealed under an earlier master key, which an escrow "
                   "would not hold; run credgatectl key rotate --all to finish it, then the keys "
                   "are escrowed",
                   json_integer_value (json_object_get (rotation, "credentialsUnderOldMaster")));
      return FALSE;
    }
  g_autoptr (GPtrArray) keys = list_keys_locked (v, error);
  if (!keys)
    return FALSE;
  g_autoptr (CgSealKey) signer = signer_locked (v, TRUE, error);
  if (!signer)
    return FALSE;
  g_autoptr (GPtrArray) material = g_ptr_array_new_full (keys->len, (GDestroyNotify) cg_buf_free);
  g_ptr_array_set_size (material, keys->len);
  for (guint j = 0; j < recipients->len; j++)
    {
      Recipient *r = recipients->pdata[j];
      if (only && !g_str_equal (only, r->rkid))
        continue;
      if (!force)
        {
          g_autofree char *dir = g_build_filename (v->state_dir, "escrow", r->rkid, NULL);
          json_auto_t *manifest = cg_escrow_manifest_load (dir, cg_seal_key_get_kid (signer), NULL);
          gboolean current = manifest != NULL
                             && json_array_size (json_object_get (manifest, "files"))
                                    == keys->len;
          for (guint i = 0; current && i < keys->len; i++)
            current = key_in_manifest (v, r, keys->pdata[i], manifest);
          if (current)
            continue;
          if (manifest)
            g_message ("escrow: recipient %s's files differ from its signed manifest; "
                       "escrowing every key to it again",
                       r->rkid);
        }
      if (!escrow_recipient (v, r, keys, material, signer, written, error))
        return FALSE;
    }
  return TRUE;
}

static void
sync_or_warn_locked (CgVault *v, gboolean force)
{
  g_autoptr (GError) error = NULL;
  if (!sync_locked (v, NULL, force, NULL, &error))
    g_warning ("escrow: not every key is escrowed (see credgatectl escrow status): %s",
               error->message);
}

/* After a key was made, rotated or retired: escrow to each recipient
 * whose signed manifest does not list exactly the keys state.db names, in
 * their states, with its files unchanged; after a restore (which may
 * replace the master key), to every recipient whatever its manifest says.
 * Best effort: a failure is logged, never fails the key operation (escrow
 * status shows the gap). */
static void
escrow_event (CgVault *v, CgVaultEvent event, gpointer data)
{
  (void) data;
  if (event == CG_VAULT_KEYS_CHANGED)
    sync_or_warn_locked (v, FALSE);
  else if (event == CG_VAULT_RESTORED)
    sync_or_warn_locked (v, TRUE);
}

static const CgVaultHooks escrow_hooks = { escrow_event, NULL, NULL };

void
cg_vault_escrow_attach (CgVault *v)
{
  cg_vault_add_hooks (v, &escrow_hooks, NULL);
}

void
cg_vault_escrow_check (CgVault *v)
{
  g_mutex_lock (&v->lock);
  if (cg_vault_ensure_keys (v, NULL))
    sync_or_warn_locked (v, FALSE);
  g_mutex_unlock (&v->lock);
}

json_t *
cg_vault_escrow_add (CgVault *v, json_t *jwk, GError **error)
{
  if (!json_is_object (jwk) || json_object_get (jwk, "d"))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "an escrow recipient is a public P-256 JWK; this one holds a "
                           "private key (\"d\"): give only the public part");
      return NULL;
    }
  g_autoptr (CgSealKey) key = cg_seal_key_new_from_jwk (jwk, error);
  if (!key)
    return NULL;
  const char *rkid = cg_seal_key_get_kid (key);
  json_auto_t *pub = cg_seal_key_to_public_jwk (key);
  g_autofree char *text = cg_json_dump (pub);
  g_autofree char *dir = g_build_filename (v->state_dir, "escrow", "recipients", NULL);
  g_autofree char *file = g_strdup_printf ("%s.jwk", rkid);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  guint written = 0;
  json_t *result = NULL;

  g_mutex_lock (&v->lock);
  if (cg_vault_ensure_keys (v, error) && cg_mkdir_private (dir, 0700, error)
      && cg_file_write_atomic (path, text, strlen (text), 0600, error)
      && sync_locked (v, rkid, FALSE, &written, error))
    {
      g_autoptr (CgSealKey) signer = signer_locked (v, FALSE, error);
      g_autofree char *fp = signer ? signer_fingerprint (signer) : NULL;
      if (fp)
        result = json_pack ("{s:s, s:i, s:s}", "recipient", rkid, "keys", written, "signer", fp);
    }
  g_mutex_unlock (&v->lock);
  return result;
}

/* An escrow file counts when it is there, sealed to its recipient, and
 * listed unchanged in the recipient's signed manifest. */
static gboolean
escrowed (CgVault *v, Recipient *r, KeyRef *k, json_t *manifest)
{
  g_autofree char *path = escrow_path (v, r->rkid, k);
  char *text = NULL;
  gsize len = 0;
  if (!cg_file_read_capped (path, CG_JWE_MAX_LEN, &text, &len, NULL))
    return FALSE;
  g_autofree char *kid = NULL;
  g_strstrip (text);
  gboolean ok = cg_jwe_peek (text, strlen (text), &kid, NULL, NULL) && g_str_equal (kid, r->rkid);
  g_free (text);
  return ok && key_in_manifest (v, r, k, manifest);
}

json_t *
cg_vault_escrow_status (CgVault *v, GError **error)
{
  json_t *result = NULL;
  g_mutex_lock (&v->lock);
  g_autoptr (GPtrArray) recipients = load_recipients (v->state_dir, error);
  g_autoptr (GPtrArray) keys = recipients ? list_keys_locked (v, error) : NULL;
  g_autoptr (GError) signer_error = NULL;
  g_autoptr (CgSealKey) signer = keys && recipients->len ? signer_locked (v, FALSE, &signer_error)
                                                         : NULL;
  if (keys)
    {
      json_t *list = json_array ();
      for (guint j = 0; j < recipients->len; j++)
        {
          Recipient *r = recipients->pdata[j];
          g_autofree char *dir = g_build_filename (v->state_dir, "escrow", r->rkid, NULL);
          json_auto_t *manifest
              = signer ? cg_escrow_manifest_load (dir, cg_seal_key_get_kid (signer), NULL) : NULL;
          json_t *rk = json_array ();
          json_t *unexpected = cg_escrow_unexpected_files (dir, manifest);
          gboolean complete = manifest && json_array_size (unexpected) == 0;
          for (guint i = 0; i < keys->len; i++)
            {
              KeyRef *k = keys->pdata[i];
              gboolean ok = escrowed (v, r, k, manifest);
              complete = complete && ok;
              json_array_append_new (rk, json_pack ("{s:s, s:s, s:s, s:b}", "kind", k->kind,
                                                    "kid", k->kid, "state", key_state (k),
                                                    "escrowed", ok));
            }
          json_array_append_new (
              list, json_pack ("{s:s, s:o, s:b, s:b, s:o, s:I}", "recipient", r->rkid, "keys",
                               rk, "signed", manifest != NULL, "complete", complete,
                               "unexpected", unexpected, "manifestSeq",
                               manifest ? json_integer_value (json_object_get (manifest, "seq"))
                                        : (json_int_t) 0));
        }
      g_autofree char *fp = signer ? signer_fingerprint (signer) : NULL;
      result = json_pack ("{s:o, s:s?}", "recipients", list, "signer", fp);
    }
  g_mutex_unlock (&v->lock);
  return result;
}

