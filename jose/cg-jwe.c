/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The EncryptedCredential format: JWE compact serialization with
 * alg=ECDH-ES, enc=A256GCM on P-256 (RFC 7516, RFC 7518 §4.6, §5.3).
 *
 * "apu" and "apv" are refused rather than supported: we never send them,
 * and the allowlist stays smaller; PartyUInfo and PartyVInfo are therefore
 * always empty in the Concat KDF. */
#include "config.h"

#include "jose/cg-jwe.h"

#include "common/cg-error.h"
#include "common/cg-json.h"
#include "jose/cg-b64.h"
#include "jose/cg-jwk-private.h"
#include "jose/cg-p256.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/base64.h>
#include <nettle/gcm.h>
#include <nettle/sha2.h>
#include <string.h>

#define IV_LEN 12
#define TAG_LEN 16
#define CEK_LEN 32
/* Values echoed in error messages come from the sender; keep them short. */
#define MAX_ECHO_LEN 40

/* A parsed JWE; every pointer into the input is borrowed from it. */
typedef struct
{
  json_t *header;
  const char *protected_b64; /* the AAD */
  gsize protected_len;
  const char *kid; /* borrowed from header */
  const char *ctx; /* borrowed from header, nullable */
  guint8 epk_x[CG_P256_LEN];
  guint8 epk_y[CG_P256_LEN];
  guint8 iv[IV_LEN];
  guint8 tag[TAG_LEN];
  guint8 *ciphertext;
  gsize ciphertext_len;
} JweParts;

static void
jwe_parts_clear (JweParts *parts)
{
  g_clear_pointer (&parts->header, json_decref);
  g_clear_pointer (&parts->ciphertext, g_free);
}

/* Quote a sender-chosen string for an error message, or say it cannot be
 * shown, so a message never carries control characters or a whole blob. */
static char *
echo_value (const char *s)
{
  gsize len = strlen (s);

  if (len == 0 || len > MAX_ECHO_LEN)
    return g_strdup ("(not shown)");
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isgraph (s[i]) || s[i] == '"' || s[i] == '\\')
      return g_strdup ("(not shown)");
  return g_strdup_printf ("\"%s\"", s);
}

/* RFC 7518 §4.6.2 Concat KDF with SHA-256, for enc=A256GCM: keydatalen is
 * 256 bits, one hash round, so the counter is always 1. */
static void
concat_kdf_a256gcm (const guint8 *z, guint8 *cek)
{
  static const guint8 counter[4] = { 0, 0, 0, 1 };
  static const guint8 algorithm_id[4 + 7] = { 0, 0, 0, 7, 'A', '2', '5', '6', 'G', 'C', 'M' };
  static const guint8 party_infos[4 + 4] = { 0 }; /* empty PartyUInfo, PartyVInfo */
  static const guint8 supp_pub_info[4] = { 0, 0, 1, 0 }; /* 256 */
  struct sha256_ctx ctx;

  G_STATIC_ASSERT (SHA256_DIGEST_SIZE == CEK_LEN);
  sha256_init (&ctx);
  sha256_update (&ctx, sizeof counter, counter);
  sha256_update (&ctx, CG_P256_LEN, z);
  sha256_update (&ctx, sizeof algorithm_id, algorithm_id);
  sha256_update (&ctx, sizeof party_infos, party_infos);
  sha256_update (&ctx, sizeof supp_pub_info, supp_pub_info);
  sha256_digest (&ctx, CEK_LEN, cek);
  cg_wipe (&ctx, sizeof ctx);
}

static gboolean
decode_fixed (const char *text, gsize text_len, guint8 *out, gsize want, const char *what,
              GError **error)
{
  g_autofree guint8 *raw = NULL;
  gsize raw_len = 0;

  raw = cg_b64url_decode (text, text_len, &raw_len);
  if (!raw || raw_len != want)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "JWE %s must be %" G_GSIZE_FORMAT " bytes of canonical base64url", what, want);
      return FALSE;
    }
  memcpy (out, raw, want);
  return TRUE;
}

