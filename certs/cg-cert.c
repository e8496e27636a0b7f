/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The certificate pair itself: construction from a chain and a key, the
 * reference count, the getters and SPKI pins.  Generation lives in
 * cg-cert-gen.c, files in cg-cert-load.c. */
#include "config.h"

#include "certs/cg-cert.h"
#include "certs/cg-cert-private.h"
#include "common/cg-error.h"

#include <gnutls/crypto.h>
#include <string.h>

struct CgCertPair
{
  gint ref_count;
  /* Everything below is set once in cg_cert_pair_new_take () and never
   * changed, so that a pair can be read from any thread without a lock. */
  gnutls_pcert_st *pcerts; /* the whole chain, leaf first */
  unsigned int n_pcerts;
  gnutls_privkey_t privkey;
  gnutls_x509_crt_t leaf;
  char *chain_pem;
  char *pin;
  gint64 not_after;
};

static void
set_gnutls_error (GError **error, int code, const char *what, const char *doing)
{
  g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "%s: %s: %s", what, doing,
               gnutls_strerror (code));
}

gboolean
cg_cert_spki_der (gnutls_pubkey_t pub, gnutls_datum_t *spki, GError **error)
{
  int r = gnutls_pubkey_export2 (pub, GNUTLS_X509_FMT_DER, spki);
  if (r < 0)
    {
      set_gnutls_error (error, r, "public key", "cannot export");
      return FALSE;
    }
  return TRUE;
}

char *
cg_cert_pin_from_pubkey (gnutls_pubkey_t pub, GError **error)
{
  gnutls_datum_t spki = { NULL, 0 };
  guint8 digest[32];

  if (!cg_cert_spki_der (pub, &spki, error))
    return NULL;
  int r = gnutls_hash_fast (GNUTLS_DIG_SHA256, spki.data, spki.size, digest);
  gnutls_free (spki.data);
  if (r < 0)
    {
      set_gnutls_error (error, r, "public key", "cannot hash");
      return NULL;
    }
  g_autofree char *b64 = g_base64_encode (digest, sizeof digest);
  return g_strconcat ("sha256:", b64, NULL);
}

/* TRUE when @key's public half is the one in @crt: compared as DER
 * SubjectPublicKeyInfo, which is what both sides of a TLS handshake use. */
static gboolean
key_matches_cert (gnutls_privkey_t key, gnutls_x509_crt_t crt, gboolean *matches,
                  GError **error)
{
  gnutls_pubkey_t from_key = NULL, from_crt = NULL;
  gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
  gboolean ok = FALSE;
  int r;

  if ((r = gnutls_pubkey_init (&from_key)) < 0 || (r = gnutls_pubkey_init (&from_crt)) < 0)
    {
      set_gnutls_error (error, r, "public key", "cannot allocate");
      goto out;
    }
  if ((r = gnutls_pubkey_import_privkey (from_key, key, 0, 0)) < 0)
    {
      set_gnutls_error (error, r, "private key", "cannot derive the public key");
      goto out;
    }
  if ((r = gnutls_pubkey_import_x509 (from_crt, crt, 0)) < 0)
    {
      set_gnutls_error (error, r, "certificate", "cannot read the public key");
      goto out;
    }
  if (!cg_cert_spki_der (from_key, &a, error) || !cg_cert_spki_der (from_crt, &b, error))
    goto out;
  /* Public data: a plain comparison is fine. */
  *matches = a.size == b.size && memcmp (a.data, b.data, a.size) == 0;
  ok = TRUE;

out:
  gnutls_free (a.data);
  gnutls_free (b.data);
  if (from_key)
    gnutls_pubkey_deinit (from_key);
  if (from_crt)
    gnutls_pubkey_deinit (from_crt);
  return ok;
}

