/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Node keys, and the cluster's secrets wrapped to them. */
#include "config.h"

#include "agent/cg-cluster-keys.h"
#include "agent/cg-keystore.h"
#include "agent/cg-vault-private.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "jose/cg-jwe.h"
#include "protocol/cg-names.h"

#include <string.h>

#define KEY_LEN 32

CgSealKey *
cg_cluster_node_key (CgVault *v, gboolean create, GError **error)
{
  GError *local = NULL;
  g_autoptr (CgBuf) d = cg_keystore_lookup (v->instance, "node", "", &local);
  if (local)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (d)
    {
      CgSealKey *key = cg_seal_key_new_from_private (d->data, d->len, NULL);
      if (!key)
        g_set_error_literal (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                             "the node key in the secret store is damaged");
      return key;
    }
  /* Empty: missing or locked.  Only an unlocked keyring gets a new key. */
  if (!cg_keystore_check_unlocked (NULL, error))
    return NULL;
  if (!create)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                           "this node's cluster key is missing from the secret store; remove "
                           "the node from the cluster and join it again");
      return NULL;
    }
  g_autoptr (CgSealKey) key = cg_seal_key_generate (error);
  if (!key)
    return NULL;
  g_autoptr (CgBuf) priv = cg_seal_key_export_private (key);
  if (!cg_keystore_store (v->instance, "node", "", priv, error))
    return NULL;
  g_message ("cluster: made this node's key %s in the secret store", cg_seal_key_get_kid (key));
  return g_steal_pointer (&key);
}

/* @id as keyring (kind, kid); FALSE for "token" or a bad id. */
static gboolean
keyring_item (const char *id, const char **kind, const char **kid)
{
  if (g_str_equal (id, "clientca"))
    {
      /* The client CA's key: one per cluster, where a single agent keeps it. */
      *kind = "clientca";
      *kid = "";
      return TRUE;
    }
  if (g_str_has_prefix (id, "master/"))
    {
      *kind = "master";
      *kid = g_str_equal (id, "master/0") ? "" : id + strlen ("master/");
    }
  else if (g_str_has_prefix (id, "seal/"))
    {
      *kind = "seal";
      *kid = id + strlen ("seal/");
    }
  else
    return FALSE;
  return cg_name_is_valid (id + strlen (*kind) + 1);
}

gboolean
cg_cluster_secret_replaces (CgVault *v, const char *id, const CgBuf *held, const CgBuf *wrapped)
{
  if (!g_str_equal (id, "clientca"))
    return FALSE;
  GError *local = NULL;
  g_mutex_lock (&v->lock);
  g_autofree char *pem = v->store->ops->meta_get (v->store, "client_ca_cert", &local);
  g_mutex_unlock (&v->lock);
  g_clear_error (&local);
  return pem && cg_vault_clients_ca_matches (pem, wrapped)
         && !cg_vault_clients_ca_matches (pem, held);
}

gboolean
cg_cluster_secret_id_valid (const char *id)
{
  const char *kind, *kid;
  return id && (g_str_equal (id, "token") || keyring_item (id, &kind, &kid));
}

static gboolean
bad_id (const char *id, GError **error)
{
  g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "\"%s\" is not a cluster secret id",
               g_utf8_validate (id, -1, NULL) ? id : "?");
  return FALSE;
}

CgBuf *
cg_cluster_secret_read (CgVault *v, const char *id, GError **error)
{
  const char *kind, *kid;
  if (g_str_equal (id, "token"))
    {
      /* Read from the file, not the vault's copy: no lock needed. */
      g_autofree char *path = g_build_filename (v->state_dir, "token.key", NULL);
      char *text = NULL;
      gsize len = 0;
      if (!cg_file_read_capped (path, KEY_LEN + 1, &text, &len, error))
        return NULL;
      CgBuf *key = len == KEY_LEN ? cg_buf_new_copy (text, len) : NULL;
      cg_wipe (text, len);
      g_free (text);
      if (!key)
        g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING, "%s is damaged", path);
      return key;
    }
  if (!keyring_item (id, &kind, &kid))
    {
      bad_id (id, error);
      return NULL;
    }
  GError *local = NULL;
  CgBuf *key = cg_keystore_lookup (v->instance, kind, kid, &local);
  if (local)
    g_propagate_error (error, local);
  else if (!key && cg_keystore_check_unlocked (NULL, error))
    g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                 "cluster secret %s is missing from this node's secret store", id);
  return key;
}

gboolean
cg_cluster_secret_install (CgVault *v, const char *id, const CgBuf *secret, GError **error)
{
  const char *kind, *kid;
  if (secret->len != KEY_LEN)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_DECRYPT, "cluster secret %s has the wrong size", id);
      return FALSE;
    }
  if (g_str_equal (id, "token"))
    {
      g_autofree char *path = g_build_filename (v->state_dir, "token.key", NULL);
      g_mutex_lock (&v->lock);
      CgBuf *key = cg_vault_tokens_key (v);
      gboolean ok = key->len == secret->len;
      if (ok && !cg_equal_ct (key->data, secret->data, key->len))
        {
          ok = cg_file_write_atomic (path, secret->data, secret->len, 0600, error);
          /* In place, as a restore does: token checks read it unlocked. */
          if (ok)
            memcpy (key->data, secret->data, secret->len);
        }
      g_mutex_unlock (&v->lock);
      return ok;
    }
  if (!keyring_item (id, &kind, &kid))
    return bad_id (id, error);
  return cg_keystore_store (v->instance, kind, kid, secret, error);
}

