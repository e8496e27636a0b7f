/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "common/cg-secure.h"

G_BEGIN_DECLS

/* The secret part of a stored record, sealed with AES-256-GCM under the
 * master key.  The record's name and version are the associated data, so a
 * sealed blob moved to another row or version does not open.
 *   blob = 0x01 || nonce (12) || ciphertext || tag (16)                    */
#define CG_RECORD_MASTER_KEY_LEN 32

GBytes *cg_record_seal (const CgBuf *master, const char *name, gint64 version,
                        const guint8 *plaintext, gsize len);
/* NULL (CG_ERROR_DECRYPT) if the blob is malformed or does not open. */
CgBuf *cg_record_open (const CgBuf *master, const char *name, gint64 version,
                       const guint8 *blob, gsize len, GError **error);

G_END_DECLS
