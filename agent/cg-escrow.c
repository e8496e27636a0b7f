/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Key escrow: every key the agent holds, sealed to admins' public keys,
 * so that a backup never goes stale after a rotation.  Layout and the
 * plaintext's form are in cg-escrow.h. */
#include "config.h"

#include "agent/cg-escrow.h"
#include "agent/cg-db.h"
#include "agent/cg-keystore.h"
#include "agent/cg-vault-private.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"

#include <glib/gstdio.h>
#include <string.h>

#define JWK_MAX (16 * 1024)

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

static CgSealKey *
load_jwk_file (const char *path, GError **error)
{
  char *text = NULL;
  gsize len = 0;
  if (!cg_file_read_capped (path, JWK_MAX, &text, &len, error))
    return NULL;
  json_auto_t *jwk = cg_json_load_strict (text, len, error);
  cg_wipe (text, len);
  g_free (text);
  return jwk ? cg_seal_key_new_from_jwk (jwk, error) : NULL;
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
      CgSealKey *key = load_jwk_file (path, error);
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
  gboolean retired;
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

/* The master key and every sealing key state.db names, retired too. */
static GPtrArray *
list_keys_locked (CgVault *v, GError **error)
{
  GPtrArray *keys = g_ptr_array_new_with_free_func (key_ref_free);
  KeyRef *m = g_new0 (KeyRef, 1);
  m->kind = g_strdup ("master");
  m->kid = g_strdup ("");
  m->created = g_strdup ("");
  g_ptr_array_add (keys, m);
  sqlite3_stmt *st = cg_db_prepare (
      v->db, "SELECT kid, created, rowid, retired FROM seal_keys ORDER BY rowid", error);
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
      k->retired = sqlite3_column_int (st, 3);
      g_ptr_array_add (keys, k);
    }
  sqlite3_finalize (st);
  return keys;
}

/* A retired key is escrowed again under another name, with "retired" in
 * it, so that a recovery keeps it retired (a key an admin retired, maybe
 * because it leaked, must not open values again after a recovery). */
static char *
escrow_path_as (CgVault *v, const char *rkid, KeyRef *k, gboolean retired)
{
  g_autofree char *file = !*k->kid ? g_strdup ("master.jwe")
                          : retired ? g_strdup_printf ("seal-%s.retired.jwe", k->kid)
                                    : g_strdup_printf ("seal-%s.jwe", k->kid);
  return g_build_filename (v->state_dir, "escrow", rkid, file, NULL);
}

static char *
escrow_path (CgVault *v, const char *rkid, KeyRef *k)
{
  return escrow_path_as (v, rkid, k, k->retired);
}

/* Seal one key to one recipient, atomically into its file. */
static gboolean
escrow_one (CgVault *v, Recipient *r, KeyRef *k, const CgBuf *key, GError **error)
{
  g_autofree char *dir = g_build_filename (v->state_dir, "escrow", r->rkid, NULL);
  g_autofree char *path = escrow_path (v, r->rkid, k);
  if (!cg_mkdir_private (dir, 0700, error))
    return FALSE;
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
  return jwe && cg_file_write_atomic (path, jwe, strlen (jwe), 0600, error);
}

/* Escrow to @only (or every recipient) what is not escrowed yet; the
 * master key is written every time, since a restore may replace it. */
static gboolean
sync_locked (CgVault *v, const char *only, guint *written, GError **error)
{
  g_autoptr (GPtrArray) recipients = load_recipients (v->state_dir, error);
  if (!recipients)
    return FALSE;
  if (recipients->len == 0)
    return TRUE;
  g_autoptr (GPtrArray) keys = list_keys_locked (v, error);
  if (!keys)
    return FALSE;
  for (guint i = 0; i < keys->len; i++)
    {
      KeyRef *k = keys->pdata[i];
      g_autoptr (CgBuf) key = NULL;
      for (guint j = 0; j < recipients->len; j++)
        {
          Recipient *r = recipients->pdata[j];
          if (only && !g_str_equal (only, r->rkid))
            continue;
          g_autofree char *path = escrow_path (v, r->rkid, k);
          if (*k->kid && g_file_test (path, G_FILE_TEST_EXISTS))
            continue;
          if (!key)
            {
              GError *local = NULL;
              key = cg_keystore_lookup (v->instance, k->kind, k->kid, &local);
              if (!key)
                {
                  if (local)
                    g_propagate_error (error, local);
                  else
                    g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                                 "the %s key %s is not in the secret store", k->kind, k->kid);
                  return FALSE;
                }
            }
          if (!escrow_one (v, r, k, key, error))
            return FALSE;
          if (k->retired)
            {
              /* The retired copy is written: the active one goes. */
              g_autofree char *active = escrow_path_as (v, r->rkid, k, FALSE);
              g_unlink (active);
            }
          if (written)
            (*written)++;
        }
    }
  return TRUE;
}

