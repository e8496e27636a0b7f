/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* base64url without padding on nettle's codec, with a strict decoder: the
 * JWE allowlist depends on every input having exactly one spelling. */
#include "config.h"

#include "jose/cg-b64.h"

#include "common/cg-secure.h"

#include <nettle/base64.h>
#include <string.h>

char *
cg_b64url_encode (const guint8 *data, gsize len)
{
  struct base64_encode_ctx ctx;
  char *out;
  gsize n;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (len <= G_MAXSIZE / 2, NULL);

  out = g_malloc (BASE64_ENCODE_LENGTH (len) + BASE64_ENCODE_FINAL_LENGTH + 1);
  base64url_encode_init (&ctx);
  n = base64_encode_update (&ctx, out, len, data);
  n += base64_encode_final (&ctx, out + n);
  /* nettle pads to a multiple of four; JOSE (RFC 7515 §2) never pads. */
  while (n > 0 && out[n - 1] == '=')
    n--;
  out[n] = '\0';
  return out;
}

static gboolean
is_b64url_char (char c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '_';
}

guint8 *
cg_b64url_decode (const char *text, gsize text_len, gsize *out_len)
{
  struct base64_decode_ctx ctx;
  g_autofree char *again = NULL;
  guint8 *out;
  gsize n = 0;

  g_return_val_if_fail (text != NULL || text_len == 0, NULL);
  g_return_val_if_fail (out_len != NULL, NULL);
  *out_len = 0;

  /* nettle's decoder skips whitespace and accepts padding; refuse both
   * (and anything else outside the alphabet) before it sees the text. */
  for (gsize i = 0; i < text_len; i++)
    if (!is_b64url_char (text[i]))
      return NULL;
  /* A single leftover character cannot carry a whole byte. */
  if (text_len % 4 == 1)
    return NULL;

  out = g_malloc (BASE64_DECODE_LENGTH (text_len) + 1);
  base64url_decode_init (&ctx);
  if (!base64_decode_update (&ctx, &n, out, text_len, text))
    goto fail;
  out[n] = '\0';

  /* Unused low bits of the last character must be zero, or two spellings
   * would decode to the same bytes: re-encode and compare. */
  again = cg_b64url_encode (out, n);
  if (strlen (again) != text_len || memcmp (again, text, text_len) != 0)
    {
      cg_wipe (again, strlen (again));
      goto fail;
    }
  cg_wipe (again, text_len);
  *out_len = n;
  return out;

fail:
  /* The bytes may be a private key. */
  cg_wipe (out, BASE64_DECODE_LENGTH (text_len) + 1);
  g_free (out);
  return NULL;
}
