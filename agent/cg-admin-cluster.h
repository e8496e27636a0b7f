/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-agent.h"

#include <jansson.h>

G_BEGIN_DECLS

/* The admin socket's cluster commands (entries of cg-admin.c's table;
 * agent/cg-cluster.h does the work).
 *   cluster.init    {endpoints: [URL…], ca, cert, key (the PEM texts),
 *                   name?, address?} → {id, name, address, prefix, secrets}
 *   cluster.join    {endpoints, ca, cert, key, code, name?, address?,
 *                   waitSeconds?} → {id, name, address}
 *   cluster.invite  {expiresSeconds?} → {code, codeId, expires,
 *                   expiresSeconds}: the code is shown once
 *   cluster.status  → cg_cluster_status
 *   cluster.remove  {name} → {name, removed, next} */
json_t *cg_admin_cmd_cluster_init (CgAgent *agent, json_t *args, const char *who, GError **error);
json_t *cg_admin_cmd_cluster_join (CgAgent *agent, json_t *args, const char *who, GError **error);
json_t *cg_admin_cmd_cluster_invite (CgAgent *agent, json_t *args, const char *who,
                                     GError **error);
json_t *cg_admin_cmd_cluster_status (CgAgent *agent, json_t *args, const char *who,
                                     GError **error);
json_t *cg_admin_cmd_cluster_remove (CgAgent *agent, json_t *args, const char *who,
                                     GError **error);

G_END_DECLS
