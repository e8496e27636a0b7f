/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>

#include "agent/cg-agent.h"

G_BEGIN_DECLS

/* Admin socket commands for backup, restore and escrow (entries in
 * cg-admin.c's command table).  Requests:
 *   backup         {"passphrase"}                 → {"file": B64, "summary"}
 *   restore        {"file": B64, "passphrase", "merge"?, "certificate"?, "tokens"?}
 *                  or {"payload": {…}, "merge"?}  → cg_vault_restore_payload's result
 *                  ("tokens": false leaves the backup's tokens out)
 *   escrow.add     {"jwk": {…}}                   → {"recipient", "keys"}
 *   escrow.status  {}                             → {"recipients": […]}
 * The passphrase and key material travel only on the 0600 admin socket,
 * whose peer uid the agent checks. */
json_t *cg_admin_cmd_backup (CgAgent *agent, json_t *args, const char *who, GError **error);
json_t *cg_admin_cmd_restore (CgAgent *agent, json_t *args, const char *who, GError **error);
json_t *cg_admin_cmd_escrow_add (CgAgent *agent, json_t *args, const char *who,
                                 GError **error);
json_t *cg_admin_cmd_escrow_status (CgAgent *agent, json_t *args, const char *who,
                                    GError **error);

G_END_DECLS
