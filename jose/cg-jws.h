/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "jose/cg-jwk.h"

G_BEGIN_DECLS

/* JWS compact serialization (RFC 7515), ES256 only, for documents credgate
 * signs about itself (the escrow manifest).  The protected header is
 * exactly {"alg": "ES256", "typ": TYP, "jwk": {"kty", "crv", "x", "y"}}:
 * the signer's public key travels with the signature, and a verifier
 * trusts it only when its RFC 7638 thumbprint is the one it expects. */
#define CG_JWS_MAX_LEN (1024 * 1024)

/* Sign @payload with @key (a P-256 key with its private part).  Returns the
 * compact serialization (transfer full). */
char *cg_jws_sign (CgSealKey *key, const char *typ, const guint8 *payload, gsize len,
                   GError **error);

/* Check the form, the header (alg, typ, jwk and nothing else), that the
 * header's key has the thumbprint @thumbprint (base64url, as
 * cg_seal_key_get_kid gives) and that the signature verifies.  Returns the
 * payload (transfer full).  @signer (nullable out) receives the header
 * key's thumbprint whether or not it is the expected one, for the error
 * message a caller writes (transfer full). */
GBytes *cg_jws_verify (const char *jws, gsize len, const char *typ, const char *thumbprint,
                       char **signer, GError **error);

G_END_DECLS
