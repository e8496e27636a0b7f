/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the EncryptedCredential format: jose/cg-jwe, cg-jwk,
 * cg-p256.  Known answers come from RFCs and from the `jose` CLI (see
 * tests/data/jwe/make-fixtures.sh). */
#include "config.h"

#include "jose/cg-jwe.h"

#include "common/cg-error.h"
#include "jose/cg-b64.h"
#include "jose/cg-jws.h"
#include "jose/cg-p256.h"

#include <glib/gstdio.h>
#include <nettle/sha2.h>
#include <string.h>

/* RFC 7515 Appendix A.3 (ES256 example key). */
#define RFC7515_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define RFC7515_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define RFC7515_D "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
/* Its RFC 7638 thumbprint, computed independently:
 *   python3 -c 'import hashlib,base64; s="{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" + X +
 *     "\",\"y\":\"" + Y + "\"}"; print(base64.urlsafe_b64encode(hashlib.sha256(s.encode())
 *     .digest()).decode().rstrip("="))'
 * and `jose jwk thp -a S256` agree. */
#define RFC7515_KID "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"
/* Pieces of JWK text for the refusal cases. */
#define EC_P256 "\"kty\":\"EC\",\"crv\":\"P-256\""
#define XY "\"x\":\"" RFC7515_X "\",\"y\":\"" RFC7515_Y "\""

static guint8 *
b64d (const char *text, gsize *len)
{
  guint8 *raw = cg_b64url_decode (text, strlen (text), len);
  g_assert_nonnull (raw);
  return raw;
}

static char *
data_path (const char *name)
{
  return g_build_filename (CG_TEST_JWE_DATA, name, NULL);
}

static char *
read_data (const char *name)
{
  g_autofree char *path = data_path (name);
  g_autoptr (GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return g_strstrip (text);
}

static CgSealKey *
load_key (const char *name)
{
  g_autofree char *path = data_path (name);
  g_autoptr (GError) error = NULL;
  json_auto_t *jwk = json_load_file (path, JSON_REJECT_DUPLICATES, NULL);
  CgSealKey *key;

  g_assert_nonnull (jwk);
  key = cg_seal_key_new_from_jwk (jwk, &error);
  g_assert_no_error (error);
  return key;
}

static CgSealKey *
new_key (void)
{
  g_autoptr (GError) error = NULL;
  CgSealKey *key = cg_seal_key_generate (&error);

  g_assert_no_error (error);
  g_assert_nonnull (key);
  return key;
}

static char *
seal (CgSealKey *key, const char *ctx, const char *plaintext)
{
  g_autoptr (GError) error = NULL;
  char *jwe = cg_jwe_seal (key, ctx, (const guint8 *) plaintext, strlen (plaintext), &error);

  g_assert_no_error (error);
  g_assert_nonnull (jwe);
  return jwe;
}

static void
assert_opens (CgSealKey *key, const char *jwe, const char *ctx, const char *want)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgBuf) pt = cg_jwe_open (key, jwe, strlen (jwe), ctx, &error);

  g_assert_no_error (error);
  g_assert_nonnull (pt);
  g_assert_cmpmem (pt->data, pt->len, want, strlen (want));
  g_assert_cmpint (pt->data[pt->len], ==, 0);
}

static void
assert_open_fails (CgSealKey *key, const char *jwe, const char *ctx, gint code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgBuf) pt = cg_jwe_open (key, jwe, strlen (jwe), ctx, &error);

  g_assert_null (pt);
  g_assert_error (error, CG_ERROR, code);
  if (code == CG_ERROR_DECRYPT)
    g_assert_cmpstr (error->message, ==, "cannot decrypt");
}

/* Fails in peek (so before any key use) and in open, with the same code. */
static void
assert_refused (CgSealKey *key, const char *jwe, gint code, const char *message_part)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *kid = NULL;

  g_assert_false (cg_jwe_peek (jwe, strlen (jwe), &kid, NULL, &error));
  g_assert_error (error, CG_ERROR, code);
  g_assert_null (kid);
  if (message_part && !strstr (error->message, message_part))
    g_error ("message \"%s\" lacks \"%s\"", error->message, message_part);
  assert_open_fails (key, jwe, NULL, code);
}

/* The five parts of a compact JWE. */
static char **
split (const char *jwe)
{
  char **parts = g_strsplit (jwe, ".", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 5);
  return parts;
}

static json_t *
get_header (const char *jwe)
{
  g_auto (GStrv) parts = split (jwe);
  g_autofree guint8 *raw = NULL;
  gsize len;
  json_t *header;

  raw = b64d (parts[0], &len);
  header = json_loadb ((const char *) raw, len, 0, NULL);
  g_assert_nonnull (header);
  return header;
}

static char *
with_header_text (const char *jwe, const char *header_text)
{
  g_auto (GStrv) parts = split (jwe);

  g_free (parts[0]);
  parts[0] = cg_b64url_encode ((const guint8 *) header_text, strlen (header_text));
  return g_strjoinv (".", parts);
}

static char *
with_header (const char *jwe, json_t *header)
{
  g_autofree char *text = json_dumps (header, JSON_COMPACT);
  return with_header_text (jwe, text);
}

static char *
with_part (const char *jwe, guint index, const char *text)
{
  g_auto (GStrv) parts = split (jwe);

  g_free (parts[index]);
  parts[index] = g_strdup (text);
  return g_strjoinv (".", parts);
}

/* Flip one bit of the decoded bytes of a part and re-encode canonically, so
 * the change gets past the form checks and must be caught by the tag. */
static char *
with_flipped_bit (const char *jwe, guint index, gsize byte)
{
  g_auto (GStrv) parts = split (jwe);
  g_autofree guint8 *raw = NULL;
  g_autofree char *text = NULL;
  gsize len;

  raw = b64d (parts[index], &len);
  g_assert_cmpuint (byte, <, len);
  raw[byte] ^= 0x01;
  text = cg_b64url_encode (raw, len);
  return with_part (jwe, index, text);
}

