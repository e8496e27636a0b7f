/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The escrow folder as files: the signed manifest, the names and digests
 * of what it lists, and recovery, which credgatectl runs with the admin's
 * private key (it never reaches the agent).  The agent's side, which
 * writes these files, is agent/cg-escrow.c.  Layout in cg-escrow-files.h. */
#include "config.h"

#include "admin/cg-escrow-files.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "jose/cg-jws.h"

#include <string.h>

/* A file name the manifest may list: no path, one of the names
 * escrow_file_name makes. */
static gboolean
manifest_name_ok (const char *name)
{
  return g_str_equal (name, "master.jwe")
         || (g_str_has_prefix (name, "seal-") && g_str_has_suffix (name, ".jwe")
             && !strchr (name, '/') && strspn (name + 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
                                                         "nopqrstuvwxyz0123456789_-.")
                                           == strlen (name + 5));
}

/* Read DIR/manifest.jws, check its signature against @fp (the thumbprint,
 * without "sha256:") and its form.  (transfer full) */
json_t *
cg_escrow_manifest_load (const char *dir, const char *fp, GError **error)
{
  g_autofree char *path = g_build_filename (dir, CG_ESCROW_MANIFEST, NULL);
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                   "%s holds no signed manifest (%s): the agent did not write it, or it was "
                   "removed",
                   dir, CG_ESCROW_MANIFEST);
      return NULL;
    }
  if (!cg_file_read_capped (path, CG_JWS_MAX_LEN, &text, &len, error))
    return NULL;
  g_autofree char *signer = NULL;
  g_autoptr (GBytes) payload
      = cg_jws_verify (text, strlen (text), CG_ESCROW_MANIFEST_TYP, fp, &signer, error);
  if (!payload)
    {
      g_prefix_error (error, "the escrow manifest %s: ", path);
      return NULL;
    }
  gsize plen = 0;
  const char *ptext = g_bytes_get_data (payload, &plen);
  json_t *m = cg_json_load_strict (ptext, plen, NULL);
  json_t *files = NULL;
  json_int_t format = 0, seq = 0;
  const char *instance, *recipient, *created;
  gboolean ok = m
                && json_unpack (m, "{s:I, s:s, s:s, s:I, s:s, s:o}", "credgateEscrowManifest",
                                &format, "instance", &instance, "recipient", &recipient, "seq",
                                &seq, "created", &created, "files", &files)
                       == 0
                && format == 1 && json_object_size (m) == 6 && json_is_array (files);
  size_t i;
  json_t *f;
  json_array_foreach (ok ? files : NULL, i, f)
    {
      const char *name, *kind, *kid, *state, *fcreated, *sha;
      ok = json_unpack (f, "{s:s, s:s, s:s, s:s, s:s, s:s}", "name", &name, "kind", &kind, "kid",
                        &kid, "state", &state, "created", &fcreated, "sha256", &sha)
               == 0
           && json_object_size (f) == 6 && manifest_name_ok (name)
           && (g_str_equal (kind, "master") || g_str_equal (kind, "seal"))
           && (g_str_equal (state, "current") || g_str_equal (state, "old")
               || g_str_equal (state, "retired"));
      for (size_t j = 0; ok && j < i; j++)
        ok = !g_str_equal (name, json_string_value (
                                     json_object_get (json_array_get (files, j), "name")));
      if (!ok)
        break;
    }
  if (!ok)
    {
      if (m)
        json_decref (m);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the escrow manifest %s is signed but malformed", path);
      return NULL;
    }
  return m;
}

json_t *
cg_escrow_manifest_entry (json_t *manifest, const char *name)
{
  size_t i;
  json_t *f;
  json_array_foreach (json_object_get (manifest, "files"), i, f)
    if (g_str_equal (json_string_value (json_object_get (f, "name")), name))
      return f;
  return NULL;
}

const char *
cg_escrow_entry_str (json_t *entry, const char *field)
{
  return json_string_value (json_object_get (entry, field));
}