static char *
export_chain_pem (gnutls_x509_crt_t *crts, unsigned int n_crts, GError **error)
{
  g_autoptr (GString) pem = g_string_new (NULL);
  for (unsigned int i = 0; i < n_crts; i++)
    {
      gnutls_datum_t out = { NULL, 0 };
      int r = gnutls_x509_crt_export2 (crts[i], GNUTLS_X509_FMT_PEM, &out);
      if (r < 0)
        {
          set_gnutls_error (error, r, "certificate", "cannot export");
          return NULL;
        }
      g_string_append_len (pem, (const char *) out.data, out.size);
      gnutls_free (out.data);
    }
  return g_string_free (g_steal_pointer (&pem), FALSE);
}

CgCertPair *
cg_cert_pair_new_take (gnutls_x509_crt_t *crts, unsigned int n_crts, gnutls_privkey_t key,
                       const char *what, GError **error)
{
  CgCertPair *pair = NULL;
  gnutls_pubkey_t pub = NULL;
  gboolean matches = FALSE;
  unsigned int i;
  int r;

  if (n_crts == 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s: no certificate found", what);
      goto out;
    }
  if (!key_matches_cert (key, crts[0], &matches, error))
    goto out;
  if (!matches)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "%s: private key does not match the certificate", what);
      goto out;
    }

  pair = g_new0 (CgCertPair, 1);
  pair->ref_count = 1;
  pair->pcerts = g_new0 (gnutls_pcert_st, n_crts);
  for (i = 0; i < n_crts; i++)
    {
      if ((r = gnutls_pcert_import_x509 (&pair->pcerts[i], crts[i], 0)) < 0)
        {
          set_gnutls_error (error, r, what, "cannot use the certificate");
          goto fail;
        }
      pair->n_pcerts++;
    }
  if (!(pair->chain_pem = export_chain_pem (crts, n_crts, error)))
    goto fail;
  if ((r = gnutls_pubkey_init (&pub)) < 0 || (r = gnutls_pubkey_import_x509 (pub, crts[0], 0)) < 0)
    {
      set_gnutls_error (error, r, what, "cannot read the public key");
      goto fail;
    }
  if (!(pair->pin = cg_cert_pin_from_pubkey (pub, error)))
    goto fail;
  pair->not_after = gnutls_x509_crt_get_expiration_time (crts[0]);

  /* Success: the pair owns the leaf and the key; the rest of the chain
   * lives on in pcerts. */
  pair->leaf = crts[0];
  crts[0] = NULL;
  pair->privkey = key;
  key = NULL;
  goto out;

fail:
  g_clear_pointer (&pair, cg_cert_pair_unref);
out:
  if (pub)
    gnutls_pubkey_deinit (pub);
  for (i = 0; i < n_crts; i++)
    if (crts[i])
      gnutls_x509_crt_deinit (crts[i]);
  gnutls_free (crts);
  if (key)
    gnutls_privkey_deinit (key);
  return pair;
}

CgCertPair *
cg_cert_pair_ref (CgCertPair *pair)
{
  g_return_val_if_fail (pair != NULL, NULL);
  g_atomic_int_inc (&pair->ref_count);
  return pair;
}

void
cg_cert_pair_unref (CgCertPair *pair)
{
  if (!pair || !g_atomic_int_dec_and_test (&pair->ref_count))
    return;
  for (unsigned int i = 0; i < pair->n_pcerts; i++)
    gnutls_pcert_deinit (&pair->pcerts[i]);
  g_free (pair->pcerts);
  /* GnuTLS zeroes the key's parameters when it frees them. */
  if (pair->privkey)
    gnutls_privkey_deinit (pair->privkey);
  if (pair->leaf)
    gnutls_x509_crt_deinit (pair->leaf);
  g_free (pair->chain_pem);
  g_free (pair->pin);
  g_free (pair);
}

const char *
cg_cert_pair_get_spki_pin (CgCertPair *pair)
{
  g_return_val_if_fail (pair != NULL, NULL);
  return pair->pin;
}