static gboolean
check_header_members (json_t *header, GError **error)
{
  static const char *const allowed[] = { "alg", "enc", "kid", "epk", "ctx", "typ", "cty", NULL };
  /* Named so the error says "not allowed" rather than "unknown": these are
   * real JOSE features we deliberately refuse. */
  static const char *const refused[] = { "zip", "crit", "jku", "jwk", "x5u", "x5c", "x5t",
                                         "x5t#S256", "apu", "apv", "p2s", "p2c", "iv", "tag",
                                         "skid", NULL };
  const char *name;
  json_t *value;

  json_object_foreach (header, name, value)
    {
      if (g_strv_contains (allowed, name))
        continue;
      g_autofree char *shown = echo_value (name);
      if (g_strv_contains (refused, name))
        g_set_error (error, CG_ERROR, CG_ERROR_UNSUPPORTED, "JWE header field %s is not allowed",
                     shown);
      else
        g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "unknown JWE header field %s", shown);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_header_string (json_t *header, const char *name, gboolean required, const char **out,
                     GError **error)
{
  json_t *value = json_object_get (header, name);

  if (out)
    *out = NULL;
  if (!value && !required)
    return TRUE;
  if (!json_is_string (value))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   value ? "JWE header field \"%s\" must be a string"
                         : "JWE header field \"%s\" is missing",
                   name);
      return FALSE;
    }
  if (out)
    *out = json_string_value (value);
  return TRUE;
}

static gboolean
check_epk (json_t *header, JweParts *parts, GError **error)
{
  json_t *epk = json_object_get (header, "epk");
  const char *kty, *crv, *x, *y;
  json_error_t jerr;

  if (!json_is_object (epk))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "JWE header field \"epk\" must be an object");
      return FALSE;
    }
  if (json_unpack_ex (epk, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:s}", "kty", &kty, "crv", &crv,
                      "x", &x, "y", &y)
      < 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "JWE \"epk\" must hold exactly the strings kty, crv, x and y");
      return FALSE;
    }
  if (!g_str_equal (kty, "EC") || !g_str_equal (crv, "P-256"))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_UNSUPPORTED,
                           "JWE \"epk\" must be an EC key on P-256");
      return FALSE;
    }
  return decode_fixed (x, strlen (x), parts->epk_x, CG_P256_LEN, "\"epk\" x", error)
         && decode_fixed (y, strlen (y), parts->epk_y, CG_P256_LEN, "\"epk\" y", error);
}

static gboolean
parse_header (const char *b64, gsize b64_len, JweParts *parts, GError **error)
{
  g_autofree guint8 *raw = NULL;
  const char *alg, *enc;
  gsize raw_len = 0;

  raw = cg_b64url_decode (b64, b64_len, &raw_len);
  if (!raw)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "JWE protected header is not canonical base64url");
      return FALSE;
    }
  parts->header = cg_json_load_strict ((const char *) raw, raw_len, error);
  if (!parts->header)
    {
      g_prefix_error (error, "JWE protected header is not valid JSON: ");
      return FALSE;
    }
  if (!json_is_object (parts->header))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "JWE protected header must be a JSON object");
      return FALSE;
    }

  /* alg and enc first: for a JWE of another kind, saying so is the
   * clearest message. */
  if (!check_header_string (parts->header, "alg", TRUE, &alg, error))
    return FALSE;
  if (!g_str_equal (alg, "ECDH-ES"))
    {
      g_autofree char *shown = echo_value (alg);
      g_set_error (error, CG_ERROR, CG_ERROR_UNSUPPORTED, "unsupported JWE algorithm %s", shown);
      return FALSE;
    }
  if (!check_header_string (parts->header, "enc", TRUE, &enc, error))
    return FALSE;
  if (!g_str_equal (enc, "A256GCM"))
    {
      g_autofree char *shown = echo_value (enc);
      g_set_error (error, CG_ERROR, CG_ERROR_UNSUPPORTED, "unsupported JWE encryption %s", shown);
      return FALSE;
    }
  return check_header_members (parts->header, error)
         && check_header_string (parts->header, "kid", TRUE, &parts->kid, error)
         && check_header_string (parts->header, "ctx", FALSE, &parts->ctx, error)
         && check_header_string (parts->header, "typ", FALSE, NULL, error)
         && check_header_string (parts->header, "cty", FALSE, NULL, error)
         && check_epk (parts->header, parts, error);
}

