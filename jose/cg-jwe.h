/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "common/cg-secure.h"
#include "jose/cg-jwk.h"

G_BEGIN_DECLS

/* The EncryptedCredential format (README.md, "What it is"): JWE compact
 * serialization, alg=ECDH-ES, enc=A256GCM, P-256, kid = RFC 7638 thumbprint of the
 * recipient's public key, optional "ctx" header that must match at open.
 * Built on nettle; nothing outside the allowlist reaches a key operation. */

/* Upper bound on a compact JWE we accept (and on what we produce). */
#define CG_JWE_MAX_LEN (256 * 1024)
/* Upper bound on a plaintext we seal. */
#define CG_JWE_MAX_PLAINTEXT (64 * 1024)

/* Seal @plaintext to @recipient; @ctx (nullable) is bound in the protected
 * header.  Returns the compact serialization (transfer full). */
char *cg_jwe_seal (CgSealKey *recipient, const char *ctx, const guint8 *plaintext, gsize len,
                   GError **error);

/* Check the form and the header allowlist without any key operation:
 * five parts, canonical base64url, alg/enc/epk/kid present and allowed, no
 * zip/crit/jku/jwk/x5u/x5c/x5t, no unknown header fields, sizes bounded.
 * On success gives the kid and ctx (either may be NULL if not wanted). */
gboolean cg_jwe_peek (const char *jwe, gsize len, char **kid, char **ctx, GError **error);

/* Open @jwe with @key (which must hold the private part and whose kid must
 * match).  The header's ctx must equal @expected_ctx: a value bound to a
 * context opens only when that context is named, one without a ctx only
 * when @expected_ctx is NULL.  Every failure after the key operation is the
 * same CG_ERROR_DECRYPT "cannot decrypt" error. */
CgBuf *cg_jwe_open (CgSealKey *key, const char *jwe, gsize len, const char *expected_ctx,
                    GError **error);

G_END_DECLS