static void
test_roundtrip (void)
{
  g_autoptr (CgSealKey) key = new_key ();
  g_autofree char *jwe = seal (key, NULL, "s3cret value");
  g_autofree char *jwe2 = seal (key, NULL, "s3cret value");
  g_autoptr (GError) error = NULL;
  g_autofree char *kid = NULL, *ctx = NULL;
  json_auto_t *header = get_header (jwe);

  assert_opens (key, jwe, NULL, "s3cret value");
  /* Fresh ephemeral key and IV each time. */
  g_assert_cmpstr (jwe, !=, jwe2);
  g_assert_true (cg_jwe_peek (jwe, strlen (jwe), &kid, &ctx, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (kid, ==, cg_seal_key_get_kid (key));
  g_assert_null (ctx);
  g_assert_cmpstr (json_string_value (json_object_get (header, "alg")), ==, "ECDH-ES");
  g_assert_cmpstr (json_string_value (json_object_get (header, "enc")), ==, "A256GCM");
  g_assert_null (json_object_get (header, "ctx"));
  g_assert_nonnull (strstr (jwe, "..")); /* empty encrypted key */
}

static void
test_roundtrip_ctx (void)
{
  g_autoptr (CgSealKey) key = new_key ();
  g_autofree char *jwe = seal (key, "linked-sql", "p4ss");
  g_autoptr (GError) error = NULL;
  g_autofree char *ctx = NULL;

  g_assert_true (cg_jwe_peek (jwe, strlen (jwe), NULL, &ctx, &error));
  g_assert_cmpstr (ctx, ==, "linked-sql");
  assert_opens (key, jwe, "linked-sql", "p4ss");
  /* A bound value does not open when no context is named. */
  assert_open_fails (key, jwe, NULL, CG_ERROR_DECRYPT);
}

static void
test_empty_and_max (void)
{
  g_autoptr (CgSealKey) key = new_key ();
  g_autoptr (GError) error = NULL;
  g_autofree char *empty = seal (key, NULL, "");
  g_autofree char *big_text = g_strnfill (CG_JWE_MAX_PLAINTEXT, 'a');
  g_autofree char *big = seal (key, "x", big_text);
  g_autofree char *too_big = NULL;

  assert_opens (key, empty, NULL, "");
  assert_opens (key, big, "x", big_text);
  g_assert_cmpuint (strlen (big), <=, CG_JWE_MAX_LEN);

  too_big = cg_jwe_seal (key, NULL, (const guint8 *) big_text, CG_JWE_MAX_PLAINTEXT + 1, &error);
  g_assert_null (too_big);
  g_assert_error (error, CG_ERROR, CG_ERROR_TOO_LARGE);
}

static void
test_ctx_mismatch (void)
{
  g_autoptr (CgSealKey) key = new_key ();
  g_autofree char *with_ctx = seal (key, "linked-a", "v");
  g_autofree char *without_ctx = seal (key, NULL, "v");

  assert_open_fails (key, with_ctx, "linked-b", CG_ERROR_DECRYPT);
  assert_open_fails (key, with_ctx, "linked-a ", CG_ERROR_DECRYPT);
  assert_open_fails (key, with_ctx, "", CG_ERROR_DECRYPT);
  assert_open_fails (key, without_ctx, "linked-a", CG_ERROR_DECRYPT);
  assert_open_fails (key, without_ctx, "", CG_ERROR_DECRYPT);
  /* Bound: opens only where its context is named (README.md,
   * "credgate-encrypt-value", context binding). */
  assert_open_fails (key, with_ctx, NULL, CG_ERROR_DECRYPT);
  assert_opens (key, with_ctx, "linked-a", "v");
  assert_opens (key, without_ctx, NULL, "v");
}

static void
test_tamper (void)
{
  g_autoptr (CgSealKey) key = new_key ();
  g_autofree char *jwe = seal (key, "ctx-1", "0123456789abcdef");
  json_auto_t *header = get_header (jwe);
  g_autofree char *relabelled = NULL, *respaced = NULL, *hdr_text = NULL;

  assert_opens (key, jwe, "ctx-1", "0123456789abcdef");
  for (gsize byte = 0; byte < 16; byte += 5)
    {
      g_autofree char *ct = with_flipped_bit (jwe, 3, byte);
      g_autofree char *tag = with_flipped_bit (jwe, 4, byte);
      g_autofree char *iv = with_flipped_bit (jwe, 2, byte % 12);

      assert_open_fails (key, ct, "ctx-1", CG_ERROR_DECRYPT);
      assert_open_fails (key, tag, "ctx-1", CG_ERROR_DECRYPT);
      assert_open_fails (key, iv, "ctx-1", CG_ERROR_DECRYPT);
    }

  /* A different ctx in the header is an AAD change: the tag catches it even
   * when the caller does not ask for a ctx. */
  json_object_set_new (header, "ctx", json_string ("ctx-2"));
  relabelled = with_header (jwe, header);
  assert_open_fails (key, relabelled, NULL, CG_ERROR_DECRYPT);
  assert_open_fails (key, relabelled, "ctx-2", CG_ERROR_DECRYPT);

  /* Same JSON meaning, other bytes: still a different AAD. */
  json_object_set_new (header, "ctx", json_string ("ctx-1"));
  hdr_text = json_dumps (header, JSON_INDENT (1));
  respaced = with_header_text (jwe, hdr_text);
  assert_open_fails (key, respaced, "ctx-1", CG_ERROR_DECRYPT);

  /* A different epk (still on the curve) gives another shared secret. */
  {
    g_autoptr (CgSealKey) other = new_key ();
    json_auto_t *other_jwk = cg_seal_key_to_public_jwk (other);
    json_auto_t *h = get_header (jwe);
    g_autofree char *swapped = NULL;
    json_t *epk = json_object_get (h, "epk");

    json_object_set (epk, "x", json_object_get (other_jwk, "x"));
    json_object_set (epk, "y", json_object_get (other_jwk, "y"));
    swapped = with_header (jwe, h);
    assert_open_fails (key, swapped, "ctx-1", CG_ERROR_DECRYPT);
  }
}

static void
test_forbidden_members (void)
{
  static const char *const refused[] = { "zip", "crit", "jku", "jwk", "x5u", "x5c", "x5t",
                                         "x5t#S256", "apu", "apv", "p2s", "p2c" };
  static const char *const unknown[] = { "foo", "ALG", "kid2", "" };
  g_autoptr (CgSealKey) key = new_key ();
  g_autofree char *jwe = seal (key, NULL, "v");

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      json_auto_t *header = get_header (jwe);
      g_autofree char *bad = NULL, *want = NULL;

      json_object_set_new (header, refused[i], json_string ("DEF"));
      bad = with_header (jwe, header);
      want = g_strdup_printf ("JWE header field \"%s\" is not allowed", refused[i]);
      assert_refused (key, bad, CG_ERROR_UNSUPPORTED, want);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (unknown); i++)
    {
      json_auto_t *header = get_header (jwe);
      g_autofree char *bad = NULL;

      json_object_set_new (header, unknown[i], json_true ());
      bad = with_header (jwe, header);
      assert_refused (key, bad, CG_ERROR_INVALID, "unknown JWE header field");
    }

  /* typ and cty are allowed (as strings), and covered by the tag. */
  {
    json_auto_t *header = get_header (jwe);
    g_autofree char *typed = NULL, *bad = NULL;

    json_object_set_new (header, "typ", json_string ("JWE"));
    typed = with_header (jwe, header);
    g_assert_true (cg_jwe_peek (typed, strlen (typed), NULL, NULL, NULL));
    assert_open_fails (key, typed, NULL, CG_ERROR_DECRYPT);

    json_object_set_new (header, "typ", json_integer (1));
    bad = with_header (jwe, header);
    assert_refused (key, bad, CG_ERROR_INVALID, "\"typ\" must be a string");

    json_object_set_new (header, "typ", json_string ("JWE"));
    json_object_set_new (header, "ctx", json_null ());
    g_free (g_steal_pointer (&bad));
    bad = with_header (jwe, header);
    assert_refused (key, bad, CG_ERROR_INVALID, "\"ctx\" must be a string");
  }
}

static void
test_algorithms (void)
{
  static const struct
  {
    const char *member;
    const char *value;
    const char *message;
  } cases[] = {
    { "alg", "none", "unsupported JWE algorithm \"none\"" },
    { "alg", "RSA-OAEP", "unsupported JWE algorithm \"RSA-OAEP\"" },
    { "alg", "ECDH-ES+A256KW", "unsupported JWE algorithm \"ECDH-ES+A256KW\"" },
    { "alg", "dir", "unsupported JWE algorithm \"dir\"" },
    { "alg", "ecdh-es", "unsupported JWE algorithm" },
    { "enc", "A128GCM", "unsupported JWE encryption \"A128GCM\"" },
    { "enc", "A256CBC-HS512", "unsupported JWE encryption" },
  };
  g_autoptr (CgSealKey) key = new_key ();
  g_autofree char *jwe = seal (key, NULL, "v");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      json_auto_t *header = get_header (jwe);
      g_autofree char *bad = NULL;

      json_object_set_new (header, cases[i].member, json_string (cases[i].value));
      bad = with_header (jwe, header);
      assert_refused (key, bad, CG_ERROR_UNSUPPORTED, cases[i].message);
    }

  /* Missing or non-string alg/enc/kid. */
  {
    static const char *const required[] = { "alg", "enc", "kid", "epk" };
    for (gsize i = 0; i < G_N_ELEMENTS (required); i++)
      {
        json_auto_t *header = get_header (jwe);
        g_autofree char *missing = NULL, *wrong_type = NULL;

        json_object_del (header, required[i]);
        missing = with_header (jwe, header);
        assert_refused (key, missing, CG_ERROR_INVALID, required[i]);
        json_object_set_new (header, required[i], json_integer (7));
        wrong_type = with_header (jwe, header);
        assert_refused (key, wrong_type, CG_ERROR_INVALID, required[i]);
      }
  }
}

