/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-record-seal.h"
#include "common/cg-error.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/gcm.h>
#include <string.h>

#define FORMAT_V1 0x01
#define FORMAT_V2 0x02
#define NONCE_LEN 12
#define TAG_LEN 16

gboolean
cg_record_master_id_valid (const char *mkid)
{
  gsize len = mkid ? strlen (mkid) : 0;
  return len > 0 && len <= CG_RECORD_MASTER_ID_MAX
         && strspn (mkid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
                == len;
}

const char *
cg_record_master_keyring_kid (const char *mkid)
{
  return g_str_equal (mkid, CG_RECORD_MASTER_FIRST) ? "" : mkid;
}

char *
cg_record_master_id_new (void)
{
  /* 12 random bytes, base64url: 16 characters, never "0". */
  guint8 raw[12];
  if (gnutls_rnd (GNUTLS_RND_NONCE, raw, sizeof raw) < 0)
    g_error ("no randomness for a key id");
  char *id = g_base64_encode (raw, sizeof raw);
  for (char *c = id; *c; c++)
    *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
  return id;
}

static GBytes *
associated_data (const char *mkid, const char *name, gint64 version)
{
  /* "credgate-record-v1" NUL name NUL version, or "credgate-record-v2"
   * NUL id NUL name NUL version: unambiguous since neither holds a NUL. */
  g_autofree char *v = g_strdup_printf ("%" G_GINT64_FORMAT, version);
  GByteArray *a = g_byte_array_new ();
  if (g_str_equal (mkid, CG_RECORD_MASTER_FIRST))
    g_byte_array_append (a, (const guint8 *) "credgate-record-v1", 19);
  else
    {
      g_byte_array_append (a, (const guint8 *) "credgate-record-v2", 19);
      g_byte_array_append (a, (const guint8 *) mkid, strlen (mkid) + 1);
    }
  g_byte_array_append (a, (const guint8 *) name, strlen (name) + 1);
  g_byte_array_append (a, (const guint8 *) v, strlen (v));
  return g_byte_array_free_to_bytes (a);
}

/* The length of the header before the nonce, and the id it names
 * (transfer full), or 0 when @blob is malformed. */
static gsize
parse_header (const guint8 *blob, gsize len, char **mkid)
{
  if (len >= 1 + NONCE_LEN + TAG_LEN && blob[0] == FORMAT_V1)
    {
      *mkid = g_strdup (CG_RECORD_MASTER_FIRST);
      return 1;
    }
  if (len < 2 || blob[0] != FORMAT_V2 || blob[1] == 0 || blob[1] > CG_RECORD_MASTER_ID_MAX
      || len < (gsize) 2 + blob[1] + NONCE_LEN + TAG_LEN)
    return 0;
  char *id = g_strndup ((const char *) blob + 2, blob[1]);
  if (strlen (id) != blob[1] || !cg_record_master_id_valid (id)
      || g_str_equal (id, CG_RECORD_MASTER_FIRST))
    {
      g_free (id);
      return 0;
    }
  *mkid = id;
  return 2 + blob[1];
}

GBytes *
cg_record_seal (const CgBuf *master, const char *mkid, const char *name, gint64 version,
                const guint8 *plaintext, gsize len)
{
  struct gcm_aes256_ctx ctx;
  g_assert (master->len == CG_RECORD_MASTER_KEY_LEN && cg_record_master_id_valid (mkid));
  gboolean first = g_str_equal (mkid, CG_RECORD_MASTER_FIRST);
  gsize head = first ? 1 : 2 + strlen (mkid);
  g_autoptr (GBytes) ad = associated_data (mkid, name, version);
  gsize blob_len = head + NONCE_LEN + len + TAG_LEN;
  guint8 *blob = g_malloc (blob_len);

  blob[0] = first ? FORMAT_V1 : FORMAT_V2;
  if (!first)
    {
      blob[1] = (guint8) strlen (mkid);
      memcpy (blob + 2, mkid, blob[1]);
    }
  guint8 *nonce = blob + head;
  if (gnutls_rnd (GNUTLS_RND_NONCE, nonce, NONCE_LEN) < 0)
    g_error ("no randomness for a nonce");
  gcm_aes256_set_key (&ctx, master->data);
  gcm_aes256_set_iv (&ctx, NONCE_LEN, nonce);
  gcm_aes256_update (&ctx, g_bytes_get_size (ad), g_bytes_get_data (ad, NULL));
  gcm_aes256_encrypt (&ctx, len, nonce + NONCE_LEN, plaintext);
  gcm_aes256_digest (&ctx, TAG_LEN, nonce + NONCE_LEN + len);
  cg_wipe (&ctx, sizeof ctx);
  return g_bytes_new_take (blob, blob_len);
}

char *
cg_record_master_id (const guint8 *blob, gsize len)
{
  char *mkid = NULL;
  return parse_header (blob, len, &mkid) ? mkid : NULL;
}

CgBuf *
cg_record_open (const CgBuf *master, const char *mkid, const char *name, gint64 version,
                const guint8 *blob, gsize len, GError **error)
{
  g_autofree char *named = NULL;
  gsize head = parse_header (blob, len, &named);
  if (!head || !g_str_equal (named, mkid) || master->len != CG_RECORD_MASTER_KEY_LEN)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_DECRYPT, "cannot open the stored record");
      return NULL;
    }
  struct gcm_aes256_ctx ctx;
  g_autoptr (GBytes) ad = associated_data (mkid, name, version);
  const guint8 *nonce = blob + head;
  gsize ct_len = len - head - NONCE_LEN - TAG_LEN;
  guint8 tag[TAG_LEN];
  CgBuf *plain = cg_buf_new (ct_len);

  gcm_aes256_set_key (&ctx, master->data);
  gcm_aes256_set_iv (&ctx, NONCE_LEN, nonce);
  gcm_aes256_update (&ctx, g_bytes_get_size (ad), g_bytes_get_data (ad, NULL));
  gcm_aes256_decrypt (&ctx, ct_len, plain->data, nonce + NONCE_LEN);
  gcm_aes256_digest (&ctx, TAG_LEN, tag);
  cg_wipe (&ctx, sizeof ctx);
  gboolean ok = cg_equal_ct (tag, nonce + NONCE_LEN + ct_len, TAG_LEN);
  if (!ok)
    {
      cg_buf_free (plain);
      g_set_error_literal (error, CG_ERROR, CG_ERROR_DECRYPT, "cannot open the stored record");
      return NULL;
    }
  return plain;
}