GPtrArray *
cg_cluster_secret_ids (CgVault *v, gboolean needed_only, GError **error)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  if (!needed_only && !cg_vault_keys_ready (v, error))
    return NULL;
  GError *local = NULL;
  g_mutex_lock (&v->lock);
  g_autofree char *mcur = v->store->ops->meta_get (v->store, "master_current", &local);
  g_autofree char *mold = local ? NULL : v->store->ops->meta_get (v->store, "master_old", &local);
  g_autofree char *client_ca = local ? NULL
                                     : v->store->ops->meta_get (v->store, "client_ca_cert", &local);
  json_t *rows = local ? NULL : v->store->ops->key_list (v->store, &local);
  g_mutex_unlock (&v->lock);
  if (local)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  gboolean mkid = mcur && *mcur && !g_str_equal (mcur, "0");
  /* The first master key ("master/0") once key rotate --all retired it is
   * gone from the keyring: handed on only while this node holds it. */
  g_autoptr (CgBuf) first = mkid && !needed_only ? cg_keystore_lookup (v->instance, "master", "",
                                                                       NULL)
                                                 : NULL;
  if (!mkid || first)
    g_ptr_array_add (ids, g_strdup ("master/0"));
  if (mkid)
    g_ptr_array_add (ids, g_strdup_printf ("master/%s", mcur));
  /* While a key rotate --all is unfinished, records may still be sealed
   * under the earlier master keys (meta master_old): every node needs them. */
  g_auto (GStrv) old = g_strsplit (mold ? mold : "", " ", -1);
  for (char **o = old; *o; o++)
    if (**o && !(mcur && g_str_equal (*o, mcur)) && !(g_str_equal (*o, "0") && (!mkid || first)))
      g_ptr_array_add (ids, g_strdup_printf ("master/%s", *o));
  gsize i;
  json_t *row;
  json_array_foreach (rows, i, row)
    {
      const char *kid = json_string_value (json_object_get (row, "kid"));
      if (json_is_true (json_object_get (row, "retired")))
        {
          /* A retired key opens nothing; it goes along if this node has it. */
          g_autoptr (CgBuf) have = needed_only ? NULL
                                               : cg_keystore_lookup (v->instance, "seal", kid, NULL);
          if (!have)
            continue;
        }
      g_ptr_array_add (ids, g_strdup_printf ("seal/%s", kid));
    }
  json_decref (rows);
  g_ptr_array_add (ids, g_strdup ("token"));
  /* The client CA's key, once there is a client CA: every node enrolls
   * clients.  Handed on at init only if this node holds it (a single agent
   * whose keyring lost it still moves its enrolled clients). */
  if (client_ca)
    {
      g_autoptr (CgBuf) have = needed_only ? NULL
                                           : cg_keystore_lookup (v->instance, "clientca", "", NULL);
      if (needed_only || have)
        g_ptr_array_add (ids, g_strdup ("clientca"));
    }
  return g_steal_pointer (&ids);
}

static char *
secret_ctx (const char *id)
{
  return g_strdup_printf ("cluster-secret:%s", id);
}

char *
cg_cluster_wrap (CgSealKey *node_pub, const char *id, const CgBuf *secret, GError **error)
{
  g_autofree char *ctx = secret_ctx (id);
  return cg_jwe_seal (node_pub, ctx, secret->data, secret->len, error);
}

CgBuf *
cg_cluster_unwrap (CgSealKey *node_key, const char *id, const char *jwe, GError **error)
{
  g_autofree char *ctx = secret_ctx (id);
  return cg_jwe_open (node_key, jwe, strlen (jwe), ctx, error);
}

gboolean
cg_cluster_txn_put_wrap (CgEtcdTxn *txn, const char *prefix, const char *node, CgSealKey *pub,
                         const char *id, const CgBuf *secret, GError **error)
{
  char *jwe = cg_cluster_wrap (pub, id, secret, error);
  if (!jwe)
    return FALSE;
  g_autofree char *key = g_strdup_printf ("%swrap/%s/%s", prefix, node, id);
  g_autoptr (GBytes) k = g_bytes_new (key, strlen (key));
  g_autoptr (GBytes) value = g_bytes_new_take (jwe, strlen (jwe));
  cg_etcd_txn_put (txn, k, value, 0);
  return TRUE;
}

CgSealKey *
cg_cluster_node_pub (json_t *entry, GError **error)
{
  json_t *pub = json_object_get (entry, "pub");
  if (!json_is_object (pub))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "a node entry without \"pub\"");
      return NULL;
    }
  g_autoptr (CgSealKey) key = cg_seal_key_new_from_jwk (pub, error);
  if (key && cg_seal_key_has_private (key))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "a node entry must hold a public key only");
      return NULL;
    }
  return g_steal_pointer (&key);
}