static void
test_epk (void)
{
  g_autoptr (CgSealKey) key = new_key ();
  g_autofree char *jwe = seal (key, NULL, "v");
  json_auto_t *orig = get_header (jwe);
  const char *x = json_string_value (json_object_get (json_object_get (orig, "epk"), "x"));
  const char *y = json_string_value (json_object_get (json_object_get (orig, "epk"), "y"));
  g_autofree guint8 *yraw = NULL;
  g_autofree char *y_off = NULL;
  gsize ylen;

  /* y + 1 (in the last byte) is not on the curve. */
  yraw = b64d (y, &ylen);
  yraw[ylen - 1] ^= 0x01;
  y_off = cg_b64url_encode (yraw, ylen);

  struct
  {
    const char *epk_json;
    gint code;
  } cases[] = {
    { "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"@X@\",\"y\":\"@Y@\",\"d\":\"AA\"}",
      CG_ERROR_INVALID },
    { "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"@X@\"}", CG_ERROR_INVALID },
    { "{\"kty\":\"RSA\",\"crv\":\"P-256\",\"x\":\"@X@\",\"y\":\"@Y@\"}", CG_ERROR_UNSUPPORTED },
    { "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"@X@\",\"y\":\"@Y@\"}", CG_ERROR_UNSUPPORTED },
    { "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"@X@\",\"y\":\"@Y@\"}", CG_ERROR_UNSUPPORTED },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      json_auto_t *header = json_deep_copy (orig);
      g_autofree char *epk_text = NULL, *bad = NULL;
      g_autoptr (GString) text = g_string_new (cases[i].epk_json);

      g_string_replace (text, "@X@", x, 0);
      g_string_replace (text, "@Y@", y, 0);
      epk_text = g_string_free (g_steal_pointer (&text), FALSE);

      json_object_set_new (header, "epk", json_loads (epk_text, 0, NULL));
      bad = with_header (jwe, header);
      assert_refused (key, bad, cases[i].code, "epk");
    }

  /* Wrong coordinate lengths: 31 bytes, 33 bytes. */
  {
    guint8 short_x[31] = { 1 }, long_x[33] = { 1 };
    const struct
    {
      const guint8 *data;
      gsize len;
    } lens[] = { { short_x, sizeof short_x }, { long_x, sizeof long_x } };

    for (gsize i = 0; i < G_N_ELEMENTS (lens); i++)
      {
        json_auto_t *header = json_deep_copy (orig);
        g_autofree char *bx = cg_b64url_encode (lens[i].data, lens[i].len);
        g_autofree char *bad = NULL;

        json_object_set_new (json_object_get (header, "epk"), "x", json_string (bx));
        bad = with_header (jwe, header);
        assert_refused (key, bad, CG_ERROR_INVALID, "epk");
      }
  }

  /* Off the curve: passes the form checks, refused before the key
   * operation with INVALID (not the opaque decrypt error). */
  {
    json_auto_t *header = json_deep_copy (orig);
    g_autofree char *bad = NULL;

    json_object_set_new (json_object_get (header, "epk"), "y", json_string (y_off));
    bad = with_header (jwe, header);
    g_assert_true (cg_jwe_peek (bad, strlen (bad), NULL, NULL, NULL));
    assert_open_fails (key, bad, NULL, CG_ERROR_INVALID);
  }
  /* Coordinates at or above p are refused too: x = 2^256 - 1. */
  {
    json_auto_t *header = json_deep_copy (orig);
    guint8 ff[32];
    g_autofree char *bx = NULL, *bad = NULL;

    memset (ff, 0xff, sizeof ff);
    bx = cg_b64url_encode (ff, sizeof ff);
    json_object_set_new (json_object_get (header, "epk"), "x", json_string (bx));
    bad = with_header (jwe, header);
    assert_open_fails (key, bad, NULL, CG_ERROR_INVALID);
  }
}

