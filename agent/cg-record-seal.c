/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-record-seal.h"
#include "common/cg-error.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/gcm.h>
#include <string.h>

#define FORMAT_V1 0x01
#define NONCE_LEN 12
#define TAG_LEN 16

static GBytes *
associated_data (const char *name, gint64 version)
{
  /* "credgate-record-v1" NUL name NUL version: unambiguous since names
   * hold no NUL. */
  g_autofree char *v = g_strdup_printf ("%" G_GINT64_FORMAT, version);
  GByteArray *a = g_byte_array_new ();
  g_byte_array_append (a, (const guint8 *) "credgate-record-v1", 19);
  g_byte_array_append (a, (const guint8 *) name, strlen (name) + 1);
  g_byte_array_append (a, (const guint8 *) v, strlen (v));
  return g_byte_array_free_to_bytes (a);
}

GBytes *
cg_record_seal (const CgBuf *master, const char *name, gint64 version, const guint8 *plaintext,
                gsize len)
{
  struct gcm_aes256_ctx ctx;
  g_autoptr (GBytes) ad = associated_data (name, version);
  gsize blob_len = 1 + NONCE_LEN + len + TAG_LEN;
  guint8 *blob = g_malloc (blob_len);

  g_assert (master->len == CG_RECORD_MASTER_KEY_LEN);
  blob[0] = FORMAT_V1;
  if (gnutls_rnd (GNUTLS_RND_NONCE, blob + 1, NONCE_LEN) < 0)
    g_error ("no randomness for a nonce");
  gcm_aes256_set_key (&ctx, master->data);
  gcm_aes256_set_iv (&ctx, NONCE_LEN, blob + 1);
  gcm_aes256_update (&ctx, g_bytes_get_size (ad), g_bytes_get_data (ad, NULL));
  gcm_aes256_encrypt (&ctx, len, blob + 1 + NONCE_LEN, plaintext);
  gcm_aes256_digest (&ctx, TAG_LEN, blob + 1 + NONCE_LEN + len);
  cg_wipe (&ctx, sizeof ctx);
  return g_bytes_new_take (blob, blob_len);
}

CgBuf *
cg_record_open (const CgBuf *master, const char *name, gint64 version, const guint8 *blob,
                gsize len, GError **error)
{
  if (len < 1 + NONCE_LEN + TAG_LEN || blob[0] != FORMAT_V1 || master->len != 32)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_DECRYPT, "cannot open the stored record");
      return NULL;
    }
  struct gcm_aes256_ctx ctx;
  g_autoptr (GBytes) ad = associated_data (name, version);
  gsize ct_len = len - 1 - NONCE_LEN - TAG_LEN;
  guint8 tag[TAG_LEN];
  CgBuf *plain = cg_buf_new (ct_len);

  gcm_aes256_set_key (&ctx, master->data);
  gcm_aes256_set_iv (&ctx, NONCE_LEN, blob + 1);
  gcm_aes256_update (&ctx, g_bytes_get_size (ad), g_bytes_get_data (ad, NULL));
  gcm_aes256_decrypt (&ctx, ct_len, plain->data, blob + 1 + NONCE_LEN);
  gcm_aes256_digest (&ctx, TAG_LEN, tag);
  cg_wipe (&ctx, sizeof ctx);
  gboolean ok = cg_equal_ct (tag, blob + 1 + NONCE_LEN + ct_len, TAG_LEN);
  if (!ok)
    {
      cg_buf_free (plain);
      g_set_error_literal (error, CG_ERROR, CG_ERROR_DECRYPT, "cannot open the stored record");
      return NULL;
    }
  return plain;
}
