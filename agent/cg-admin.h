/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-agent.h"

G_BEGIN_DECLS

/* The admin socket (see cg-admin-proto.h): mode 0600, peer uid checked on
 * every connection, served on its own threads. */
typedef struct CgAdmin CgAdmin;

/* Before anything else at start: refuse a path another running agent
 * serves, remove one a dead agent left. */
gboolean cg_admin_claim_path (const char *path, GError **error);
CgAdmin *cg_admin_start (CgAgent *agent, const char *path, GError **error);
void cg_admin_stop (CgAdmin *admin);

/* Answer one decoded request (exposed for tests).  @who names the peer for
 * the audit log.  Returns {"result":…} or {"error":…} (transfer full). */
json_t *cg_admin_handle (CgAgent *agent, json_t *request, const char *who);

G_END_DECLS