static void
test_form (void)
{
  g_autoptr (CgSealKey) key = new_key ();
  g_autofree char *jwe = seal (key, NULL, "value");
  g_auto (GStrv) parts = split (jwe);
  g_autofree char *four = g_strjoin (".", parts[0], parts[1], parts[2], parts[3], NULL);
  g_autofree char *six = g_strconcat (jwe, ".", NULL);
  g_autofree char *with_key = with_part (jwe, 1, "AAAA");
  g_autofree char *short_iv = with_part (jwe, 2, "AAAAAAAAAAA");
  g_autofree char *short_tag = with_part (jwe, 4, "AAAAAAAAAAAAAAAAAAAA");
  g_autofree char *padded_iv = NULL, *padded_ct = NULL, *space_tag = NULL;
  g_autofree char *noncanon_tag = NULL, *bad_char = NULL, *dup = NULL, *array = NULL;
  g_autofree char *not_json = NULL, *trailing = NULL;
  json_auto_t *header = get_header (jwe);
  g_autofree char *header_text = json_dumps (header, JSON_COMPACT);

  assert_refused (key, four, CG_ERROR_INVALID, "five parts");
  assert_refused (key, six, CG_ERROR_INVALID, "five parts");
  assert_refused (key, "", CG_ERROR_INVALID, "five parts");
  assert_refused (key, "....", CG_ERROR_INVALID, NULL);
  assert_refused (key, with_key, CG_ERROR_UNSUPPORTED, "encrypted key");
  assert_refused (key, short_iv, CG_ERROR_INVALID, "initialization vector");
  assert_refused (key, short_tag, CG_ERROR_INVALID, "authentication tag");

  /* Non-canonical base64url anywhere. */
  {
    g_autofree char *iv = g_strconcat (parts[2], "=", NULL);
    g_autofree char *ct = g_strconcat (parts[3], "==", NULL);
    g_autofree char *tag = g_strconcat (" ", parts[4], NULL);
    g_autofree char *tag2 = g_strdup (parts[4]);
    g_autofree char *hdr = g_strdup (parts[0]);

    padded_iv = with_part (jwe, 2, iv);
    padded_ct = with_part (jwe, 3, ct);
    space_tag = with_part (jwe, 4, tag);
    /* 16 bytes encode to 22 characters; the last carries 2 unused bits. */
    g_assert_cmpuint (strlen (tag2), ==, 22);
    tag2[21] = tag2[21] == 'A' ? 'B' : (char) (tag2[21] ^ 0x01);
    noncanon_tag = with_part (jwe, 4, tag2);
    hdr[3] = '+';
    bad_char = with_part (jwe, 0, hdr);
  }
  assert_refused (key, padded_iv, CG_ERROR_INVALID, "initialization vector");
  assert_refused (key, padded_ct, CG_ERROR_INVALID, "ciphertext");
  assert_refused (key, space_tag, CG_ERROR_INVALID, "authentication tag");
  assert_refused (key, bad_char, CG_ERROR_INVALID, "protected header");
  {
    /* The flipped character may or may not leave the unused bits zero; if
     * it does the tag is simply wrong.  Either way it must not open. */
    g_autoptr (GError) error = NULL;
    g_autoptr (CgBuf) pt = cg_jwe_open (key, noncanon_tag, strlen (noncanon_tag), NULL, &error);
    g_assert_null (pt);
    g_assert_nonnull (error);
  }
  {
    /* "AAAAAAAAAAAAAAAAAAAAAB" would be 16 bytes with a stray low bit. */
    g_autofree char *stray = with_part (jwe, 4, "AAAAAAAAAAAAAAAAAAAAAB");
    assert_refused (key, stray, CG_ERROR_INVALID, "authentication tag");
  }

  /* Header JSON: duplicates, wrong type, garbage, trailing data. */
  {
    g_autofree char *dup_text = g_strdup_printf ("{\"alg\":\"ECDH-ES\",%s", header_text + 1);
    dup = with_header_text (jwe, dup_text);
    array = with_header_text (jwe, "[1,2]");
    not_json = with_header_text (jwe, "{\"alg\":");
    trailing = g_strconcat (header_text, "{}", NULL);
    g_free (g_steal_pointer (&trailing));
    trailing = with_header_text (jwe, "{\"alg\":\"ECDH-ES\"} {}");
  }
  assert_refused (key, dup, CG_ERROR_INVALID, "not valid JSON");
  assert_refused (key, array, CG_ERROR_INVALID, "JSON object");
  assert_refused (key, not_json, CG_ERROR_INVALID, "not valid JSON");
  assert_refused (key, trailing, CG_ERROR_INVALID, "not valid JSON");

  /* An embedded NUL ends nothing: the length is what counts. */
  {
    g_autoptr (GError) error = NULL;
    g_autofree char *copy = g_strdup (jwe);
    copy[10] = '\0';
    g_assert_false (cg_jwe_peek (copy, strlen (jwe), NULL, NULL, &error));
    g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  }
}

