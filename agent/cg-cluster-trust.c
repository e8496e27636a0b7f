/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which node entries in etcd this member trusts (cg-cluster-entry.h): the
 * current master key as etcd names it, the entry MAC key under it, and the
 * MACs members write. */
#include "config.h"

#include "agent/cg-cluster-private.h"
#include "agent/cg-cluster-entry.h"
#include "agent/cg-cluster-keys.h"
#include "agent/cg-record-seal.h"
#include "agent/cg-tls.h"
#include "certs/cg-cert.h"
#include "common/cg-error.h"
#include "common/cg-time.h"

#include <string.h>

/* The JSON entry under @key in *@out (NULL when absent or not JSON), its
 * mod_revision in *@rev (0 when absent); FALSE when etcd cannot be read. */
static gboolean
read_entry (CgEtcd *etcd, GBytes *key, const char *what, json_t **out, gint64 *rev,
            GError **error)
{
  g_autoptr (GPtrArray) kvs = NULL;
  GError *local = NULL;
  if (!cg_etcd_range (etcd, key, CG_ETCD_RANGE_NONE, 0, 0, &kvs, NULL, NULL, &local))
    {
      cg_cluster_etcd_error (error, local, what);
      g_error_free (local);
      return FALSE;
    }
  CgEtcdKv *kv = kvs->len == 1 ? kvs->pdata[0] : NULL;
  *out = kv ? cg_cluster_kv_json (kv) : NULL;
  *rev = kv ? kv->mod_revision : 0;
  return TRUE;
}

gboolean
cg_cluster_master_current (CgEtcd *etcd, const char *prefix, char **mkid, gint64 *rev,
                           GError **error)
{
  g_autoptr (GBytes) key = cg_cluster_key_in (prefix, "meta/%s", CG_VAULT_META_MASTER_CURRENT);
  json_auto_t *meta = NULL;
  if (!read_entry (etcd, key, "cannot read the current master key's id", &meta, rev, error))
    return FALSE;
  const char *value = json_string_value (json_object_get (meta, "value"));
  *mkid = g_strdup (value && *value ? value : CG_RECORD_MASTER_FIRST);
  return TRUE;
}

CgBuf *
cg_cluster_mac_key_from_vault (CgVault *v, const char *mkid)
{
  if (!cg_record_master_id_valid (mkid))
    return NULL;
  g_autofree char *id = g_strconcat ("master/", mkid, NULL);
  g_autoptr (CgBuf) master = cg_cluster_secret_read (v, id, NULL);
  return master ? cg_cluster_entry_key (master) : NULL;
}

CgBuf *
cg_cluster_mac_key (CgCluster *c, const char *mkid)
{
  g_mutex_lock (&c->lock);
  CgBuf *key = c->mac_mkid && g_str_equal (c->mac_mkid, mkid)
                   ? cg_buf_new_copy (c->mac_key->data, c->mac_key->len)
                   : NULL;
  g_mutex_unlock (&c->lock);
  if (key)
    return key;
  /* A keyring lookup, outside the lock; a master key id names one key for
   * good (random), so the cache never goes wrong. */
  key = cg_cluster_mac_key_from_vault (c->vault, mkid);
  if (!key)
    return NULL;
  g_mutex_lock (&c->lock);
  g_free (c->mac_mkid);
  cg_buf_free (c->mac_key);
  c->mac_mkid = g_strdup (mkid);
  c->mac_key = cg_buf_new_copy (key->data, key->len);
  g_mutex_unlock (&c->lock);
  return key;
}

gboolean
cg_cluster_node_verified (CgCluster *c, const CgBuf *mac_key, const char *name, json_t *entry)
{
  return cg_cluster_entry_verify (CG_CLUSTER_ENTRY_NODE, mac_key, c->cfg->id, name, entry);
}

json_t *
cg_cluster_node_entry_new (const char *name, CgSealKey *pub, const char *address,
                           const char *pin, const char *joined, const char *admitted_by)
{
  json_t *entry = json_pack ("{s:s, s:o, s:s?, s:s?, s:s}", "name", name, "pub",
                             cg_seal_key_to_public_jwk (pub), "address", address, "pin", pin,
                             "joined", joined);
  if (admitted_by)
    json_object_set_new (entry, "admittedBy", json_string (admitted_by));
  return entry;
}

