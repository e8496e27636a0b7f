/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-agent.h"

G_BEGIN_DECLS

/* This agent as a member of a cluster (issue 13): the etcd store under the
 * vault, the node key, heartbeats, admitting joining nodes, and the keys
 * that reach this node wrapped to its node key.  The files:
 *   cg-cluster-config.c  STATE_DIR/cluster.json and the etcd files;
 *   cg-cluster-keys.c    the node key, the cluster's secrets, wrap/unwrap;
 *   cg-cluster-join.c    join codes and the proof a joining node gives;
 *   cg-cluster.c         the running member (this header's first half);
 *   cg-cluster-setup.c   init, join, invite, remove, status (second half);
 *   cg-admin-cluster.c   the admin socket's cluster.* commands.
 *
 * A running member has one worker thread with its own etcd client: every
 * 3 s it renews the node's lease (TTL 10 s) and writes P/alive/<name>
 * {"address","pin","applied","etcdRevision","behindSince","time"} attached
 * to it (behindSince: null, or since when its replica has lacked a revision
 * it knew of; the entry is gone 10 s after the node is, back when it
 * returns), reads the member entries, admits pending joins addressed to
 * it, gives every member the wraps it lacks of the secrets this node holds
 * (a node admitted while a key was being rotated), and installs into this
 * node's keyring the wraps addressed to it, then has the vault load its
 * keys again.  The store's applier only hands it events (never blocks on
 * it). */


/* At start, after the vault is open and before anything serves: with
 * STATE_DIR/cluster.json, opens the etcd store, puts it under the vault,
 * starts it (a replica synced before starts with etcd down) and the
 * worker.  NULL without an error when there is no cluster.json. */
CgCluster *cg_cluster_open (CgAgent *agent, GError **error);
/* Stops the worker (and ends the lease: the node is gone at once) before
 * the vault is freed; cg_cluster_free after it. */
void cg_cluster_stop (CgCluster *cluster);
void cg_cluster_free (CgCluster *cluster);

/* /v1/info's "cluster": {"id","node","nodes":[{"name","address","pin",
 * "alive"}],"applied","stale_seconds": N or null (null while this node is
 * in contact with etcd)} (transfer full). */
json_t *cg_cluster_info (CgCluster *cluster);

/* The admin side (cg-cluster-setup.c).  Each
 * returns the result object (transfer full) or NULL with @error. */
typedef struct
{
  const char *const *endpoints;
  const char *ca_pem, *cert_pem, *key_pem; /* the files' text (the key is wiped by the caller) */
  const char *name;                        /* nullable: the host name */
  const char *address;                     /* nullable: from the listening address */
  const char *code;                        /* join only */
  guint wait_s;                            /* join only: how long to wait to be admitted */
} CgClusterSetup;

json_t *cg_cluster_init (CgAgent *agent, const CgClusterSetup *setup, GError **error);
json_t *cg_cluster_join (CgAgent *agent, const CgClusterSetup *setup, GError **error);
json_t *cg_cluster_invite (CgAgent *agent, gint64 ttl_s, GError **error);
json_t *cg_cluster_remove (CgAgent *agent, const char *name, GError **error);
json_t *cg_cluster_status (CgAgent *agent, GError **error);

/* Before a change takes the vault's lock: TRUE for a single node, else
 * cg_vault_store_etcd_write_ready (during an outage, the change is
 * checked, or refused, without the lock that reads wait on). */
gboolean cg_cluster_write_ready (CgAgent *agent, GError **error);

G_END_DECLS