static void
test_wrong_kid (void)
{
  g_autoptr (CgSealKey) a = new_key ();
  g_autoptr (CgSealKey) b = new_key ();
  g_autofree char *jwe = seal (a, NULL, "v");
  json_auto_t *header = get_header (jwe);
  g_autofree char *relabelled = NULL;

  assert_open_fails (b, jwe, NULL, CG_ERROR_INVALID);
  /* Claiming b's kid gets past the check but not the key agreement. */
  json_object_set_new (header, "kid", json_string (cg_seal_key_get_kid (b)));
  relabelled = with_header (jwe, header);
  assert_open_fails (b, relabelled, NULL, CG_ERROR_DECRYPT);
  assert_open_fails (a, relabelled, NULL, CG_ERROR_INVALID);
}

static void
test_oversize (void)
{
  g_autoptr (CgSealKey) key = new_key ();
  g_autofree char *jwe = seal (key, NULL, "v");
  g_autofree char *huge = g_strnfill (CG_JWE_MAX_LEN + 1, 'A');
  g_autofree char *ct = NULL, *big_ct = NULL, *long_ctx = NULL, *sealed = NULL;
  g_autoptr (GError) error = NULL;

  /* Length is checked before anything else, so no parse of 256 KiB. */
  memcpy (huge, jwe, strlen (jwe));
  assert_refused (key, huge, CG_ERROR_TOO_LARGE, NULL);

  /* A ciphertext one byte over the plaintext limit, inside the JWE limit. */
  {
    g_autofree guint8 *raw = g_malloc0 (CG_JWE_MAX_PLAINTEXT + 1);
    ct = cg_b64url_encode (raw, CG_JWE_MAX_PLAINTEXT + 1);
    big_ct = with_part (jwe, 3, ct);
    g_assert_cmpuint (strlen (big_ct), <=, CG_JWE_MAX_LEN);
    assert_refused (key, big_ct, CG_ERROR_TOO_LARGE, "ciphertext");
  }

  /* A ctx so long the result would exceed what we accept. */
  long_ctx = g_strnfill (CG_JWE_MAX_LEN, 'c');
  sealed = cg_jwe_seal (key, long_ctx, (const guint8 *) "v", 1, &error);
  g_assert_null (sealed);
  g_assert_error (error, CG_ERROR, CG_ERROR_TOO_LARGE);
}

static void
test_public_only (void)
{
  g_autoptr (CgSealKey) key = new_key ();
  json_auto_t *pub = cg_seal_key_to_public_jwk (key);
  g_autoptr (GError) error = NULL;
  g_autoptr (CgSealKey) pub_key = cg_seal_key_new_from_jwk (pub, &error);
  g_autofree char *jwe = NULL;

  g_assert_no_error (error);
  g_assert_false (cg_seal_key_has_private (pub_key));
  g_assert_null (cg_seal_key_export_private (pub_key));
  g_assert_null (cg_seal_key_to_private_jwk (pub_key));
  /* Seal with the public half, open with the private one. */
  jwe = seal (pub_key, "c", "from the public key");
  assert_opens (key, jwe, "c", "from the public key");
  assert_open_fails (pub_key, jwe, "c", CG_ERROR_INVALID);
}

static void
test_jwk_roundtrip (void)
{
  g_autoptr (CgSealKey) key = new_key ();
  json_auto_t *priv = cg_seal_key_to_private_jwk (key);
  json_auto_t *pub = cg_seal_key_to_public_jwk (key);
  g_autoptr (GError) error = NULL;
  g_autoptr (CgSealKey) again = NULL;
  g_autoptr (CgSealKey) from_d = NULL;
  g_autoptr (CgBuf) d1 = NULL, d2 = NULL;
  g_autofree char *jwe = NULL;
  const char *members[] = { "kty", "crv", "x", "y", "kid", "use", "alg" };

  g_assert_true (cg_seal_key_has_private (key));
  g_assert_cmpuint (json_object_size (pub), ==, 7);
  for (gsize i = 0; i < G_N_ELEMENTS (members); i++)
    g_assert_true (json_is_string (json_object_get (pub, members[i])));
  g_assert_cmpstr (json_string_value (json_object_get (pub, "use")), ==, "enc");
  g_assert_cmpstr (json_string_value (json_object_get (pub, "alg")), ==, "ECDH-ES");
  g_assert_cmpstr (json_string_value (json_object_get (pub, "kid")), ==, cg_seal_key_get_kid (key));
  g_assert_null (json_object_get (pub, "d"));
  g_assert_cmpuint (json_object_size (priv), ==, 8);

  again = cg_seal_key_new_from_jwk (priv, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cg_seal_key_get_kid (again), ==, cg_seal_key_get_kid (key));
  d1 = cg_seal_key_export_private (key);
  d2 = cg_seal_key_export_private (again);
  g_assert_cmpmem (d1->data, d1->len, d2->data, d2->len);
  g_assert_cmpuint (d1->len, ==, 32);

  from_d = cg_seal_key_new_from_private (d1->data, d1->len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cg_seal_key_get_kid (from_d), ==, cg_seal_key_get_kid (key));

  jwe = seal (key, NULL, "x");
  assert_opens (again, jwe, NULL, "x");
  assert_opens (from_d, jwe, NULL, "x");

  /* ref/unref keeps the key alive. */
  {
    CgSealKey *ref = cg_seal_key_ref (key);
    g_assert_true (ref == key);
    cg_seal_key_unref (ref);
    g_assert_nonnull (cg_seal_key_get_kid (key));
  }
}

