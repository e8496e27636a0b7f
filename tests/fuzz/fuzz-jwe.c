/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The EncryptedCredential parser and decrypter: cg_jwe_peek on anything,
 * and cg_jwe_open with the fixture key of tests/data/jwe (so the seeds
 * there, sealed to it, reach the key operation and the AEAD). */
#include "config.h"

#include "tests/fuzz/cg-fuzz.h"

#include "jose/cg-jwe.h"

static const char KEY_JWK[]
    = "{\"crv\":\"P-256\",\"d\":\"e39cLJoZCGp-ddeKsLguaBFhjLxQRo1x790nNpEmfEI\",\"kty\":\"EC\","
      "\"x\":\"43NNVyuU_J5v_hfuTxmpOXPkHntf9T7rgmGGz9FATMU\","
      "\"y\":\"GcbcS-JKA11s5i9Cek14EtON6q0Rwj7HXpGk9rIj-3w\"}";

static CgSealKey *
fixture_key (void)
{
  static CgSealKey *key;
  if (!key)
    {
      json_t *jwk = json_loads (KEY_JWK, 0, NULL);
      key = cg_seal_key_new_from_jwk (jwk, NULL);
      json_decref (jwk);
      g_assert (key != NULL);
    }
  return key;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *kid = NULL, *ctx = NULL;
  const char *jwe = (const char *) data;

  if (!cg_jwe_peek (jwe, size, &kid, &ctx, &error))
    {
      g_assert (error != NULL);
      return 0;
    }
  g_assert (kid != NULL);
  /* As the agent does: open with the key the kid names, the ctx expected
   * both as given and absent. */
  g_autoptr (CgBuf) plain = cg_jwe_open (fixture_key (), jwe, size, ctx, NULL);
  g_autoptr (CgBuf) plain2 = cg_jwe_open (fixture_key (), jwe, size, NULL, NULL);
  return 0;
}
