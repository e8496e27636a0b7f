/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JWS ES256 compact serialization on nettle (see cg-jws.h). */
#include "config.h"

#include "jose/cg-jws.h"

#include "common/cg-error.h"
#include "common/cg-json.h"
#include "jose/cg-b64.h"
#include "jose/cg-jwk-private.h"
#include "jose/cg-p256.h"

#include <nettle/sha2.h>
#include <string.h>

#define SIG_LEN (2 * CG_P256_LEN)

static void
digest_of (const char *data, gsize len, guint8 *digest)
{
  struct sha256_ctx ctx;
  sha256_init (&ctx);
  sha256_update (&ctx, len, (const guint8 *) data);
  sha256_digest (&ctx, SHA256_DIGEST_SIZE, digest);
}

char *
cg_jws_sign (CgSealKey *key, const char *typ, const guint8 *payload, gsize len, GError **error)
{
  const guint8 *x, *y;
  g_autoptr (CgBuf) d = cg_seal_key_export_private (key);
  if (!d)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "signing needs a private key");
      return NULL;
    }
  cg_seal_key_get_public (key, &x, &y);
  g_autofree char *bx = cg_b64url_encode (x, CG_P256_LEN);
  g_autofree char *by = cg_b64url_encode (y, CG_P256_LEN);
  json_auto_t *header = json_pack ("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "alg", "ES256", "typ",
                                   typ, "jwk", "kty", "EC", "crv", "P-256", "x", bx, "y", by);
  g_autofree char *header_text = cg_json_dump (header);
  g_autofree char *h = cg_b64url_encode ((const guint8 *) header_text, strlen (header_text));
  g_autofree char *p = cg_b64url_encode (payload, len);
  g_autofree char *input = g_strconcat (h, ".", p, NULL);
  guint8 digest[SHA256_DIGEST_SIZE], sig[SIG_LEN];
  digest_of (input, strlen (input), digest);
  if (!cg_p256_sign (d->data, digest, sizeof digest, sig))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED,
                           "cannot sign: the key is out of range or the random generator "
                           "failed");
      return NULL;
    }
  g_autofree char *s = cg_b64url_encode (sig, sizeof sig);
  return g_strconcat (input, ".", s, NULL);
}

static GBytes *
malformed (GError **error, const char *what)
{
  g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "the signed document is malformed: %s", what);
  return NULL;
}

GBytes *
cg_jws_verify (const char *jws, gsize len, const char *typ, const char *thumbprint,
               char **signer, GError **error)
{
  if (signer)
    *signer = NULL;
  if (len > CG_JWS_MAX_LEN || memchr (jws, '\0', len))
    return malformed (error, "too long, or not text");
  const char *dot1 = memchr (jws, '.', len);
  const char *dot2 = dot1 ? memchr (dot1 + 1, '.', len - (dot1 + 1 - jws)) : NULL;
  if (!dot1 || !dot2 || memchr (dot2 + 1, '.', len - (dot2 + 1 - jws)))
    return malformed (error, "not three parts");

  gsize hlen = 0, plen = 0, slen = 0;
  g_autofree guint8 *header_raw = cg_b64url_decode (jws, dot1 - jws, &hlen);
  g_autofree guint8 *payload = cg_b64url_decode (dot1 + 1, dot2 - dot1 - 1, &plen);
  g_autofree guint8 *sig = cg_b64url_decode (dot2 + 1, len - (dot2 + 1 - jws), &slen);
  if (!header_raw || !payload || !sig)
    return malformed (error, "a part is not canonical base64url");
  if (slen != SIG_LEN)
    return malformed (error, "the signature is not an ES256 signature");

  g_autoptr (GError) local = NULL;
  json_auto_t *header = cg_json_load_strict ((const char *) header_raw, hlen, &local);
  const char *alg = NULL, *htyp = NULL;
  json_t *jwk = NULL;
  json_error_t jerr;
  if (!header
      || json_unpack_ex (header, &jerr, JSON_STRICT, "{s:s, s:s, s:o}", "alg", &alg, "typ",
                         &htyp, "jwk", &jwk)
             < 0)
    return malformed (error, "its header is not {alg, typ, jwk}");
  if (!g_str_equal (alg, "ES256") || !g_str_equal (htyp, typ))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_UNSUPPORTED,
                   "the signed document is a %s signed with %s, not a %s signed with ES256",
                   htyp, alg, typ);
      return NULL;
    }
  if (json_object_get (jwk, "d"))
    return malformed (error, "its header holds a private key");
  g_autoptr (CgSealKey) key = cg_seal_key_new_from_jwk (jwk, &local);
  if (!key)
    return malformed (error, "its header's key is not a P-256 public key");
  if (signer)
    *signer = g_strdup (cg_seal_key_get_kid (key));
  if (!g_str_equal (cg_seal_key_get_kid (key), thumbprint))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                   "it is signed by the key sha256:%s, not by sha256:%s",
                   cg_seal_key_get_kid (key), thumbprint);
      return NULL;
    }
  const guint8 *x, *y;
  cg_seal_key_get_public (key, &x, &y);
  guint8 digest[SHA256_DIGEST_SIZE];
  digest_of (jws, dot2 - jws, digest);
  if (!cg_p256_verify (x, y, digest, sizeof digest, sig))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                           "its signature does not verify (it was changed after signing)");
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&payload), plen);
}