static void
test_jwk_rfc7515 (void)
{
  g_autoptr (GError) error = NULL;
  json_auto_t *jwk = json_pack ("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x",
                                RFC7515_X, "y", RFC7515_Y, "d", RFC7515_D);
  g_autoptr (CgSealKey) key = cg_seal_key_new_from_jwk (jwk, &error);
  g_autoptr (CgSealKey) from_d = NULL;
  g_autofree guint8 *d = NULL;
  json_auto_t *pub = NULL;
  gsize d_len;

  g_assert_no_error (error);
  g_assert_cmpstr (cg_seal_key_get_kid (key), ==, RFC7515_KID);

  /* The public point derived from d alone matches the published one. */
  d = b64d (RFC7515_D, &d_len);
  from_d = cg_seal_key_new_from_private (d, d_len, &error);
  g_assert_no_error (error);
  pub = cg_seal_key_to_public_jwk (from_d);
  g_assert_cmpstr (json_string_value (json_object_get (pub, "x")), ==, RFC7515_X);
  g_assert_cmpstr (json_string_value (json_object_get (pub, "y")), ==, RFC7515_Y);
  g_assert_cmpstr (cg_seal_key_get_kid (from_d), ==, RFC7515_KID);

  /* A matching kid is accepted. */
  json_object_set_new (jwk, "kid", json_string (RFC7515_KID));
  g_clear_pointer (&key, cg_seal_key_unref);
  key = cg_seal_key_new_from_jwk (jwk, &error);
  g_assert_no_error (error);
}

static void
test_jwk_invalid (void)
{
  static const struct
  {
    const char *json;
    gint code;
  } cases[] = {
    { "[]", CG_ERROR_INVALID },
    { "{\"kty\":\"RSA\",\"crv\":\"P-256\"," XY "}", CG_ERROR_UNSUPPORTED },
    { "{\"kty\":\"EC\",\"crv\":\"P-384\"," XY "}", CG_ERROR_UNSUPPORTED },
    { "{\"crv\":\"P-256\"," XY "}", CG_ERROR_INVALID },
    { "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_X "\"}", CG_ERROR_INVALID },
    { "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_X "A\",\"y\":\"" RFC7515_Y "\"}",
      CG_ERROR_INVALID },
    { "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_X "\",\"y\":\"" RFC7515_Y "=\"}",
      CG_ERROR_INVALID },
    /* y of another point: not on the curve. */
    { "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_X "\",\"y\":\"" RFC7515_X "\"}",
      CG_ERROR_INVALID },
    /* d that belongs to another key. */
    { "{" EC_P256 "," XY ",\"d\":\"0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo\"}",
      CG_ERROR_INVALID },
    /* d of zero. */
    { "{" EC_P256 "," XY ",\"d\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
      CG_ERROR_INVALID },
    { "{" EC_P256 "," XY ",\"kid\":\"nope\"}", CG_ERROR_INVALID },
    { "{" EC_P256 "," XY ",\"use\":\"sig\"}", CG_ERROR_UNSUPPORTED },
    { "{" EC_P256 "," XY ",\"alg\":\"ES256\"}", CG_ERROR_UNSUPPORTED },
    { "{" EC_P256 "," XY ",\"x5c\":[]}", CG_ERROR_INVALID },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      json_auto_t *jwk = json_loads (cases[i].json, 0, NULL);
      g_autoptr (CgSealKey) key = NULL;

      g_assert_nonnull (jwk);
      key = cg_seal_key_new_from_jwk (jwk, &error);
      if (key)
        g_error ("accepted JWK %s", cases[i].json);
      g_assert_error (error, CG_ERROR, cases[i].code);
    }

  /* Private scalars of the wrong size or out of range. */
  {
    guint8 d[33], n_order[32];
    g_autoptr (GError) error = NULL;

    memset (d, 1, sizeof d);
    g_assert_null (cg_seal_key_new_from_private (d, 31, &error));
    g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_null (cg_seal_key_new_from_private (d, 33, &error));
    g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
    g_clear_error (&error);
    memset (n_order, 0xff, sizeof n_order); /* above the group order */
    g_assert_null (cg_seal_key_new_from_private (n_order, 32, &error));
    g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  }
}

/* RFC 7518 Appendix C: the ECDH-ES key agreement example, Z. */
static void
test_p256_ecdh_rfc7518 (void)
{
  static const guint8 z_want[32] = { 158, 86,  217, 29,  129, 113, 53,  211, 114, 131, 66,
                                     131, 191, 132, 38,  156, 251, 49,  110, 163, 218, 128,
                                     106, 72,  246, 218, 167, 121, 140, 254, 144, 196 };
  g_autofree guint8 *alice_d = NULL, *bob_x = NULL, *bob_y = NULL;
  guint8 z[32];
  gsize len;

  alice_d = b64d ("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo", &len);
  g_assert_cmpuint (len, ==, 32);
  bob_x = b64d ("weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ", &len);
  bob_y = b64d ("e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck", &len);
  g_assert_true (cg_p256_ecdh (alice_d, bob_x, bob_y, z));
  g_assert_cmpmem (z, sizeof z, z_want, sizeof z_want);

  bob_y[31] ^= 1;
  g_assert_false (cg_p256_point_valid (bob_x, bob_y));
  g_assert_false (cg_p256_ecdh (alice_d, bob_x, bob_y, z));
}