gnutls_pcert_st *
cg_cert_pair_get_pcerts (CgCertPair *pair, unsigned int *n_certs)
{
  g_return_val_if_fail (pair != NULL, NULL);
  if (n_certs)
    *n_certs = pair->n_pcerts;
  return pair->pcerts;
}

gnutls_privkey_t
cg_cert_pair_get_privkey (CgCertPair *pair)
{
  g_return_val_if_fail (pair != NULL, NULL);
  return pair->privkey;
}

gnutls_x509_crt_t
cg_cert_pair_get_leaf (CgCertPair *pair)
{
  g_return_val_if_fail (pair != NULL, NULL);
  return pair->leaf;
}

char *
cg_cert_pair_chain_pem (CgCertPair *pair)
{
  g_return_val_if_fail (pair != NULL, NULL);
  return g_strdup (pair->chain_pem);
}

gint64
cg_cert_pair_get_not_after (CgCertPair *pair)
{
  g_return_val_if_fail (pair != NULL, 0);
  return pair->not_after;
}

gboolean
cg_cert_crt_is_self_signed (gnutls_x509_crt_t crt)
{
  unsigned int status = 0;

  if (!gnutls_x509_crt_check_issuer (crt, crt))
    return FALSE;
  /* A matching DN is not enough: the signature must verify with the leaf's
   * own key.  DO_NOT_ALLOW_SAME stops GnuTLS from trusting the leaf merely
   * because it is in the trusted list; DISABLE_CA_SIGN because a server
   * certificate is no CA; dates are not the question here. */
  unsigned int flags = GNUTLS_VERIFY_DO_NOT_ALLOW_SAME | GNUTLS_VERIFY_DISABLE_CA_SIGN
                       | GNUTLS_VERIFY_DISABLE_TIME_CHECKS
                       | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS;
  if (gnutls_x509_crt_verify (crt, &crt, 1, flags, &status) < 0)
    return FALSE;
  return status == 0;
}

gboolean
cg_cert_pair_is_self_signed (CgCertPair *pair)
{
  g_return_val_if_fail (pair != NULL, FALSE);
  return cg_cert_crt_is_self_signed (pair->leaf);
}

gnutls_x509_crt_t
cg_cert_crt_from_der (const guint8 *der, gsize len, GError **error)
{
  gnutls_x509_crt_t crt = NULL;
  int r;

  g_return_val_if_fail (der != NULL || len == 0, NULL);
  if (len > CG_CERT_FILE_MAX || len > G_MAXUINT)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE, "certificate: too large");
      return NULL;
    }
  gnutls_datum_t datum = { (unsigned char *) der, (unsigned int) len };
  if ((r = gnutls_x509_crt_init (&crt)) < 0)
    {
      set_gnutls_error (error, r, "certificate", "cannot allocate");
      return NULL;
    }
  if ((r = gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER)) < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "certificate: cannot read it: %s",
                   gnutls_strerror (r));
      gnutls_x509_crt_deinit (crt);
      return NULL;
    }
  return crt;
}

char *
cg_cert_crt_spki_pin (gnutls_x509_crt_t crt, GError **error)
{
  gnutls_pubkey_t pub = NULL;
  char *pin = NULL;
  int r;

  if ((r = gnutls_pubkey_init (&pub)) < 0)
    {
      set_gnutls_error (error, r, "certificate", "cannot allocate");
      return NULL;
    }
  if ((r = gnutls_pubkey_import_x509 (pub, crt, 0)) < 0)
    g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "certificate: cannot read its key: %s",
                 gnutls_strerror (r));
  else
    pin = cg_cert_pin_from_pubkey (pub, error);
  gnutls_pubkey_deinit (pub);
  return pin;
}

char *
cg_cert_spki_pin_from_der (const guint8 *der, gsize len, GError **error)
{
  gnutls_x509_crt_t crt = cg_cert_crt_from_der (der, len, error);
  if (!crt)
    return NULL;
  char *pin = cg_cert_crt_spki_pin (crt, error);
  gnutls_x509_crt_deinit (crt);
  return pin;
}
