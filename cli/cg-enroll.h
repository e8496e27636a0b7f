/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "protocol/cg-client.h"

G_BEGIN_DECLS

/* A client certificate for one agent, kept under $XDG_CONFIG_HOME/credgate/
 * as client-HOST_PORT.crt and client-HOST_PORT.key (0600), written
 * atomically.  @ext is "crt" or "key" (transfer full). */
char *cg_enroll_default_path (const char *host, guint port, const char *ext);

/* Enroll with the one-time @code over the pinned @client: make a P-256 key
 * pair, send a CSR for it (CN: this host's name) to POST /v1/enroll, check
 * that the certificate that comes back is for that key, and write
 * certificate and key to @cert_path and @key_path.  Returns the reply
 * ({"name","serial","fingerprint","expires",...}) (transfer full). */
json_t *cg_enroll_run (CgClient *client, const char *code, const char *cert_path,
                       const char *key_path, GError **error);

/* Use the certificate at @cert_path and @key_path for @client if both are
 * there: TRUE and set; FALSE without error when neither exists; FALSE with
 * an error when one is missing, the key is open to other users, or they do
 * not belong together. */
gboolean cg_enroll_use_files (CgClient *client, const char *cert_path, const char *key_path,
                              GError **error);

G_END_DECLS
