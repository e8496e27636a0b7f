/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CgSealKey: a P-256 sealing key, its RFC 7638 thumbprint and its JWK form.
 * Immutable after creation, so one key may be used from many threads. */
#include "config.h"

#include "jose/cg-jwk.h"

#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"
#include "jose/cg-b64.h"
#include "jose/cg-jwk-private.h"
#include "jose/cg-p256.h"

#include <nettle/sha2.h>
#include <string.h>

struct CgSealKey
{
  guint8 x[CG_P256_LEN];
  guint8 y[CG_P256_LEN];
  guint8 d[CG_P256_LEN];
  gboolean has_private;
  char *kid;
};

char *
cg_jwk_thumbprint_p256 (const guint8 *x, const guint8 *y)
{
  g_autofree char *bx = cg_b64url_encode (x, CG_P256_LEN);
  g_autofree char *by = cg_b64url_encode (y, CG_P256_LEN);
  g_autofree char *canonical = NULL;
  guint8 digest[SHA256_DIGEST_SIZE];
  struct sha256_ctx ctx;

  /* RFC 7638 §3.2: the required members only, in lexicographic order, no
   * whitespace.  base64url needs no JSON escaping. */
  canonical = g_strdup_printf ("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                               bx, by);
  sha256_init (&ctx);
  sha256_update (&ctx, strlen (canonical), (const guint8 *) canonical);
  sha256_digest (&ctx, sizeof digest, digest);
  return cg_b64url_encode (digest, sizeof digest);
}

static CgSealKey *
seal_key_new (const guint8 *x, const guint8 *y, const guint8 *d)
{
  CgSealKey *key = g_atomic_rc_box_new0 (CgSealKey);

  memcpy (key->x, x, CG_P256_LEN);
  memcpy (key->y, y, CG_P256_LEN);
  if (d)
    {
      memcpy (key->d, d, CG_P256_LEN);
      key->has_private = TRUE;
    }
  key->kid = cg_jwk_thumbprint_p256 (x, y);
  return key;
}

static void
seal_key_clear (gpointer data)
{
  CgSealKey *key = data;

  cg_wipe (key->d, sizeof key->d);
  g_free (key->kid);
}

CgSealKey *
cg_seal_key_generate (GError **error)
{
  guint8 d[CG_P256_LEN], x[CG_P256_LEN], y[CG_P256_LEN];
  CgSealKey *key;

  if (!cg_p256_generate (d, x, y))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED,
                           "cannot generate a sealing key: random generator failed");
      return NULL;
    }
  key = seal_key_new (x, y, d);
  cg_wipe (d, sizeof d);
  return key;
}

CgSealKey *
cg_seal_key_new_from_private (const guint8 *d, gsize len, GError **error)
{
  guint8 x[CG_P256_LEN], y[CG_P256_LEN];

  g_return_val_if_fail (d != NULL || len == 0, NULL);

  if (len != CG_P256_LEN)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "a P-256 private key must be %d bytes, not %" G_GSIZE_FORMAT, CG_P256_LEN, len);
      return NULL;
    }
  if (!cg_p256_public_from_private (d, x, y))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the P-256 private key is out of range");
      return NULL;
    }
  return seal_key_new (x, y, d);
}

/* A base64url member of exactly CG_P256_LEN bytes.  Returns FALSE with
 * @error set when malformed; *present says whether it was there at all. */
static gboolean
jwk_get_coordinate (json_t *jwk, const char *name, guint8 *out, gboolean *present,
                    GError **error)
{
  json_t *value = json_object_get (jwk, name);
  g_autofree guint8 *raw = NULL;
  gsize raw_len = 0;

  *present = value != NULL;
  if (!value)
    return TRUE;
  if (json_is_string (value))
    raw = cg_b64url_decode (json_string_value (value), json_string_length (value), &raw_len);
  if (!raw || raw_len != CG_P256_LEN)
    {
      if (raw)
        cg_wipe (raw, raw_len);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "JWK field \"%s\" must be %d bytes of canonical base64url", name, CG_P256_LEN);
      return FALSE;
    }
  memcpy (out, raw, CG_P256_LEN);
  cg_wipe (raw, raw_len);
  return TRUE;
}

static gboolean
jwk_check_string (json_t *jwk, const char *name, const char *want, GError **error)
{
  json_t *value = json_object_get (jwk, name);

  if (!value)
    return TRUE;
  if (!json_is_string (value) || !g_str_equal (json_string_value (value), want))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_UNSUPPORTED, "JWK field \"%s\" must be \"%s\"", name,
                   want);
      return FALSE;
    }
  return TRUE;
}