/* Everything cg_jwe_peek promises: form, allowlist, sizes; no key use. */
static gboolean
jwe_parse (const char *jwe, gsize len, JweParts *parts, GError **error)
{
  const char *part[5];
  gsize part_len[5];
  const char *start = jwe;
  guint n = 0;

  if (len > CG_JWE_MAX_LEN)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE, "JWE is larger than %u bytes",
                   (guint) CG_JWE_MAX_LEN);
      return FALSE;
    }
  for (gsize i = 0; i <= len; i++)
    {
      if (i < len && jwe[i] != '.')
        continue;
      if (n == G_N_ELEMENTS (part))
        {
          n++;
          break;
        }
      part[n] = start;
      part_len[n] = jwe + i - start;
      n++;
      start = jwe + i + 1;
    }
  if (n != G_N_ELEMENTS (part))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "a JWE must have five parts separated by dots");
      return FALSE;
    }
  if (part_len[1] != 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_UNSUPPORTED,
                           "JWE encrypted key must be empty (ECDH-ES direct key agreement)");
      return FALSE;
    }
  if (!parse_header (part[0], part_len[0], parts, error))
    return FALSE;
  parts->protected_b64 = part[0];
  parts->protected_len = part_len[0];

  if (!decode_fixed (part[2], part_len[2], parts->iv, IV_LEN, "initialization vector", error)
      || !decode_fixed (part[4], part_len[4], parts->tag, TAG_LEN, "authentication tag", error))
    return FALSE;

  /* Bound before decoding, then check the exact size. */
  if (part_len[3] > BASE64_ENCODE_RAW_LENGTH (CG_JWE_MAX_PLAINTEXT))
    goto too_large;
  parts->ciphertext = cg_b64url_decode (part[3], part_len[3], &parts->ciphertext_len);
  if (!parts->ciphertext)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "JWE ciphertext is not canonical base64url");
      return FALSE;
    }
  if (parts->ciphertext_len > CG_JWE_MAX_PLAINTEXT)
    goto too_large;
  return TRUE;

too_large:
  g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE, "JWE ciphertext is larger than %u bytes",
               (guint) CG_JWE_MAX_PLAINTEXT);
  return FALSE;
}

gboolean
cg_jwe_peek (const char *jwe, gsize len, char **kid, char **ctx, GError **error)
{
  JweParts parts = { 0 };

  g_return_val_if_fail (jwe != NULL || len == 0, FALSE);

  if (kid)
    *kid = NULL;
  if (ctx)
    *ctx = NULL;
  if (!jwe_parse (jwe ? jwe : "", len, &parts, error))
    {
      jwe_parts_clear (&parts);
      return FALSE;
    }
  if (kid)
    *kid = g_strdup (parts.kid);
  if (ctx)
    *ctx = g_strdup (parts.ctx);
  jwe_parts_clear (&parts);
  return TRUE;
}

char *
cg_jwe_seal (CgSealKey *recipient, const char *ctx, const guint8 *plaintext, gsize len,
             GError **error)
{
  guint8 eph_d[CG_P256_LEN], eph_x[CG_P256_LEN], eph_y[CG_P256_LEN];
  guint8 z[CG_P256_LEN], cek[CEK_LEN], iv[IV_LEN], tag[TAG_LEN];
  g_autofree char *epk_x = NULL, *epk_y = NULL, *header_json = NULL, *header_b64 = NULL;
  g_autofree char *iv_b64 = NULL, *ct_b64 = NULL, *tag_b64 = NULL;
  g_autofree guint8 *ciphertext = NULL;
  json_auto_t *header = NULL;
  struct gcm_aes256_ctx gcm;
  const guint8 *rx, *ry;
  gboolean agreed;
  char *out;

  g_return_val_if_fail (recipient != NULL, NULL);
  g_return_val_if_fail (plaintext != NULL || len == 0, NULL);

  if (len > CG_JWE_MAX_PLAINTEXT)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE, "a value to seal must be at most %u bytes",
                   (guint) CG_JWE_MAX_PLAINTEXT);
      return NULL;
    }
  if (ctx && !g_utf8_validate (ctx, -1, NULL))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "JWE ctx must be UTF-8");
      return NULL;
    }

  /* A fresh ephemeral key for every value (RFC 7518 §4.6). */
  if (!cg_p256_generate (eph_d, eph_x, eph_y))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED,
                           "cannot seal: random generator failed");
      return NULL;
    }
  cg_seal_key_get_public (recipient, &rx, &ry);
  agreed = cg_p256_ecdh (eph_d, rx, ry, z);
  cg_wipe (eph_d, sizeof eph_d);
  if (!agreed)
    {
      /* Every CgSealKey holds a validated point, so this is a bug. */
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "cannot seal: key agreement failed");
      return NULL;
    }
  concat_kdf_a256gcm (z, cek);
  cg_wipe (z, sizeof z);

  epk_x = cg_b64url_encode (eph_x, CG_P256_LEN);
  epk_y = cg_b64url_encode (eph_y, CG_P256_LEN);
  header = json_pack ("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "alg", "ECDH-ES", "enc",
                      "A256GCM", "kid", cg_seal_key_get_kid (recipient), "epk", "kty", "EC",
                      "crv", "P-256", "x", epk_x, "y", epk_y);
  if (header && ctx)
    json_object_set_new (header, "ctx", json_string (ctx));
  header_json = header ? json_dumps (header, JSON_COMPACT) : NULL;
  if (!header_json)
    {
      cg_wipe (cek, sizeof cek);
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "cannot build the JWE header");
      return NULL;
    }
  header_b64 = cg_b64url_encode ((const guint8 *) header_json, strlen (header_json));

  if (gnutls_rnd (GNUTLS_RND_NONCE, iv, sizeof iv) < 0)
    {
      cg_wipe (cek, sizeof cek);
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED,
                           "cannot seal: random generator failed");
      return NULL;
    }

  ciphertext = g_malloc (len + 1);
  gcm_aes256_set_key (&gcm, cek);
  gcm_aes256_set_iv (&gcm, sizeof iv, iv);
  /* The AAD is the ASCII of the encoded header (RFC 7516 §5.1 step 14). */
  gcm_aes256_update (&gcm, strlen (header_b64), (const guint8 *) header_b64);
  gcm_aes256_encrypt (&gcm, len, ciphertext, plaintext);
  gcm_aes256_digest (&gcm, sizeof tag, tag);
  cg_wipe (&gcm, sizeof gcm);
  cg_wipe (cek, sizeof cek);

  iv_b64 = cg_b64url_encode (iv, sizeof iv);
  ct_b64 = cg_b64url_encode (ciphertext, len);
  tag_b64 = cg_b64url_encode (tag, sizeof tag);
  out = g_strconcat (header_b64, "..", iv_b64, ".", ct_b64, ".", tag_b64, NULL);
  if (strlen (out) > CG_JWE_MAX_LEN)
    {
      /* Only a huge ctx gets here; never hand out what we would refuse. */
      g_free (out);
      g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE, "the JWE would be larger than %u bytes",
                   (guint) CG_JWE_MAX_LEN);
      return NULL;
    }
  return out;
}

