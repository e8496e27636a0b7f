/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-agent.h"

#include <jansson.h>

G_BEGIN_DECLS

/* The admin socket's client-certificate commands (entries of cg-admin.c's
 * table).
 *   client.enroll  {name, expiresSeconds?, validitySeconds?} → {name, code,
 *                  codeExpires, validitySeconds}: the code is shown once
 *   client.list    → cg_vault_client_list
 *   client.revoke  {name}: every certificate of the name, and its pending
 *                  code; effective on the next request */
json_t *cg_admin_cmd_client_enroll (CgAgent *agent, json_t *args, const char *who,
                                    GError **error);
json_t *cg_admin_cmd_client_list (CgAgent *agent, json_t *args, const char *who,
                                  GError **error);
json_t *cg_admin_cmd_client_revoke (CgAgent *agent, json_t *args, const char *who,
                                    GError **error);

/* An optional positive integer member @key of @args, @fallback when
 * absent; FALSE with the error if it is something else. */
gboolean cg_admin_get_seconds (json_t *args, const char *key, gint64 fallback, gint64 *out,
                               GError **error);

G_END_DECLS
