/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The backup file format: PBKDF2-HMAC-SHA256 and AES-256-GCM (nettle),
 * the header as associated data.  See cg-backup.h for the layout. */
#include "config.h"

#include "admin/cg-backup.h"
#include "common/cg-error.h"
#include "common/cg-json.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/gcm.h>
#include <nettle/pbkdf2.h>
#include <string.h>

#define SALT_LEN 32
#define NONCE_LEN 12
#define KEY_LEN 32
#define OFF_VERSION 8
#define OFF_FLAGS 10
#define OFF_ITER 12
#define OFF_SALT 16
#define OFF_NONCE 48
#define OFF_SUMLEN 60

static void
put_be16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v & 0xff;
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = (v >> 16) & 0xff;
  p[2] = (v >> 8) & 0xff;
  p[3] = v & 0xff;
}

static guint16
get_be16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static guint32
get_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static CgBuf *
derive_key (const char *passphrase, const guint8 *salt, guint32 iterations)
{
  CgBuf *key = cg_buf_new (KEY_LEN);
  pbkdf2_hmac_sha256 (strlen (passphrase), (const guint8 *) passphrase, iterations, SALT_LEN,
                      salt, KEY_LEN, key->data);
  return key;
}

GBytes *
cg_backup_seal (const char *passphrase, json_t *summary, const CgBuf *payload,
                guint32 iterations, GError **error)
{
  if (iterations == 0)
    iterations = CG_BACKUP_ITERATIONS;
  gsize plen = strlen (passphrase);
  if (plen < CG_BACKUP_MIN_PASSPHRASE || plen > CG_BACKUP_MAX_PASSPHRASE)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the passphrase must be %d to %d characters", CG_BACKUP_MIN_PASSPHRASE,
                   CG_BACKUP_MAX_PASSPHRASE);
      return NULL;
    }
  if (iterations < CG_BACKUP_MIN_ITERATIONS || iterations > CG_BACKUP_MAX_ITERATIONS)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "iterations out of range: %u",
                   iterations);
      return NULL;
    }
  /* The summary records the payload's size, so that a truncated file is
   * told apart from a wrong passphrase before any key derivation. */
  json_object_set_new (summary, "payloadBytes", json_integer ((json_int_t) payload->len));
  g_autofree char *sum = cg_json_dump (summary);
  gsize slen = strlen (sum);
  if (slen > CG_BACKUP_MAX_SUMMARY)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_TOO_LARGE, "backup summary too large");
      return NULL;
    }
  gsize hlen = CG_BACKUP_HEADER_FIXED + slen;
  gsize total = hlen + payload->len + CG_BACKUP_TAG_LEN;
  if (total > CG_BACKUP_MAX_FILE)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE, "the backup would be over %d MiB",
                   CG_BACKUP_MAX_FILE / (1024 * 1024));
      return NULL;
    }

  guint8 *out = g_malloc0 (total);
  memcpy (out, CG_BACKUP_MAGIC, 8);
  put_be16 (out + OFF_VERSION, CG_BACKUP_FORMAT);
  put_be16 (out + OFF_FLAGS, 0);
  put_be32 (out + OFF_ITER, iterations);
  if (gnutls_rnd (GNUTLS_RND_RANDOM, out + OFF_SALT, SALT_LEN) < 0
      || gnutls_rnd (GNUTLS_RND_NONCE, out + OFF_NONCE, NONCE_LEN) < 0)
    {
      g_free (out);
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "no randomness");
      return NULL;
    }
  put_be32 (out + OFF_SUMLEN, (guint32) slen);
  memcpy (out + CG_BACKUP_HEADER_FIXED, sum, slen);

  g_autoptr (CgBuf) key = derive_key (passphrase, out + OFF_SALT, iterations);
  struct gcm_aes256_ctx ctx;
  gcm_aes256_set_key (&ctx, key->data);
  gcm_aes256_set_iv (&ctx, NONCE_LEN, out + OFF_NONCE);
  gcm_aes256_update (&ctx, hlen, out);
  gcm_aes256_encrypt (&ctx, payload->len, out + hlen, payload->data);
  gcm_aes256_digest (&ctx, CG_BACKUP_TAG_LEN, out + hlen + payload->len);
  cg_wipe (&ctx, sizeof ctx);
  return g_bytes_new_take (out, total);
}