CgSealKey *
cg_seal_key_new_from_jwk (json_t *jwk, GError **error)
{
  /* "alg", "use" and "key_ops" are what JOSE tools add to a key they make;
   * anything else means the JWK is not what we think it is. */
  static const char *const allowed[] = { "kty", "crv", "x", "y", "d", "kid", "use", "alg",
                                         "key_ops", NULL };
  guint8 x[CG_P256_LEN], y[CG_P256_LEN], d[CG_P256_LEN];
  gboolean has_x, has_y, has_d;
  g_autoptr (CgSealKey) key = NULL;
  json_t *value, *kid;
  const char *name;

  if (!json_is_object (jwk))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "a JWK must be a JSON object");
      return NULL;
    }
  json_object_foreach (jwk, name, value)
    {
      if (!g_strv_contains (allowed, name))
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "unknown JWK field \"%s\"", name);
          return NULL;
        }
    }
  if (!json_object_get (jwk, "kty") || !json_object_get (jwk, "crv"))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "JWK needs \"kty\" and \"crv\"");
      return NULL;
    }
  if (!jwk_check_string (jwk, "kty", "EC", error) || !jwk_check_string (jwk, "crv", "P-256", error)
      || !jwk_check_string (jwk, "use", "enc", error)
      || !jwk_check_string (jwk, "alg", "ECDH-ES", error))
    return NULL;
  value = json_object_get (jwk, "key_ops");
  if (value && !json_is_array (value))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "JWK field \"key_ops\" must be an array");
      return NULL;
    }

  if (!jwk_get_coordinate (jwk, "x", x, &has_x, error)
      || !jwk_get_coordinate (jwk, "y", y, &has_y, error))
    return NULL;
  if (!has_x || !has_y)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "JWK needs \"x\" and \"y\"");
      return NULL;
    }
  if (!cg_p256_point_valid (x, y))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "JWK point is not on the P-256 curve");
      return NULL;
    }

  if (!jwk_get_coordinate (jwk, "d", d, &has_d, error))
    return NULL;
  if (has_d)
    {
      guint8 dx[CG_P256_LEN], dy[CG_P256_LEN];
      gboolean ok = cg_p256_public_from_private (d, dx, dy);

      /* A "d" that does not belong to x and y would open nothing sealed to
       * the kid we advertise. */
      if (!ok || !cg_equal_ct (dx, x, CG_P256_LEN) || !cg_equal_ct (dy, y, CG_P256_LEN))
        {
          cg_wipe (d, sizeof d);
          g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                               "JWK private key does not match its public key");
          return NULL;
        }
    }
  key = seal_key_new (x, y, has_d ? d : NULL);
  cg_wipe (d, sizeof d);

  kid = json_object_get (jwk, "kid");
  if (kid && (!json_is_string (kid) || !g_str_equal (json_string_value (kid), key->kid)))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "JWK \"kid\" is not the RFC 7638 thumbprint of the key");
      return NULL;
    }
  return g_steal_pointer (&key);
}

CgSealKey *
cg_seal_key_ref (CgSealKey *key)
{
  g_return_val_if_fail (key != NULL, NULL);
  return g_atomic_rc_box_acquire (key);
}

void
cg_seal_key_unref (CgSealKey *key)
{
  if (key)
    g_atomic_rc_box_release_full (key, seal_key_clear);
}

gboolean
cg_seal_key_has_private (CgSealKey *key)
{
  g_return_val_if_fail (key != NULL, FALSE);
  return key->has_private;
}

const char *
cg_seal_key_get_kid (CgSealKey *key)
{
  g_return_val_if_fail (key != NULL, NULL);
  return key->kid;
}

json_t *
cg_seal_key_to_public_jwk (CgSealKey *key)
{
  g_autofree char *x = NULL, *y = NULL;

  g_return_val_if_fail (key != NULL, NULL);
  x = cg_b64url_encode (key->x, CG_P256_LEN);
  y = cg_b64url_encode (key->y, CG_P256_LEN);
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", x,
                    "y", y, "kid", key->kid, "use", "enc", "alg", "ECDH-ES");
}

json_t *
cg_seal_key_to_private_jwk (CgSealKey *key)
{
  json_t *jwk;
  char *d;

  g_return_val_if_fail (key != NULL, NULL);
  if (!key->has_private)
    return NULL;
  jwk = cg_seal_key_to_public_jwk (key);
  d = cg_b64url_encode (key->d, CG_P256_LEN);
  json_object_set_new (jwk, "d", json_string (d));
  cg_wipe_str (d);
  return jwk;
}

CgBuf *
cg_seal_key_export_private (CgSealKey *key)
{
  g_return_val_if_fail (key != NULL, NULL);
  if (!key->has_private)
    return NULL;
  return cg_buf_new_copy (key->d, CG_P256_LEN);
}

void
cg_seal_key_get_public (CgSealKey *key, const guint8 **x, const guint8 **y)
{
  *x = key->x;
  *y = key->y;
}

gboolean
cg_seal_key_agree (CgSealKey *key, const guint8 *px, const guint8 *py, guint8 *z)
{
  if (!key->has_private)
    return FALSE;
  return cg_p256_ecdh (key->d, px, py, z);
}

json_t *
cg_jwk_load_file (const char *path, GError **error)
{
  char *text = NULL;
  gsize len = 0;
  if (!cg_file_read_capped (path, CG_JWK_FILE_MAX, &text, &len, error))
    return NULL;
  json_t *jwk = cg_json_load_strict (text, len, error);
  cg_wipe (text, len);
  g_free (text);
  if (!jwk)
    g_prefix_error (error, "%s: ", path);
  return jwk;
}

CgSealKey *
cg_seal_key_load_file (const char *path, GError **error)
{
  json_auto_t *jwk = cg_jwk_load_file (path, error);
  if (!jwk)
    return NULL;
  CgSealKey *key = cg_seal_key_new_from_jwk (jwk, error);
  if (!key)
    g_prefix_error (error, "%s is not a P-256 sealing key: ", path);
  return key;
}
