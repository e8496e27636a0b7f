/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "common/cg-secure.h"

G_BEGIN_DECLS

/* The backup file: one payload (JSON holding key material and sealed
 * records) encrypted under a passphrase.  All integers big-endian.
 *
 *   offset  size  field
 *        0     8  magic "CGBACKUP"
 *        8     2  format version (1)
 *       10     2  flags (0)
 *       12     4  PBKDF2-HMAC-SHA256 iterations (>= CG_BACKUP_MIN_ITERATIONS)
 *       16    32  salt (random)
 *       48    12  AES-GCM nonce (random)
 *       60     4  summary length S (<= CG_BACKUP_MAX_SUMMARY)
 *       64     S  summary: JSON, no secrets (counts, kids, dates)
 *   64 + S     …  AES-256-GCM ciphertext of the payload, then a 16-byte tag
 *
 * The key is PBKDF2 (passphrase, salt, iterations, 32 bytes).  The whole
 * header (bytes 0 .. 64+S) is the associated data, so the summary that
 * --inspect shows without the passphrase is authenticated at restore:
 * a changed count or kid makes the file fail to open. */
#define CG_BACKUP_MAGIC "CGBACKUP"
#define CG_BACKUP_FORMAT 1
#define CG_BACKUP_HEADER_FIXED 64
#define CG_BACKUP_TAG_LEN 16
/* OWASP's 2023 figure for PBKDF2-HMAC-SHA256; about 0.3 s here. */
#define CG_BACKUP_ITERATIONS 600000
#define CG_BACKUP_MIN_ITERATIONS 600000
/* An upper bound, so that a crafted header cannot keep a restore busy. */
#define CG_BACKUP_MAX_ITERATIONS 20000000
#define CG_BACKUP_MAX_SUMMARY (64 * 1024)
#define CG_BACKUP_MAX_FILE (64 * 1024 * 1024)
#define CG_BACKUP_MIN_PASSPHRASE 8
#define CG_BACKUP_MAX_PASSPHRASE 1024

/* Encrypt @payload (JSON text) with @summary in the clear header.
 * @iterations 0 means CG_BACKUP_ITERATIONS.  Returns the whole file
 * (transfer full; not secret). */
GBytes *cg_backup_seal (const char *passphrase, json_t *summary, const CgBuf *payload,
                        guint32 iterations, GError **error);

/* Parse and check the header only: magic, version, sizes.  On success
 * gives the summary (transfer full, nullable out) and the format version.
 * Errors (CG_ERROR_INVALID, CG_ERROR_UNSUPPORTED) say in words what is
 * wrong: not a backup, a newer format, truncated. */
gboolean cg_backup_read_header (const guint8 *data, gsize len, json_t **summary,
                                guint *format, guint32 *iterations, GError **error);

/* The header checks, then decrypt.  A wrong passphrase and a changed byte
 * are the same CG_ERROR_DECRYPT (GCM cannot tell them apart). */
CgBuf *cg_backup_open (const guint8 *data, gsize len, const char *passphrase,
                       json_t **summary, GError **error);

G_END_DECLS
