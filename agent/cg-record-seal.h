/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "common/cg-secure.h"

G_BEGIN_DECLS

/* The secret part of a stored record, sealed with AES-256-GCM under a
 * master key.  The record's name and version are the associated data, so a
 * sealed blob moved to another row or version does not open.  Two formats:
 *   0x01 || nonce (12) || ciphertext || tag (16)
 *        the first master key (id "0"); AD "credgate-record-v1" NUL name NUL
 *        version.  What every agent wrote before master key ids, and what
 *        it still writes while its master key is "0".
 *   0x02 || idlen (1) || master key id || nonce (12) || ciphertext || tag
 *        any other master key (key rotate --all makes them); AD
 *        "credgate-record-v2" NUL id NUL name NUL version, so a blob whose
 *        id is swapped for another does not open under either key.
 * A master key id is "0" or 1 to 64 characters of A-Z a-z 0-9 _ -. */
#define CG_RECORD_MASTER_KEY_LEN 32
#define CG_RECORD_MASTER_ID_MAX 64
#define CG_RECORD_MASTER_FIRST "0"

gboolean cg_record_master_id_valid (const char *mkid);
/* The keyring item's kid of master key @mkid: "" for "0" (the item every
 * agent had before ids), else the id itself (borrowed from @mkid or static). */
const char *cg_record_master_keyring_kid (const char *mkid);
/* A new random master key id (transfer full). */
char *cg_record_master_id_new (void);

GBytes *cg_record_seal (const CgBuf *master, const char *mkid, const char *name,
                        gint64 version, const guint8 *plaintext, gsize len);
/* The master key id @blob names ("0" for format 0x01), or NULL when it is
 * malformed (transfer full). */
char *cg_record_master_id (const guint8 *blob, gsize len);
/* NULL (CG_ERROR_DECRYPT) if the blob is malformed, names another master
 * key id than @mkid, or does not open. */
CgBuf *cg_record_open (const CgBuf *master, const char *mkid, const char *name, gint64 version,
                       const guint8 *blob, gsize len, GError **error);

G_END_DECLS
