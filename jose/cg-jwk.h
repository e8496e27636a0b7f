/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "common/cg-secure.h"

G_BEGIN_DECLS

/* CgSealKey (cg-jwk.c): the key an EncryptedCredential is sealed to, and
 * its JWK form.  cg-jwe.h seals and opens with it. */

/* A P-256 sealing key: public part always, private scalar optional. */
typedef struct CgSealKey CgSealKey;

CgSealKey *cg_seal_key_generate (GError **error);                         /* (transfer full) */
/* From the 32-byte big-endian private scalar; the public point is derived. */
CgSealKey *cg_seal_key_new_from_private (const guint8 *d, gsize len, GError **error);
/* From a JWK object (kty EC, crv P-256, x, y, optional d); points are
 * validated to lie on the curve.  "kid", if present, must match the
 * thumbprint. */
CgSealKey *cg_seal_key_new_from_jwk (json_t *jwk, GError **error);
CgSealKey *cg_seal_key_ref (CgSealKey *key);
void cg_seal_key_unref (CgSealKey *key);                                   /* wipes d */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgSealKey, cg_seal_key_unref)

gboolean cg_seal_key_has_private (CgSealKey *key);
/* RFC 7638 SHA-256 thumbprint, base64url without padding (borrowed). */
const char *cg_seal_key_get_kid (CgSealKey *key);
/* {"kty","crv","x","y","kid","use":"enc","alg":"ECDH-ES"} (transfer full). */
json_t *cg_seal_key_to_public_jwk (CgSealKey *key);
/* A JWK file, for every program that reads one (credgate-encrypt-value
 * --key, credgatectl escrow add and restore --recipient-key, the agent's
 * escrow recipients): at most CG_JWK_FILE_MAX bytes, strict JSON, the text
 * wiped after parsing (it may hold "d").  Errors name @path.
 * (transfer full) */
#define CG_JWK_FILE_MAX (64 * 1024)
json_t *cg_jwk_load_file (const char *path, GError **error);
/* cg_jwk_load_file, then cg_seal_key_new_from_jwk.  (transfer full) */
CgSealKey *cg_seal_key_load_file (const char *path, GError **error);
/* The public JWK plus "d" (transfer full; caller must not log it). */
json_t *cg_seal_key_to_private_jwk (CgSealKey *key);
/* The 32-byte private scalar (transfer full, wiped on free); NULL without one. */
CgBuf *cg_seal_key_export_private (CgSealKey *key);

G_END_DECLS