/* ---- the rotation's re-MAC ---------------------------------------------- */

gboolean
cg_cluster_remac_entries (CgCluster *c, CgEtcdTxn *txn, GPtrArray *kvs, gint64 read_rev,
                          const CgBuf *old_key, const char *new_id, const CgBuf *new_master,
                          GHashTable *verified, GError **error)
{
  g_autoptr (CgBuf) new_key = cg_cluster_entry_key (new_master);
  g_autoptr (GBytes) nodes = cg_cluster_key (c, "node/");
  /* No entry added, changed or removed since they were read: an entry
   * admitted meanwhile under the old master would not verify under the new
   * one (and nobody could then vouch for it); a removed one is not put back. */
  cg_etcd_txn_compare_prefix_mod_below (txn, nodes, read_rev + 1);
  for (guint i = 0; i < kvs->len; i++)
    {
      CgEtcdKv *kv = kvs->pdata[i];
      g_autofree char *name = cg_cluster_kv_name (c->prefix, "node/", kv);
      json_auto_t *entry = name ? cg_cluster_kv_json (kv) : NULL;
      if (!entry || !cg_cluster_node_verified (c, old_key, name, entry))
        continue;
      if (!cg_cluster_entry_seal (CG_CLUSTER_ENTRY_NODE, new_key, c->cfg->id, name, entry, error))
        return FALSE;
      g_autoptr (GBytes) value = cg_cluster_json_bytes (entry);
      cg_etcd_txn_compare_mod_revision (txn, kv->key, kv->mod_revision);
      cg_etcd_txn_put (txn, kv->key, value, 0);
      g_hash_table_add (verified, g_steal_pointer (&name));
    }
  g_message ("cluster: the node entries that verify are MAC'd under master key %s in the txn "
             "that makes it current",
             new_id);
  return TRUE;
}

/* ---- vouchers for the cluster's secrets (cg-cluster-entry.h) ------------- */

void
cg_cluster_txn_put_voucher (CgEtcdTxn *txn, const char *prefix, const char *cluster_id,
                            const char *mkid, const CgBuf *mac_key, const char *secret_id,
                            const CgBuf *secret)
{
  g_autofree char *mac = cg_cluster_secret_mac (mac_key, cluster_id, secret_id, secret);
  json_auto_t *voucher = json_pack ("{s:s, s:s}", "master", mkid, "mac", mac);
  g_autoptr (GBytes) key = cg_cluster_key_in (prefix, "secretmac/%s", secret_id);
  g_autoptr (GBytes) value = cg_cluster_json_bytes (voucher);
  cg_etcd_txn_put (txn, key, value, 0);
}

gboolean
cg_cluster_secret_vouched (CgVault *v, CgEtcd *etcd, const char *prefix, const char *cluster_id,
                           const char *secret_id, const CgBuf *secret, GError **error)
{
  g_autoptr (GBytes) key = cg_cluster_key_in (prefix, "secretmac/%s", secret_id);
  json_auto_t *voucher = NULL;
  gint64 rev = 0;
  if (!read_entry (etcd, key, "cannot read the cluster secret's voucher", &voucher, &rev, error))
    return FALSE;
  const char *mkid = json_string_value (json_object_get (voucher, "master"));
  const char *mac = json_string_value (json_object_get (voucher, "mac"));
  /* Under a master key this node holds already. */
  g_autoptr (CgBuf) mac_key = mkid && mac ? cg_cluster_mac_key_from_vault (v, mkid) : NULL;
  g_autofree char *want = mac_key ? cg_cluster_secret_mac (mac_key, cluster_id, secret_id, secret)
                                  : NULL;
  if (!want || strlen (want) != strlen (mac) || !cg_equal_ct (want, mac, strlen (mac)))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_DECRYPT,
                   "no member vouched for cluster secret %s under a master key this node "
                   "holds: not installed (planted in etcd by someone with an etcd client "
                   "certificate?)",
                   secret_id);
      return FALSE;
    }
  return TRUE;
}
