/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "certs/cg-cert.h"

G_BEGIN_DECLS

/* STATE_DIR/tls, the agent being its one writer: the served pair
 * (server.crt, server.key), the staged next pair (next.crt, next.key) and
 * "origin" (whether the served pair is one the agent made, which it renews,
 * or an installed one, which it never replaces).  Every change goes through
 * here under one lock, so that the admin socket's threads, SIGHUP and the
 * renewal timer never interleave; each checks a pair completely before it
 * writes a byte, so a refused one changes nothing. */

typedef enum
{
  CG_TLS_ORIGIN_GENERATED,
  CG_TLS_ORIGIN_INSTALLED,
} CgTlsOrigin;

/* At start: the served pair (made on first start, renewed first when it is
 * ours and near its end), set with cg_tls_set_pair; a staged pair is
 * loaded too (a bad one is logged and left out). */
CgCertPair *cg_tls_store_start (const char *state_dir, gboolean *generated, GError **error);

/* cg_cert_pair_validate against this host's names. */
gboolean cg_tls_store_check (CgCertPair *pair, gboolean force, GPtrArray *warnings, GError **error);

/* Write a checked pair and serve it from the next handshake, or with
 * @stage write it as the next pair and publish its pin. */
gboolean cg_tls_store_install (CgCertPair *pair, gboolean stage, GError **error);
/* A pair from a backup, checked as at start (names only warned about),
 * written and served, with the origin it had on the old host (so a
 * self-signed one keeps renewing itself). */
gboolean cg_tls_store_restore (CgCertPair *pair, CgTlsOrigin origin, GPtrArray *warnings,
                               GError **error);
/* A new self-signed pair with a new key, written and served (transfer
 * full); with @stage written as the next pair and its pin published
 * instead, so clients learn it before `cert activate` serves it (and then
 * it is renewed like any self-signed pair of ours). */
CgCertPair *cg_tls_store_generate (CgKeyType type, guint days, gboolean stage, GError **error);
/* Serve the staged pair (transfer full). */
CgCertPair *cg_tls_store_activate (GError **error);

/* SIGHUP: take up a pair another tool wrote into STATE_DIR/tls, checked
 * like an install (names are only warned about); a bad one is logged and
 * the served one stays.  Then as cg_tls_store_maintain. */
void cg_tls_store_reload (void);
/* The timer: renew our own pair CG_CERT_RENEW_DAYS before its end; warn
 * (once a day) about an installed one that close to it. */
void cg_tls_store_maintain (void);

CgTlsOrigin cg_tls_store_get_origin (void);
/* For /v1/info and status: tlsExpiresInDays, tlsOrigin, tlsWarning,
 * nextTlsPin. */
void cg_tls_store_add_info (json_t *info);

G_END_DECLS