char *
cg_escrow_digest (const char *data, gsize len)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}

/* Files in a recipient's folder the manifest does not list. */
json_t *
cg_escrow_unexpected_files (const char *dir_path, json_t *manifest)
{
  json_t *list = json_array ();
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    if (g_str_has_suffix (name, ".jwe") && (!manifest || !cg_escrow_manifest_entry (manifest, name)))
      json_array_append_new (list, json_string (name));
  return list;
}

/* "sha256:THUMBPRINT" (or the thumbprint alone) → the thumbprint, or NULL
 * if it is not one. */
static const char *
signer_thumbprint (const char *signer)
{
  const char *fp = g_str_has_prefix (signer, "sha256:") ? signer + 7 : signer;
  return strlen (fp) == 43
                 && strspn (fp, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
                        == 43
             ? fp
             : NULL;
}

gboolean
cg_escrow_signer_valid (const char *signer)
{
  return signer_thumbprint (signer) != NULL;
}

/* Open one file the manifest lists and check that it is what the manifest
 * says.  (transfer full; holds the key) */
static json_t *
open_listed (const char *dir, json_t *entry, const char *instance, CgSealKey *recipient,
             GError **error)
{
  const char *name = cg_escrow_entry_str (entry, "name");
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *text = NULL;
  gsize len = 0;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                   "%s, listed in the escrow's signed manifest, is missing from %s (removed?); "
                   "nothing was restored",
                   name, dir);
      return NULL;
    }
  if (!cg_file_read_capped (path, CG_JWE_MAX_LEN, &text, &len, error))
    return NULL;
  g_autofree char *digest = cg_escrow_digest (text, len);
  if (!g_str_equal (digest, cg_escrow_entry_str (entry, "sha256")))
    {
      g_free (text);
      g_set_error (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                   "%s is not the file the agent escrowed under that name (changed, forged, "
                   "swapped with another key's file, or an older copy put back); nothing was "
                   "restored",
                   name);
      return NULL;
    }
  g_strstrip (text);
  g_autoptr (CgBuf) plain = cg_jwe_open (recipient, text, strlen (text), CG_ESCROW_CTX, error);
  g_free (text);
  if (!plain)
    {
      g_prefix_error (error, "%s: ", name);
      return NULL;
    }
  json_t *doc = cg_json_load_strict ((const char *) plain->data, plain->len, NULL);
  const char *kind = NULL, *kid = NULL, *inst = NULL, *created = NULL, *key = NULL;
  json_int_t seq = 0, fmt = 0;
  int retired = 0;
  if (!doc
      || json_unpack (doc, "{s:I, s:s, s:s, s:s, s:s, s:I, s:s, s?b}", "credgateEscrow", &fmt,
                      "instance", &inst, "kind", &kind, "kid", &kid, "created", &created, "seq",
                      &seq, "key", &key, "retired", &retired)
             < 0
      || fmt != 1 || !g_str_equal (kind, cg_escrow_entry_str (entry, "kind"))
      || !g_str_equal (kid, cg_escrow_entry_str (entry, "kid")) || !g_str_equal (inst, instance)
      || !retired != !g_str_equal (cg_escrow_entry_str (entry, "state"), "retired"))
    {
      if (doc)
        json_decref (doc);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "%s does not hold what the escrow's signed manifest says it does; nothing "
                   "was restored",
                   name);
      return NULL;
    }
  return doc;
}

