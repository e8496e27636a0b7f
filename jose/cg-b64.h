/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* base64url without padding (RFC 7515 §2), on nettle's codec.  Decoding is
 * strict: no padding, no whitespace, no non-canonical trailing bits. */
char *cg_b64url_encode (const guint8 *data, gsize len);                  /* (transfer full) */
/* Returns NULL on malformed input; *out_len receives the length.  The
 * result is NUL-terminated one past *out_len. */
guint8 *cg_b64url_decode (const char *text, gsize text_len, gsize *out_len);

G_END_DECLS