void
cg_vault_escrow_sync_locked (CgVault *v)
{
  g_autoptr (GError) error = NULL;
  if (!sync_locked (v, NULL, NULL, &error))
    g_warning ("escrow: not every key is escrowed (see credgatectl escrow status): %s",
               error->message);
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
      && sync_locked (v, rkid, &written, error))
    result = json_pack ("{s:s, s:i}", "recipient", rkid, "keys", written);
  g_mutex_unlock (&v->lock);
  return result;
}

/* An escrow file counts when it is there and sealed to its recipient. */
static gboolean
escrowed (const char *path, const char *rkid)
{
  char *text = NULL;
  gsize len = 0;
  if (!cg_file_read_capped (path, CG_JWE_MAX_LEN, &text, &len, NULL))
    return FALSE;
  g_autofree char *kid = NULL;
  g_strstrip (text);
  gboolean ok = cg_jwe_peek (text, strlen (text), &kid, NULL, NULL) && g_str_equal (kid, rkid);
  g_free (text);
  return ok;
}

json_t *
cg_vault_escrow_status (CgVault *v, GError **error)
{
  json_t *result = NULL;
  g_mutex_lock (&v->lock);
  g_autoptr (GPtrArray) recipients = load_recipients (v->state_dir, error);
  g_autoptr (GPtrArray) keys = recipients ? list_keys_locked (v, error) : NULL;
  if (keys)
    {
      json_t *list = json_array ();
      for (guint j = 0; j < recipients->len; j++)
        {
          Recipient *r = recipients->pdata[j];
          json_t *rk = json_array ();
          gboolean complete = TRUE;
          for (guint i = 0; i < keys->len; i++)
            {
              KeyRef *k = keys->pdata[i];
              g_autofree char *path = escrow_path (v, r->rkid, k);
              gboolean ok = escrowed (path, r->rkid);
              complete = complete && ok;
              json_array_append_new (rk, json_pack ("{s:s, s:s, s:b}", "kind", k->kind, "kid",
                                                    k->kid, "escrowed", ok));
            }
          json_array_append_new (list, json_pack ("{s:s, s:o, s:b}", "recipient", r->rkid,
                                                  "keys", rk, "complete", complete));
        }
      result = json_pack ("{s:o}", "recipients", list);
    }
  g_mutex_unlock (&v->lock);
  return result;
}

/* ---- recovery (credgatectl) -------------------------------------------- */

static gint
by_seq (gconstpointer a, gconstpointer b)
{
  json_int_t sa = json_integer_value (json_object_get (*(json_t *const *) a, "seq"));
  json_int_t sb = json_integer_value (json_object_get (*(json_t *const *) b, "seq"));
  return sa < sb ? -1 : sa > sb;
}