json_t *
cg_escrow_recover (const char *dir_path, CgSealKey *recipient, const char *signer,
                   json_t **about, GError **error)
{
  const char *rkid = cg_seal_key_get_kid (recipient);
  const char *fp = signer_thumbprint (signer);
  g_autofree char *sub = g_build_filename (dir_path, rkid, NULL);
  g_autofree char *recipients = g_build_filename (dir_path, "recipients", NULL);
  const char *from = g_file_test (sub, G_FILE_TEST_IS_DIR) ? sub : dir_path;
  g_autoptr (GError) local = NULL;
  if (!fp)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "%s is not an escrow signer's fingerprint (sha256: and 43 characters of "
                   "base64url, as 'credgatectl escrow add' and 'escrow status' print it)",
                   signer);
      return NULL;
    }
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
  if (!g_file_test (from, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot read the escrow folder %s", from);
      return NULL;
    }

  /* First the signature: nothing in the folder is read as a key before
   * the manifest that lists it verifies with the signer the admin named. */
  json_auto_t *manifest = cg_escrow_manifest_load (from, fp, error);
  if (!manifest)
    {
      g_prefix_error (error, "not recovering from %s: ", from);
      return NULL;
    }
  if (!g_str_equal (json_string_value (json_object_get (manifest, "recipient")), rkid))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the escrow manifest in %s is for recipient %s, not %s; nothing was restored",
                   from, json_string_value (json_object_get (manifest, "recipient")), rkid);
      return NULL;
    }
  /* Every escrow file there must be one the agent listed: a file it did
   * not write (a forged newer key, say) is refused, not skipped. */
  json_auto_t *unexpected = cg_escrow_unexpected_files (from, manifest);
  if (json_array_size (unexpected))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                   "%s in %s is not in the escrow's signed manifest: the agent did not write it "
                   "(forged?) or it is left from an older escrow; nothing was restored (move it "
                   "away to recover from the signed files)",
                   json_string_value (json_array_get (unexpected, 0)), from);
      return NULL;
    }

  const char *instance = json_string_value (json_object_get (manifest, "instance"));
  json_auto_t *master = NULL;
  g_autoptr (GPtrArray) docs = g_ptr_array_new_with_free_func ((GDestroyNotify) json_decref);
  json_t *keys = json_array ();
  json_auto_t *keys_owner = keys;
  gint currents = 0;
  size_t i;
  json_t *e;
  json_array_foreach (json_object_get (manifest, "files"), i, e)
    {
      json_t *doc = open_listed (from, e, instance, recipient, error);
      if (!doc)
        return NULL;
      if (g_str_equal (cg_escrow_entry_str (e, "kind"), "master"))
        {
          if (master)
            {
              json_decref (doc);
              g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                           "the escrow manifest in %s lists two master keys", from);
              return NULL;
            }
          master = doc;
          continue;
        }
      gboolean current = g_str_equal (cg_escrow_entry_str (e, "state"), "current");
      currents += current;
      json_array_append_new (
          keys, json_pack ("{s:O, s:O, s:b, s:b, s:O}", "kid", json_object_get (doc, "kid"),
                           "created", json_object_get (doc, "created"), "current", current,
                           "retired", g_str_equal (cg_escrow_entry_str (e, "state"), "retired"), "d",
                           json_object_get (doc, "key")));
      g_ptr_array_add (docs, doc);
    }
  if (!master || json_array_size (keys) == 0 || currents != 1)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                   "the escrow in %s holds %s; nothing was restored", from,
                   !master                       ? "no master key"
                   : json_array_size (keys) == 0 ? "no sealing keys"
                                                 : "not exactly one current sealing key");
      return NULL;
    }
  if (about)
    {
      g_autofree char *fingerprint = g_strconcat ("sha256:", fp, NULL);
      *about = json_pack ("{s:s, s:O, s:O, s:s}", "instance", instance, "seq",
                          json_object_get (manifest, "seq"), "created",
                          json_object_get (manifest, "created"), "signer", fingerprint);
    }
  /* A master key made by key rotate --all has its id as kid (the first
   * one has ""): the payload names it, in the format that carries it. */
  const char *mkid = json_string_value (json_object_get (master, "kid"));
  json_t *payload = json_pack ("{s:i, s:s, s:O, s:O}", "format", mkid && *mkid ? 3 : 1,
                               "sourceInstance", instance, "master",
                               json_object_get (master, "key"), "sealKeys", keys);
  if (mkid && *mkid)
    json_object_set_new (payload, "masterId", json_string (mkid));
  return payload;
}
