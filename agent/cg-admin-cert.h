/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-agent.h"
#include "certs/cg-cert.h"

#include <jansson.h>

G_BEGIN_DECLS

/* The admin socket's certificate commands (entries of cg-admin.c's table).
 *   cert.show                   {current, next}: each as cg_admin_cert_describe
 *   cert.check / cert.install   {chain, key | pkcs12, passphrase?, force?, stage?}
 *                               (files base64); check changes nothing
 *   cert.generate               {keyType?, days?}
 *   cert.export                 {pem, pin} of the served chain
 *   cert.activate               serve the staged pair */
json_t *cg_admin_cmd_cert_show (CgAgent *agent, json_t *args, const char *who, GError **error);
json_t *cg_admin_cmd_cert_check (CgAgent *agent, json_t *args, const char *who, GError **error);
json_t *cg_admin_cmd_cert_install (CgAgent *agent, json_t *args, const char *who, GError **error);
json_t *cg_admin_cmd_cert_generate (CgAgent *agent, json_t *args, const char *who, GError **error);
json_t *cg_admin_cmd_cert_export (CgAgent *agent, json_t *args, const char *who, GError **error);
json_t *cg_admin_cmd_cert_activate (CgAgent *agent, json_t *args, const char *who, GError **error);

/* subject, issuer, sans, notBefore, notAfter, daysLeft, keyType, pin,
 * selfSigned, chainLength, origin (transfer full). */
json_t *cg_admin_cert_describe (CgCertPair *pair, const char *origin);

G_END_DECLS
