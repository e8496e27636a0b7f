/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-cluster.h"
#include "agent/cg-cluster-config.h"
#include "agent/cg-vault-private.h"
#include "agent/cg-vault-store-etcd.h"
#include "jose/cg-jwk.h"
#include "store/cg-etcd.h"

G_BEGIN_DECLS

/* Every etcd call of the member's, and of the store it opens: a write
 * fails within 5 s (cluster_unavailable), never hangs. */
#define CG_CLUSTER_ETCD_TIMEOUT_MS 4500

/* Shared by cg-cluster.c (the running member) and cg-cluster-setup.c. */
struct CgCluster
{
  CgAgent *agent;
  CgVault *vault;
  CgClusterConfig *cfg;
  char *prefix;         /* "/credgate/<id>/" */
  CgVaultStore *store;  /* borrowed: the vault owns it */
  CgSealKey *node_key;  /* this node's key pair */

  GMutex lock;          /* guards what follows */
  GCond cond;
  gboolean stop, wake, reload_keys, sync_wraps;
  json_t *nodes;        /* name → P/node/ entry, as the worker last read them */
  json_t *alive;        /* name → P/alive/ entry */
  GHashTable *verified; /* names whose P/node/ entry verified (cg-cluster-entry.h) */
  GHashTable *alive_verified; /* names whose P/alive/ entry verified */
  char *mac_mkid;       /* the entry MAC key last derived, and its master key id */
  CgBuf *mac_key;
  GHashTable *retired_masters; /* master key ids this node may still hold that key
                                * rotate --all may have retired: the worker removes
                                * each from the keyring once the replica no longer
                                * names it and etcd holds no wrap of it to this node */
  GThread *thread;
  gint64 epoch;         /* real time (s) of cg_cluster_new */
  gint last_beat;       /* atomic: seconds after epoch of the last heartbeat etcd took, -1 */

  GMutex etcd_lock;     /* guards etcd: calls from the admin socket and the hook */
  CgEtcd *etcd;
};

/* P + the formatted rest, as an etcd key (transfer full). */
GBytes *cg_cluster_key (CgCluster *c, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
GBytes *cg_cluster_key_in (const char *prefix, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* @kv's key without the prefix and @area ("node/"), or NULL when it is
 * not under it (transfer full). */
char *cg_cluster_kv_name (const char *prefix, const char *area, const CgEtcdKv *kv);
/* @kv's value as a JSON object, or NULL (transfer full). */
json_t *cg_cluster_kv_json (const CgEtcdKv *kv);
/* The JSON entries of @kvs under @area into @out by name (damaged ones
 * left out); with @revs, name → mod_revision (gint64, g_free) too. */
void cg_cluster_entries_by_name (const char *prefix, const char *area, GPtrArray *kvs,
                                 json_t *out, GHashTable *revs);
/* JSON as an etcd value (transfer full). */
GBytes *cg_cluster_json_bytes (json_t *value);
/* A CG_ETCD_ERROR as CG_ERROR (a lost compare is CG_ERROR_CONFLICT,
 * everything else CG_ERROR_CLUSTER_UNAVAILABLE), @what first. */
void cg_cluster_etcd_error (GError **error, GError *etcd_error, const char *what);

/* The etcd store for @cfg on STATE_DIR/state.db (transfer full). */
CgVaultStore *cg_cluster_open_store (const char *state_dir, const CgClusterConfig *cfg,
                                     GError **error);
/* The member (at start, after init or join): takes @cfg and @node_key;
 * @store is the etcd store the vault gets.  The worker starts with
 * cg_cluster_run, after the store was started with this as its data. */
CgCluster *cg_cluster_new (CgAgent *agent, CgClusterConfig *cfg, CgVaultStore *store,
                           CgSealKey *node_key, GError **error);
void cg_cluster_run (CgCluster *cluster);
/* The store's callbacks (cg-cluster.c), for cg_vault_store_etcd_start. */
void cg_cluster_other_cb (CgEtcdEventType type, const CgEtcdKv *kv, gpointer data);
void cg_cluster_changed_cb (guint areas, gint64 revision, gpointer data);
gboolean cg_cluster_key_wraps_cb (const char *secret_id, CgEtcdTxn *txn, gpointer data,
                                  GError **error);
/* Can this node write: the store's last write or watch round and its last
 * heartbeat (a write every 3 s) both reached etcd's quorum. */
gboolean cg_cluster_can_write (CgCluster *cluster);
/* Puts @store under the vault (the lock held), dropping the old one and
 * the loaded keys. */
void cg_cluster_vault_set_store_locked (CgVault *vault, CgVaultStore *store);
/* Installs every P/wrap/<self>/ this node lacks with @etcd, each only
 * with a voucher under a master key it holds (cg-cluster-entry.h); with
 * @replace (joining) also over what it holds (its own master and token key
 * give way to the cluster's).  FALSE + @error when etcd cannot be read or
 * a wrap does not open. */
gboolean cg_cluster_install_wraps (CgVault *vault, CgEtcd *etcd, const char *prefix,
                                   const char *cluster_id, const char *self,
                                   CgSealKey *node_key, gboolean replace, GError **error);

/* ---- trust (cg-cluster-trust.c, cg-cluster-entry.h) ---------------------- */

/* The current master key's id as etcd names it (P/meta/master_current;
 * "0" when absent) (transfer full) and that key's mod_revision (0 when
 * absent). */
gboolean cg_cluster_master_current (CgEtcd *etcd, const char *prefix, char **mkid, gint64 *rev,
                                    GError **error);
/* The node entry MAC key under master key @mkid from this node's keyring
 * (cached in @c), or NULL when this node does not hold it (transfer full). */
CgBuf *cg_cluster_mac_key (CgCluster *c, const char *mkid);
CgBuf *cg_cluster_mac_key_from_vault (CgVault *vault, const char *mkid);
/* Does node @name's entry verify under @mac_key (NULL: FALSE)? */
gboolean cg_cluster_node_verified (CgCluster *c, const CgBuf *mac_key, const char *name,
                                   json_t *entry);
/* A P/node/ entry without its MAC (transfer full); @admitted_by nullable. */
json_t *cg_cluster_node_entry_new (const char *name, CgSealKey *pub, const char *address,
                                   const char *pin, const char *joined, const char *admitted_by);
/* Into @txn (which makes master key @new_id current): each P/node/ entry
 * of @kvs (read at @read_rev) that verifies under @old_key, MAC'd again
 * under @new_master, each compared on its mod_revision and the prefix on
 * nothing newer than @read_rev; their names into @verified. */
gboolean cg_cluster_remac_entries (CgCluster *c, CgEtcdTxn *txn, GPtrArray *kvs, gint64 read_rev,
                                   const CgBuf *old_key, const char *new_id,
                                   const CgBuf *new_master, GHashTable *verified, GError **error);

/* Into @txn: P/secretmac/<@secret_id>, the voucher for @secret under
 * master key @mkid's entry key @mac_key (cg-cluster-entry.h). */
void cg_cluster_txn_put_voucher (CgEtcdTxn *txn, const char *prefix, const char *cluster_id,
                                 const char *mkid, const CgBuf *mac_key, const char *secret_id,
                                 const CgBuf *secret);
/* Does etcd hold a voucher for @secret under a master key this node
 * holds?  FALSE with @error otherwise. */
gboolean cg_cluster_secret_vouched (CgVault *vault, CgEtcd *etcd, const char *prefix,
                                    const char *cluster_id, const char *secret_id,
                                    const CgBuf *secret, GError **error);

G_END_DECLS