/* Known answer: JWEs made by the `jose` CLI (libjose), see
 * tests/data/jwe/make-fixtures.sh. */
static void
test_known_answer_jose (void)
{
  g_autoptr (CgSealKey) key = load_key ("key.jwk");
  g_autofree char *kid = read_data ("kid");
  g_autofree char *hello = read_data ("hello.jwe");
  g_autofree char *hello_ctx = read_data ("hello-ctx.jwe");
  g_autofree char *peek_kid = NULL, *peek_ctx = NULL;

  g_assert_true (cg_seal_key_has_private (key));
  g_assert_cmpstr (cg_seal_key_get_kid (key), ==, kid);
  assert_opens (key, hello, NULL, "hello");
  assert_open_fails (key, hello, "linked-sql", CG_ERROR_DECRYPT);
  g_assert_true (cg_jwe_peek (hello_ctx, strlen (hello_ctx), &peek_kid, &peek_ctx, NULL));
  g_assert_cmpstr (peek_kid, ==, kid);
  g_assert_cmpstr (peek_ctx, ==, "linked-sql");
  assert_opens (key, hello_ctx, "linked-sql", "p4ssw0rd");
  assert_open_fails (key, hello_ctx, "linked-sq", CG_ERROR_DECRYPT);
}

/* Interop the other way: what we seal, libjose opens. */
static void
test_jose_decrypts_ours (void)
{
  g_autofree char *jose = g_find_program_in_path ("jose");
  g_autoptr (CgSealKey) key = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL, *key_path = NULL, *jwe_path = NULL, *jwe = NULL;
  g_autofree char *out = NULL, *err = NULL, *key_text = NULL;
  json_auto_t *priv = NULL;
  int status;

  if (!jose)
    {
      g_test_fail_printf ("the jose CLI is not installed (scripts/setup installs it)");
      return;
    }
  key = new_key ();
  priv = cg_seal_key_to_private_jwk (key);
  key_text = json_dumps (priv, JSON_COMPACT);
  dir = g_dir_make_tmp ("cg-jwe-XXXXXX", &error);
  g_assert_no_error (error);
  key_path = g_build_filename (dir, "key.jwk", NULL);
  jwe_path = g_build_filename (dir, "value.jwe", NULL);
  g_file_set_contents (key_path, key_text, -1, &error);
  g_assert_no_error (error);
  cg_wipe_str (g_steal_pointer (&key_text));

  jwe = seal (key, "linked-sql", "opened by libjose");
  g_file_set_contents (jwe_path, jwe, -1, &error);
  g_assert_no_error (error);

  {
    const char *argv[] = { jose, "jwe", "dec", "-i", jwe_path, "-k", key_path, "-O-", NULL };
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                  &error);
  }
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("jose jwe dec failed: %s", err);
  g_assert_cmpstr (out, ==, "opened by libjose");

  /* And a tampered one it refuses too (so the check above can fail). */
  {
    g_autofree char *bad = with_flipped_bit (jwe, 3, 0);
    const char *argv[] = { jose, "jwe", "dec", "-i", jwe_path, "-k", key_path, "-O-", NULL };
    g_autofree char *out2 = NULL, *err2 = NULL;

    g_file_set_contents (jwe_path, bad, -1, &error);
    g_assert_no_error (error);
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out2, &err2, &status,
                  &error);
    g_assert_no_error (error);
    g_assert_false (g_spawn_check_wait_status (status, NULL));
  }

  g_unlink (key_path);
  g_unlink (jwe_path);
  g_rmdir (dir);
}

typedef struct
{
  CgSealKey *key;
  const char *jwe;
} ThreadData;

static gpointer
thread_cb (gpointer user_data)
{
  ThreadData *data = user_data;

  for (int i = 0; i < 20; i++)
    {
      g_autofree char *mine = seal (data->key, "t", "thread value");
      assert_opens (data->key, mine, "t", "thread value");
      assert_opens (data->key, data->jwe, "shared", "shared value");
    }
  return NULL;
}

