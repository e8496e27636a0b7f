/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of jose/cg-b64: base64url without padding, strict decode. */
#include "config.h"

#include "jose/cg-b64.h"

#include <string.h>

static void
test_rfc4648_vectors (void)
{
  /* RFC 4648 §10, without padding, plus bytes that use the url alphabet. */
  static const struct
  {
    const char *plain;
    const char *encoded;
  } vectors[] = {
    { "", "" },           { "f", "Zg" },          { "fo", "Zm8" },
    { "foo", "Zm9v" },    { "foob", "Zm9vYg" },   { "fooba", "Zm9vYmE" },
    { "foobar", "Zm9vYmFy" }, { "\xfb\xff\xbf", "-_-_" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      gsize len = strlen (vectors[i].plain);
      g_autofree char *enc = cg_b64url_encode ((const guint8 *) vectors[i].plain, len);
      g_autofree guint8 *dec = NULL;
      gsize dec_len = 99;

      g_assert_cmpstr (enc, ==, vectors[i].encoded);
      dec = cg_b64url_decode (enc, strlen (enc), &dec_len);
      g_assert_nonnull (dec);
      g_assert_cmpmem (dec, dec_len, vectors[i].plain, len);
      g_assert_cmpint (dec[dec_len], ==, 0);
    }
}

static void
test_roundtrip_all_lengths (void)
{
  guint8 data[70];

  for (gsize i = 0; i < sizeof data; i++)
    data[i] = (guint8) (i * 37 + 11);
  for (gsize len = 0; len <= sizeof data; len++)
    {
      g_autofree char *enc = cg_b64url_encode (data, len);
      g_autofree guint8 *dec = NULL;
      gsize dec_len = 0;

      g_assert_null (strchr (enc, '='));
      dec = cg_b64url_decode (enc, strlen (enc), &dec_len);
      g_assert_nonnull (dec);
      g_assert_cmpmem (dec, dec_len, data, len);
    }
}

static void
test_strict_decode (void)
{
  static const char *const bad[] = {
    "Zg==",     /* padding */
    "Zm8=",     /* padding */
    "Zm9v\n",   /* whitespace */
    "Zm 9v",    /* whitespace */
    "Zm9v+A",   /* standard alphabet, not url */
    "Zm9v/A",   /* standard alphabet, not url */
    "Z",        /* len % 4 == 1 */
    "Zm9vY",    /* len % 4 == 1 */
    "Zh",       /* non-canonical: trailing bits of "f" set */
    "Zm9",      /* non-canonical */
    "Zg\x80",   /* non-ASCII */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      gsize len = 0;
      guint8 *dec;

      dec = cg_b64url_decode (bad[i], strlen (bad[i]), &len);
      if (dec)
        g_error ("decoded %s", bad[i]);
      g_assert_cmpuint (len, ==, 0);
    }

  /* An embedded NUL is outside the alphabet too. */
  {
    gsize len = 0;
    g_assert_null (cg_b64url_decode ("Zm\0v", 4, &len));
  }
  /* Canonical neighbours of the refused ones do decode. */
  {
    gsize len = 0;
    g_autofree guint8 *dec = cg_b64url_decode ("Zm8", 3, &len);
    g_assert_cmpmem (dec, len, "fo", 2);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/jose/b64/rfc4648", test_rfc4648_vectors);
  g_test_add_func ("/jose/b64/roundtrip", test_roundtrip_all_lengths);
  g_test_add_func ("/jose/b64/strict", test_strict_decode);
  return g_test_run ();
}