gboolean
cg_backup_read_header (const guint8 *data, gsize len, json_t **summary, guint *format,
                       guint32 *iterations_out, GError **error)
{
  if (len < 8 || memcmp (data, CG_BACKUP_MAGIC, 8) != 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "not a credgate backup file (no CGBACKUP header)");
      return FALSE;
    }
  if (len < CG_BACKUP_HEADER_FIXED)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the backup file is truncated (its header is incomplete)");
      return FALSE;
    }
  guint version = get_be16 (data + OFF_VERSION);
  if (version > CG_BACKUP_FORMAT)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_UNSUPPORTED,
                   "the backup file has format %u, made by a newer credgate; this one "
                   "reads format %d (upgrade credgate to restore it)",
                   version, CG_BACKUP_FORMAT);
      return FALSE;
    }
  if (version != CG_BACKUP_FORMAT || get_be16 (data + OFF_FLAGS) != 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the backup file's header is damaged (format %u, flags %u)", version,
                   get_be16 (data + OFF_FLAGS));
      return FALSE;
    }
  guint32 iterations = get_be32 (data + OFF_ITER);
  if (iterations < CG_BACKUP_MIN_ITERATIONS || iterations > CG_BACKUP_MAX_ITERATIONS)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the backup file's header is damaged (%u KDF iterations)", iterations);
      return FALSE;
    }
  guint32 slen = get_be32 (data + OFF_SUMLEN);
  if (slen > CG_BACKUP_MAX_SUMMARY)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the backup file's header is damaged (summary too long)");
      return FALSE;
    }
  if (len < CG_BACKUP_HEADER_FIXED + (gsize) slen + CG_BACKUP_TAG_LEN)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the backup file is truncated");
      return FALSE;
    }
  g_autoptr (GError) local = NULL;
  json_t *sum = cg_json_load_strict ((const char *) data + CG_BACKUP_HEADER_FIXED, slen, &local);
  if (!sum || !json_is_object (sum))
    {
      if (sum)
        json_decref (sum);
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the backup file's header is damaged (its summary is not JSON)");
      return FALSE;
    }
  json_int_t pbytes = json_integer_value (json_object_get (sum, "payloadBytes"));
  gsize expect = CG_BACKUP_HEADER_FIXED + (gsize) slen + (gsize) pbytes + CG_BACKUP_TAG_LEN;
  if (pbytes < 0 || pbytes > CG_BACKUP_MAX_FILE || len < expect)
    {
      json_decref (sum);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the backup file is truncated (%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                   " bytes)",
                   len, expect);
      return FALSE;
    }
  if (len > expect)
    {
      json_decref (sum);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the backup file has %" G_GSIZE_FORMAT " bytes of unexpected trailing data",
                   len - expect);
      return FALSE;
    }
  if (format)
    *format = version;
  if (iterations_out)
    *iterations_out = iterations;
  if (summary)
    *summary = sum;
  else
    json_decref (sum);
  return TRUE;
}

CgBuf *
cg_backup_open (const guint8 *data, gsize len, const char *passphrase, json_t **summary,
                GError **error)
{
  json_t *sum = NULL;
  if (!cg_backup_read_header (data, len, &sum, NULL, NULL, error))
    return NULL;

  gsize hlen = CG_BACKUP_HEADER_FIXED + get_be32 (data + OFF_SUMLEN);
  gsize ct_len = len - hlen - CG_BACKUP_TAG_LEN;
  g_autoptr (CgBuf) key = derive_key (passphrase, data + OFF_SALT, get_be32 (data + OFF_ITER));
  CgBuf *plain = cg_buf_new (ct_len);
  guint8 tag[CG_BACKUP_TAG_LEN];
  struct gcm_aes256_ctx ctx;
  gcm_aes256_set_key (&ctx, key->data);
  gcm_aes256_set_iv (&ctx, NONCE_LEN, data + OFF_NONCE);
  gcm_aes256_update (&ctx, hlen, data);
  gcm_aes256_decrypt (&ctx, ct_len, plain->data, data + hlen);
  gcm_aes256_digest (&ctx, CG_BACKUP_TAG_LEN, tag);
  cg_wipe (&ctx, sizeof ctx);
  if (!cg_equal_ct (tag, data + hlen + ct_len, CG_BACKUP_TAG_LEN))
    {
      cg_buf_free (plain);
      json_decref (sum);
      /* GCM cannot tell a wrong passphrase from a changed byte; the
       * header checks above already caught truncation and other formats. */
      g_set_error_literal (error, CG_ERROR, CG_ERROR_DECRYPT,
                           "cannot open the backup: wrong passphrase, or the file was "
                           "changed or truncated");
      return NULL;
    }
  if (summary)
    *summary = sum;
  else
    json_decref (sum);
  return plain;
}