/* One key, many threads: nothing in a CgSealKey changes after creation. */
static void
test_threads (void)
{
  g_autoptr (CgSealKey) key = new_key ();
  g_autofree char *jwe = seal (key, "shared", "shared value");
  ThreadData data = { key, jwe };
  GThread *threads[4];

  for (gsize i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("jwe", thread_cb, &data);
  for (gsize i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
}

/* RFC 7515 Appendix A.3: the ES256 example's signing input and signature
 * verify with the example key; one changed bit does not. */
static void
test_p256_ecdsa_rfc7515 (void)
{
  static const char input[]
      = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGx"
        "lLmNvbS9pc19yb290Ijp0cnVlfQ";
  gsize xlen, ylen, slen;
  g_autofree guint8 *x = b64d (RFC7515_X, &xlen);
  g_autofree guint8 *y = b64d (RFC7515_Y, &ylen);
  g_autofree guint8 *sig = b64d ("DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISl"
                                 "SApmWQxfKTUJqPP3-Kg6NU1Q",
                                 &slen);
  guint8 digest[SHA256_DIGEST_SIZE];
  struct sha256_ctx ctx;
  sha256_init (&ctx);
  sha256_update (&ctx, strlen (input), (const guint8 *) input);
  sha256_digest (&ctx, sizeof digest, digest);
  g_assert_cmpuint (slen, ==, 64);
  g_assert_true (cg_p256_verify (x, y, digest, sizeof digest, sig));
  sig[10] ^= 1;
  g_assert_false (cg_p256_verify (x, y, digest, sizeof digest, sig));
}

/* JWS: ours verifies with the signer's thumbprint; another thumbprint, an
 * edited payload or header, another typ, a cut one: each refused. */
static void
test_jws (void)
{
  g_autoptr (GError) error = NULL;
  gsize dlen;
  g_autofree guint8 *d = b64d (RFC7515_D, &dlen);
  g_autoptr (CgSealKey) key = cg_seal_key_new_from_private (d, dlen, &error);
  g_assert_no_error (error);
  g_autoptr (CgSealKey) other = cg_seal_key_generate (&error);
  g_assert_no_error (error);
  const char *payload = "{\"files\":[]}";
  g_autofree char *jws = cg_jws_sign (key, "t", (const guint8 *) payload, strlen (payload), &error);
  g_assert_no_error (error);

  g_autofree char *signer = NULL;
  g_autoptr (GBytes) got = cg_jws_verify (jws, strlen (jws), "t", RFC7515_KID, &signer, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), payload, strlen (payload));
  g_assert_cmpstr (signer, ==, RFC7515_KID);

  g_assert_null (cg_jws_verify (jws, strlen (jws), "t", cg_seal_key_get_kid (other), NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_FORBIDDEN);
  g_clear_error (&error);
  g_assert_null (cg_jws_verify (jws, strlen (jws), "u", RFC7515_KID, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  /* Another payload under the same header and signature. */
  g_auto (GStrv) parts = g_strsplit (jws, ".", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  g_autofree char *p2 = cg_b64url_encode ((const guint8 *) "{\"files\":[1]}", 13);
  g_autofree char *edited = g_strjoin (".", parts[0], p2, parts[2], NULL);
  g_assert_null (cg_jws_verify (edited, strlen (edited), "t", RFC7515_KID, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_FORBIDDEN);
  g_clear_error (&error);

  /* The same signature under another signer's header: the key is the
   * other's, so the thumbprint check refuses it first; with that
   * thumbprint expected, the signature does not verify. */
  g_autofree char *ojws = cg_jws_sign (other, "t", (const guint8 *) payload, strlen (payload),
                                       &error);
  g_assert_no_error (error);
  g_auto (GStrv) oparts = g_strsplit (ojws, ".", -1);
  g_autofree char *mixed = g_strjoin (".", oparts[0], parts[1], parts[2], NULL);
  g_assert_null (cg_jws_verify (mixed, strlen (mixed), "t", cg_seal_key_get_kid (other), NULL,
                                &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_FORBIDDEN);
  g_clear_error (&error);

  g_autofree char *cut = g_strjoin (".", parts[0], parts[1], NULL);
  g_assert_null (cg_jws_verify (cut, strlen (cut), "t", RFC7515_KID, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);
  g_autofree char *padded = g_strconcat (jws, "=", NULL);
  g_assert_null (cg_jws_verify (padded, strlen (padded), "t", RFC7515_KID, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
}

/* One JWK file loader for every program, with one cap. */
static void
test_jwk_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = data_path ("key.jwk");
  g_autoptr (CgSealKey) key = cg_seal_key_load_file (path, &error);
  g_assert_no_error (error);
  g_assert_true (cg_seal_key_has_private (key));

  g_autofree char *dir = g_dir_make_tmp ("cg-jwk-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *big = g_build_filename (dir, "big.jwk", NULL);
  g_autofree char *text = g_strnfill (CG_JWK_FILE_MAX + 1, ' ');
  g_assert_true (g_file_set_contents (big, text, -1, &error));
  g_assert_null (cg_jwk_load_file (big, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_TOO_LARGE);
  g_clear_error (&error);

  g_autofree char *bad = g_build_filename (dir, "bad.jwk", NULL);
  g_assert_true (g_file_set_contents (bad, "{\"kty\": \"EC\",", -1, &error));
  g_assert_null (cg_seal_key_load_file (bad, &error));
  g_assert_nonnull (strstr (error->message, bad));
  g_clear_error (&error);

  g_autofree char *pub = g_build_filename (dir, "pub.jwk", NULL);
  g_assert_true (g_file_set_contents (pub, "{\"kty\": \"RSA\"}", -1, &error));
  g_assert_null (cg_seal_key_load_file (pub, &error));
  g_assert_true (g_str_has_prefix (error->message, pub));
  g_assert_nonnull (strstr (error->message, "is not a P-256 sealing key"));
  g_clear_error (&error);
  g_unlink (big);
  g_unlink (bad);
  g_unlink (pub);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/jose/jwe/roundtrip", test_roundtrip);
  g_test_add_func ("/jose/jwe/jwk-file", test_jwk_file);
  g_test_add_func ("/jose/jwe/roundtrip-ctx", test_roundtrip_ctx);
  g_test_add_func ("/jose/jwe/empty-and-max", test_empty_and_max);
  g_test_add_func ("/jose/jwe/ctx-mismatch", test_ctx_mismatch);
  g_test_add_func ("/jose/jwe/tamper", test_tamper);
  g_test_add_func ("/jose/jwe/forbidden-members", test_forbidden_members);
  g_test_add_func ("/jose/jwe/algorithms", test_algorithms);
  g_test_add_func ("/jose/jwe/epk", test_epk);
  g_test_add_func ("/jose/jwe/form", test_form);
  g_test_add_func ("/jose/jwe/wrong-kid", test_wrong_kid);
  g_test_add_func ("/jose/jwe/oversize", test_oversize);
  g_test_add_func ("/jose/jwe/public-only", test_public_only);
  g_test_add_func ("/jose/jwe/known-answer-jose", test_known_answer_jose);
  g_test_add_func ("/jose/jwe/jose-decrypts-ours", test_jose_decrypts_ours);
  g_test_add_func ("/jose/jwe/threads", test_threads);
  g_test_add_func ("/jose/jwk/roundtrip", test_jwk_roundtrip);
  g_test_add_func ("/jose/jwk/rfc7515-thumbprint", test_jwk_rfc7515);
  g_test_add_func ("/jose/jwk/invalid", test_jwk_invalid);
  g_test_add_func ("/jose/p256/ecdh-rfc7518", test_p256_ecdh_rfc7518);
  g_test_add_func ("/jose/p256/ecdsa-rfc7515", test_p256_ecdsa_rfc7515);
  g_test_add_func ("/jose/jws/sign-verify", test_jws);

  return g_test_run ();
}
