/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* P-256 key generation, validation and ECDH on nettle/hogweed. */
#include "config.h"

#include "jose/cg-p256.h"

#include "common/cg-secure.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/bignum.h>
#include <nettle/dsa.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <string.h>

/* GMP may leave older copies in memory it reallocated; wiping the limbs we
 * can reach is the best that mpz allows. */
static void
mpz_wipe_clear (mpz_t z)
{
  size_t n = mpz_size (z);

  if (n > 0)
    cg_wipe (mpz_limbs_modify (z, n), n * sizeof (mp_limb_t));
  mpz_clear (z);
}

static void
scalar_wipe_clear (struct ecc_scalar *s)
{
  cg_wipe (s->p, ecc_size (s->ecc) * sizeof (mp_limb_t));
  ecc_scalar_clear (s);
}

/* A point holds x and y; for an ECDH result x is the shared secret. */
static void
point_wipe_clear (struct ecc_point *p)
{
  cg_wipe (p->p, 2 * ecc_size (p->ecc) * sizeof (mp_limb_t));
  ecc_point_clear (p);
}

static void
point_get_bytes (const struct ecc_point *p, guint8 *x, guint8 *y)
{
  mpz_t mx, my;

  mpz_inits (mx, my, NULL);
  ecc_point_get (p, mx, my);
  /* Writes exactly CG_P256_LEN bytes, padding with leading zeros. */
  if (x)
    nettle_mpz_get_str_256 (CG_P256_LEN, x, mx);
  if (y)
    nettle_mpz_get_str_256 (CG_P256_LEN, y, my);
  mpz_wipe_clear (mx);
  mpz_wipe_clear (my);
}

static gboolean
point_set_bytes (struct ecc_point *p, const guint8 *x, const guint8 *y)
{
  mpz_t mx, my;
  int ok;

  nettle_mpz_init_set_str_256_u (mx, CG_P256_LEN, x);
  nettle_mpz_init_set_str_256_u (my, CG_P256_LEN, y);
  /* nettle checks the range and the curve equation here. */
  ok = ecc_point_set (p, mx, my);
  mpz_clear (mx);
  mpz_clear (my);
  return ok != 0;
}

static gboolean
scalar_set_bytes (struct ecc_scalar *s, const guint8 *d)
{
  mpz_t md;
  int ok;

  nettle_mpz_init_set_str_256_u (md, CG_P256_LEN, d);
  ok = ecc_scalar_set (s, md); /* refuses 0 and anything >= n */
  mpz_wipe_clear (md);
  return ok != 0;
}

gboolean
cg_p256_point_valid (const guint8 *x, const guint8 *y)
{
  struct ecc_point p;
  gboolean ok;

  ecc_point_init (&p, nettle_get_secp_256r1 ());
  ok = point_set_bytes (&p, x, y);
  ecc_point_clear (&p);
  return ok;
}

typedef struct
{
  gboolean failed;
} RandomState;

static void
random_key_cb (void *ctx, size_t len, uint8_t *dst)
{
  RandomState *state = ctx;

  if (gnutls_rnd (GNUTLS_RND_KEY, dst, len) < 0)
    {
      /* nettle's callback cannot fail and would retry forever on zeros;
       * give it a valid value and throw the key away afterwards. */
      state->failed = TRUE;
      memset (dst, 1, len);
    }
}

gboolean
cg_p256_generate (guint8 *d, guint8 *x, guint8 *y)
{
  const struct ecc_curve *curve = nettle_get_secp_256r1 ();
  RandomState state = { FALSE };
  struct ecc_point pub;
  struct ecc_scalar key;
  mpz_t md;

  ecc_point_init (&pub, curve);
  ecc_scalar_init (&key, curve);
  ecdsa_generate_keypair (&pub, &key, &state, random_key_cb);

  mpz_init (md);
  ecc_scalar_get (&key, md);
  nettle_mpz_get_str_256 (CG_P256_LEN, d, md);
  mpz_wipe_clear (md);
  point_get_bytes (&pub, x, y);

  scalar_wipe_clear (&key);
  ecc_point_clear (&pub);
  if (state.failed)
    {
      cg_wipe (d, CG_P256_LEN);
      return FALSE;
    }
  return TRUE;
}

gboolean
cg_p256_public_from_private (const guint8 *d, guint8 *x, guint8 *y)
{
  const struct ecc_curve *curve = nettle_get_secp_256r1 ();
  struct ecc_scalar key;
  struct ecc_point pub;
  gboolean ok;

  ecc_scalar_init (&key, curve);
  ecc_point_init (&pub, curve);
  ok = scalar_set_bytes (&key, d);
  if (ok)
    {
      ecc_point_mul_g (&pub, &key);
      point_get_bytes (&pub, x, y);
    }
  scalar_wipe_clear (&key);
  ecc_point_clear (&pub);
  return ok;
}

gboolean
cg_p256_ecdh (const guint8 *d, const guint8 *px, const guint8 *py, guint8 *z)
{
  const struct ecc_curve *curve = nettle_get_secp_256r1 ();
  struct ecc_scalar key;
  struct ecc_point peer, shared;
  gboolean ok;

  ecc_scalar_init (&key, curve);
  ecc_point_init (&peer, curve);
  ecc_point_init (&shared, curve);
  ok = point_set_bytes (&peer, px, py) && scalar_set_bytes (&key, d);
  if (ok)
    {
      /* P-256 has cofactor 1 and the point is validated, so d·P with
       * 0 < d < n is never the point at infinity. */
      ecc_point_mul (&shared, &key, &peer);
      point_get_bytes (&shared, z, NULL);
    }
  scalar_wipe_clear (&key);
  point_wipe_clear (&shared);
  ecc_point_clear (&peer);
  return ok;
}

gboolean
cg_p256_sign (const guint8 *d, const guint8 *digest, gsize digest_len, guint8 *sig)
{
  const struct ecc_curve *curve = nettle_get_secp_256r1 ();
  RandomState state = { FALSE };
  struct ecc_scalar key;
  struct dsa_signature s;
  gboolean ok;

  ecc_scalar_init (&key, curve);
  ok = scalar_set_bytes (&key, d);
  if (ok)
    {
      dsa_signature_init (&s);
      ecdsa_sign (&key, &state, random_key_cb, digest_len, digest, &s);
      nettle_mpz_get_str_256 (CG_P256_LEN, sig, s.r);
      nettle_mpz_get_str_256 (CG_P256_LEN, sig + CG_P256_LEN, s.s);
      dsa_signature_clear (&s);
      ok = !state.failed;
    }
  scalar_wipe_clear (&key);
  return ok;
}

gboolean
cg_p256_verify (const guint8 *x, const guint8 *y, const guint8 *digest, gsize digest_len,
                const guint8 *sig)
{
  struct ecc_point pub;
  struct dsa_signature s;
  gboolean ok;

  ecc_point_init (&pub, nettle_get_secp_256r1 ());
  ok = point_set_bytes (&pub, x, y);
  if (ok)
    {
      dsa_signature_init (&s);
      nettle_mpz_set_str_256_u (s.r, CG_P256_LEN, sig);
      nettle_mpz_set_str_256_u (s.s, CG_P256_LEN, sig + CG_P256_LEN);
      /* nettle refuses r or s outside 1 .. n-1. */
      ok = ecdsa_verify (&pub, digest_len, digest, &s) != 0;
      dsa_signature_clear (&s);
    }
  ecc_point_clear (&pub);
  return ok;
}