CgBuf *
cg_jwe_open (CgSealKey *key, const char *jwe, gsize len, const char *expected_ctx,
             GError **error)
{
  g_autoptr (CgBuf) plaintext = NULL;
  guint8 z[CG_P256_LEN] = { 0 }, cek[CEK_LEN], tag[TAG_LEN];
  struct gcm_aes256_ctx gcm;
  JweParts parts = { 0 };
  gboolean ok;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (jwe != NULL || len == 0, NULL);

  if (!cg_seal_key_has_private (key))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "cannot open a JWE with a public-only sealing key");
      return NULL;
    }
  if (!jwe_parse (jwe ? jwe : "", len, &parts, error))
    goto out;
  if (!g_str_equal (parts.kid, cg_seal_key_get_kid (key)))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "JWE \"kid\" does not match the sealing key");
      goto out;
    }
  if (!cg_p256_point_valid (parts.epk_x, parts.epk_y))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "JWE \"epk\" is not a point on the P-256 curve");
      goto out;
    }

  /* From the key operation on, every failure is the same opaque error:
   * the caller must not learn which step failed. */
  ok = cg_seal_key_agree (key, parts.epk_x, parts.epk_y, z);
  concat_kdf_a256gcm (z, cek);
  cg_wipe (z, sizeof z);

  plaintext = cg_buf_new (parts.ciphertext_len);
  gcm_aes256_set_key (&gcm, cek);
  gcm_aes256_set_iv (&gcm, IV_LEN, parts.iv);
  gcm_aes256_update (&gcm, parts.protected_len, (const guint8 *) parts.protected_b64);
  gcm_aes256_decrypt (&gcm, parts.ciphertext_len, plaintext->data, parts.ciphertext);
  gcm_aes256_digest (&gcm, TAG_LEN, tag);
  cg_wipe (&gcm, sizeof gcm);
  cg_wipe (cek, sizeof cek);

  ok = cg_equal_ct (tag, parts.tag, TAG_LEN) && ok;
  /* A value bound to a context opens only where that context is named,
   * and an unbound one only where none is (README.md,
   * "credgate-encrypt-value", context binding). */
  if (g_strcmp0 (parts.ctx, expected_ctx) != 0)
    ok = FALSE;
  if (!ok)
    {
      g_clear_pointer (&plaintext, cg_buf_free); /* wipes */
      g_set_error_literal (error, CG_ERROR, CG_ERROR_DECRYPT, "cannot decrypt");
    }

out:
  jwe_parts_clear (&parts);
  return g_steal_pointer (&plaintext);
}
