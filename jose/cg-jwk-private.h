/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "jose/cg-jwk.h"

G_BEGIN_DECLS

/* Internal to jose/: what cg-jwe.c needs of a CgSealKey without making
 * the private scalar reachable from outside the library. */

/* RFC 7638 thumbprint of a P-256 public key (transfer full). */
char *cg_jwk_thumbprint_p256 (const guint8 *x, const guint8 *y);
/* The 32-byte public coordinates (borrowed, valid while @key lives). */
void cg_seal_key_get_public (CgSealKey *key, const guint8 **x, const guint8 **y);
/* ECDH of the key's private scalar with (px, py) into @z (32 bytes);
 * FALSE without a private part or if the point is not on the curve. */
gboolean cg_seal_key_agree (CgSealKey *key, const guint8 *px, const guint8 *py, guint8 *z);

G_END_DECLS
