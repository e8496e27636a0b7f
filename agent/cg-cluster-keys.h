/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-vault.h"
#include "jose/cg-jwk.h"
#include "store/cg-etcd.h"

G_BEGIN_DECLS

/* The cluster's secrets and how they travel between nodes (issue 13).
 *
 * Each node has a node key: a P-256 key pair in its own keyring (kind
 * "node", kid ""), made at "cluster init" or "cluster join", never leaving
 * the node; its public JWK is in P/node/<name>.  A cluster secret is one of
 *   "master/<mkid>"  the master key <mkid> (keyring kind "master", kid
 *                    <mkid>; today's key, kid "", is "master/0"),
 *   "seal/<kid>"     a sealing private key (keyring kind "seal"),
 *   "token"          the token HMAC key (STATE_DIR/token.key), so a token
 *                    works on every node (and an enrollment code's HMAC
 *                    is the same on each),
 *   "clientca"       the client CA's P-256 scalar (keyring kind
 *                    "clientca", kid ""), so every node enrolls clients
 *                    under the one CA whose certificate the store holds.
 * and reaches another node only as P/wrap/<node>/<secret-id>: a JWE
 * (jose/, ECDH-ES + A256GCM) to that node's node key with ctx
 * "cluster-secret:<secret-id>", so a wrap copied to another id or node
 * does not open.  etcd never holds a secret in the clear. */

/* This node's key pair from its keyring; with @create, made when the keyring
 * (checked unlocked) has none.  NULL with @error otherwise: a locked keyring
 * is never a reason to make one.  (transfer full) */
CgSealKey *cg_cluster_node_key (CgVault *vault, gboolean create, GError **error);

/* Is @id a secret id as above? */
gboolean cg_cluster_secret_id_valid (const char *id);
/* The secret's bytes from this node (keyring or token.key), or NULL with
 * @error (CG_ERROR_KEYS_MISSING when it is not there).  The vault's lock
 * may be held or not: this takes none.  (transfer full, wiped on free) */
CgBuf *cg_cluster_secret_read (CgVault *vault, const char *id, GError **error);
/* Puts an unwrapped secret where this node keeps it: the keyring, or
 * token.key (atomically, 0600) and the token key in memory.  Without the
 * vault's lock. */
gboolean cg_cluster_secret_install (CgVault *vault, const char *id, const CgBuf *secret,
                                    GError **error);
/* Secret ids from the vault's store (takes the vault's lock):
 * with @needed_only, what every node must hold: the current master key
 * (meta master_current, "master/0" without it), the sealing keys not
 * retired, "token", and "clientca" once there is a client CA; otherwise
 * what this node hands on at init (keys loaded first): "master/0" too, and
 * the retired sealing keys and client CA key it holds.  (transfer full) */
GPtrArray *cg_cluster_secret_ids (CgVault *vault, gboolean needed_only, GError **error);
/* A running member installs a wrapped secret only where it holds none,
 * except here: TRUE when @id is "clientca", and @wrapped is the key of
 * the client CA certificate the replica holds while @held is not (another
 * node's client CA won over one this node made at the same moment).
 * Takes the vault's lock. */
gboolean cg_cluster_secret_replaces (CgVault *vault, const char *id, const CgBuf *held,
                                     const CgBuf *wrapped);

/* The JWE of @secret to @node_pub for @id (transfer full). */
char *cg_cluster_wrap (CgSealKey *node_pub, const char *id, const CgBuf *secret, GError **error);
/* Opens a wrap for @id with this node's key (transfer full). */
CgBuf *cg_cluster_unwrap (CgSealKey *node_key, const char *id, const char *jwe, GError **error);

/* Adds P/wrap/<node>/<id> = the wrap of @secret to @pub to @txn. */
gboolean cg_cluster_txn_put_wrap (CgEtcdTxn *txn, const char *prefix, const char *node,
                                  CgSealKey *pub, const char *id, const CgBuf *secret,
                                  GError **error);

/* The public JWK of a P/node/ entry's "pub", or NULL (transfer full). */
CgSealKey *cg_cluster_node_pub (json_t *entry, GError **error);

G_END_DECLS