json_t *
cg_escrow_recover (const char *dir_path, CgSealKey *recipient, GError **error)
{
  const char *rkid = cg_seal_key_get_kid (recipient);
  g_autofree char *sub = g_build_filename (dir_path, rkid, NULL);
  g_autofree char *recipients = g_build_filename (dir_path, "recipients", NULL);
  const char *from = g_file_test (sub, G_FILE_TEST_IS_DIR) ? sub : dir_path;
  g_autoptr (GError) local = NULL;
  if (from == dir_path && g_file_test (recipients, G_FILE_TEST_IS_DIR))
    {
      /* An escrow folder, but nothing in it for this key. */
      g_autoptr (GString) names = g_string_new (NULL);
      g_autoptr (GDir) rdir = g_dir_open (recipients, 0, NULL);
      const char *n;
      while (rdir && (n = g_dir_read_name (rdir)))
        if (g_str_has_suffix (n, ".jwk"))
          g_string_append_printf (names, " %.*s", (int) (strlen (n) - 4), n);
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                   "%s holds no escrow for recipient %s: its keys are escrowed to another "
                   "recipient (%s )",
                   dir_path, rkid, names->str);
      return NULL;
    }
  g_autoptr (GDir) dir = g_dir_open (from, 0, &local);
  if (!dir)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot read the escrow folder: %s",
                   local->message);
      return NULL;
    }

  json_auto_t *master = NULL;
  g_autoptr (GPtrArray) seals = g_ptr_array_new_with_free_func ((GDestroyNotify) json_decref);
  g_autofree char *instance = NULL;
  guint other = 0;
  const char *name;
  while ((name = g_dir_read_name (dir)))
    {
      if (!g_str_has_suffix (name, ".jwe"))
        continue;
      g_autofree char *path = g_build_filename (from, name, NULL);
      char *text = NULL;
      gsize len = 0;
      if (!cg_file_read_capped (path, CG_JWE_MAX_LEN, &text, &len, error))
        return NULL;
      g_strstrip (text);
      g_autofree char *kid = NULL;
      if (!cg_jwe_peek (text, strlen (text), &kid, NULL, NULL) || !g_str_equal (kid, rkid))
        {
          g_free (text);
          other++;
          continue;
        }
      g_autoptr (CgBuf) plain = cg_jwe_open (recipient, text, strlen (text), CG_ESCROW_CTX,
                                             error);
      g_free (text);
      if (!plain)
        {
          g_prefix_error (error, "%s: ", name);
          return NULL;
        }
      json_t *doc = cg_json_load_strict ((const char *) plain->data, plain->len, error);
      const char *kind = NULL, *kid2 = NULL, *inst = NULL, *created = NULL, *key = NULL;
      json_int_t seq = 0, fmt = 0;
      int retired = 0;
      if (!doc
          || json_unpack (doc, "{s:I, s:s, s:s, s:s, s:s, s:I, s:s, s?b}", "credgateEscrow",
                          &fmt, "instance", &inst, "kind", &kind, "kid", &kid2, "created",
                          &created, "seq", &seq, "key", &key, "retired", &retired)
                 < 0
          || fmt != 1)
        {
          if (doc)
            json_decref (doc);
          g_clear_error (error);
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s is not a credgate escrow file",
                       name);
          return NULL;
        }
      if (instance && !g_str_equal (instance, inst))
        {
          json_decref (doc);
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                       "the escrow folder mixes keys of two agents (%s and %s)", instance,
                       inst);
          return NULL;
        }
      if (!instance)
        instance = g_strdup (inst);
      if (g_str_equal (kind, "master"))
        {
          g_clear_pointer (&master, json_decref);
          master = doc;
          continue;
        }
      /* A key's active and retired copies may both be there (a crash
       * between writing the one and removing the other): retired wins. */
      guint i;
      for (i = 0; i < seals->len; i++)
        if (g_str_equal (kid2, json_string_value (json_object_get (seals->pdata[i], "kid"))))
          break;
      if (i == seals->len)
        g_ptr_array_add (seals, doc);
      else if (retired)
        {
          json_decref (seals->pdata[i]);
          seals->pdata[i] = doc;
        }
      else
        json_decref (doc);
    }
  if (!master || seals->len == 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                   "%s holds no %s sealed to recipient %s%s", from,
                   master ? "sealing keys" : "master key", rkid,
                   other ? " (its files are sealed to another recipient)" : "");
      return NULL;
    }
  g_ptr_array_sort (seals, by_seq);
  /* The newest key that is not retired becomes current (the current one
   * never is). */
  gint current = -1;
  for (guint i = 0; i < seals->len; i++)
    if (!json_is_true (json_object_get (seals->pdata[i], "retired")))
      current = i;
  if (current < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                   "%s holds only retired sealing keys for recipient %s", from, rkid);
      return NULL;
    }
  json_t *keys = json_array ();
  for (guint i = 0; i < seals->len; i++)
    {
      json_t *s = seals->pdata[i];
      json_array_append_new (
          keys, json_pack ("{s:O, s:O, s:b, s:b, s:O}", "kid", json_object_get (s, "kid"),
                           "created", json_object_get (s, "created"), "current",
                           (gint) i == current, "retired",
                           json_is_true (json_object_get (s, "retired")), "d",
                           json_object_get (s, "key")));
    }
  return json_pack ("{s:i, s:s, s:O, s:o}", "format", 1, "sourceInstance", instance, "master",
                    json_object_get (master, "key"), "sealKeys", keys);
}
