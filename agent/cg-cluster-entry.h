/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "common/cg-secure.h"

G_BEGIN_DECLS

/* Who is a member is decided by members, not by whoever can write to etcd
 * (issue 13).  An etcd client certificate signed by the cluster's etcd CA
 * (a removed node's, until it is revoked) can write any key under the
 * prefix; it cannot make a MAC under the cluster's current master key,
 * which only members hold.
 *
 * So every P/node/<name> entry carries "mac": HMAC-SHA-256 over its
 * canonical content under a key derived (HKDF-SHA-256, info
 * CG_CLUSTER_ENTRY_LABEL) from the current master key, and every
 * P/alive/<name> heartbeat the same over what clients learn from it (its
 * address and TLS pin).  A member hands a cluster secret (a wrap) only to a
 * node whose entry verifies, and /v1/info lists only such nodes, so an
 * entry written straight into etcd gets nothing and no client learns its
 * pin.  key rotate --all re-MACs every entry that verifies in the txn that
 * makes the new master current: a removed node, without the new master,
 * can neither forge an entry nor replay its old one.
 *
 * The canonical content is the tag ("node" or "alive"), the cluster id, the
 * node's name (from the etcd key) and the fields below, each as a presence
 * byte and a 4-byte big-endian length before its bytes, so no two
 * different entries give the same bytes.  "pub" enters as its RFC 7638
 * thumbprint (it names the key exactly). */

#define CG_CLUSTER_ENTRY_LABEL "credgate cluster node entry v1"

typedef enum
{
  CG_CLUSTER_ENTRY_NODE,  /* P/node/<name>: pub, address, pin, joined, admittedBy */
  CG_CLUSTER_ENTRY_ALIVE, /* P/alive/<name>: address, pin, time */
} CgClusterEntryKind;

/* The MAC key under master key @master (transfer full, wiped on free). */
CgBuf *cg_cluster_entry_key (const CgBuf *master);

/* The canonical bytes of @entry for node @name of cluster @cluster_id, or
 * NULL with @error when a field has the wrong type or "pub" (node entries)
 * is not a public P-256 JWK (transfer full). */
GBytes *cg_cluster_entry_canonical (CgClusterEntryKind kind, const char *cluster_id,
                                    const char *name, json_t *entry, GError **error);
/* Sets @entry's "mac" under @key. */
gboolean cg_cluster_entry_seal (CgClusterEntryKind kind, const CgBuf *key,
                                const char *cluster_id, const char *name, json_t *entry,
                                GError **error);
/* Does @entry's "mac" verify under @key (NULL: no key, FALSE)? */
gboolean cg_cluster_entry_verify (CgClusterEntryKind kind, const CgBuf *key,
                                  const char *cluster_id, const char *name, json_t *entry);

/* A cluster secret's voucher, P/secretmac/<id> = {"master": MKID, "mac"}:
 * HMAC-SHA-256 under the entry key of master key MKID over ("secret",
 * cluster id, secret id, the secret's bytes), written in the txn that first
 * wraps the secret (init, a new sealing or master key).  A running member
 * installs a secret it lacks from its wrap only when the voucher verifies
 * under a master key it already holds: anyone can wrap a key of their own
 * to a node's public key, but only a member can vouch for it, so a key
 * planted in etcd (and named current there) never reaches a keyring.
 * (transfer full) */
char *cg_cluster_secret_mac (const CgBuf *key, const char *cluster_id, const char *secret_id,
                             const CgBuf *secret);

G_END_DECLS
