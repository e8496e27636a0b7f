/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* STATE_DIR/cluster.json: this agent's membership in a cluster (issue 13).
 * Written once, at the very end of "cluster init" or "cluster join"
 * (0600, atomically): without it the agent is a single node and behaves
 * exactly as before.  The etcd CA, client certificate and key are copies
 * under STATE_DIR/cluster/ (the key 0600), so the agent depends on none of
 * the admin's paths:
 *   {"id": CLUSTER-ID, "name": NODE, "endpoints": ["https://…", …],
 *    "ca": "cluster/ca.pem", "cert": "cluster/cert.pem",
 *    "key": "cluster/key.pem", "address": "host:port", "since": RFC3339}
 * Paths are relative to the state directory. */
typedef struct
{
  char *id;        /* 16 random bytes, base64url */
  char *name;      /* this node's name (cg_name_is_valid) */
  GStrv endpoints; /* https URLs, at least one */
  char *address;   /* host:port clients reach this node at */
  char *since;     /* when it became a member */
  /* Absolute paths, under STATE_DIR/cluster/. */
  char *ca_file, *cert_file, *key_file;
} CgClusterConfig;

void cg_cluster_config_free (CgClusterConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgClusterConfig, cg_cluster_config_free)

/* The prefix of the cluster's keys in etcd: "/credgate/<id>/" (transfer full). */
char *cg_cluster_config_prefix (const char *id);

/* STATE_DIR/cluster.json, or NULL without an error when there is none
 * (a single node).  A file that is damaged, not 0600, or names files that
 * are missing is an error: the agent must not fall back to running alone
 * on state that another node may have moved on. (transfer full) */
CgClusterConfig *cg_cluster_config_load (const char *state_dir, GError **error);
gboolean cg_cluster_config_exists (const char *state_dir);

/* Writes the three PEM texts to STATE_DIR/cluster/{ca,cert,key}.pem (0600,
 * atomically) and sets @cfg's paths.  Before cluster.json exists nothing
 * reads them, so a failed init or join that leaves them is harmless and a
 * retry replaces them. */
gboolean cg_cluster_config_install_files (CgClusterConfig *cfg, const char *state_dir,
                                          const char *ca_pem, const char *cert_pem,
                                          const char *key_pem, GError **error);

/* STATE_DIR/cluster.json from @cfg (0600, atomically): the last step of
 * init and join. */
gboolean cg_cluster_config_save (const CgClusterConfig *cfg, const char *state_dir,
                                 GError **error);

/* 1 to 16 endpoints, each an https URL with a host and nothing after
 * the port; CG_ERROR_INVALID naming the bad one otherwise. */
gboolean cg_cluster_config_check_endpoints (const char *const *endpoints, GError **error);

G_END_DECLS
