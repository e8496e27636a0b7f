/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* NIST P-256 on nettle, on 32-byte big-endian buffers so no GMP type leaks
 * out of this file.  Scalars and shared secrets are wiped after use. */
#define CG_P256_LEN 32

/* TRUE when (x, y) is a point on the curve (coordinates below p). */
gboolean cg_p256_point_valid (const guint8 *x, const guint8 *y);
/* A fresh key pair from gnutls_rnd (GNUTLS_RND_KEY); FALSE if the RNG failed. */
gboolean cg_p256_generate (guint8 *d, guint8 *x, guint8 *y);
/* The public point d·G; FALSE unless 0 < d < n. */
gboolean cg_p256_public_from_private (const guint8 *d, guint8 *x, guint8 *y);
/* ECDH: z = x coordinate of d·P; FALSE if d is out of range or P is not on
 * the curve. */
gboolean cg_p256_ecdh (const guint8 *d, const guint8 *px, const guint8 *py, guint8 *z);

/* ECDSA (nettle's ecdsa_sign, k from gnutls_rnd) over a message digest:
 * the signature is r || s, CG_P256_LEN bytes each (JWS ES256's form).
 * FALSE if d is out of range or the RNG failed. */
gboolean cg_p256_sign (const guint8 *d, const guint8 *digest, gsize digest_len, guint8 *sig);
/* TRUE when @sig (r || s) is a valid signature of @digest by (x, y). */
gboolean cg_p256_verify (const guint8 *x, const guint8 *y, const guint8 *digest,
                         gsize digest_len, const guint8 *sig);

G_END_DECLS
