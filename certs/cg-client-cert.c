/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Client certificates: the agent's client CA, the certificates it signs
 * from a client's request, the check of a presented certificate, and the
 * client's own key and request.  Certificates are made in certtool's order
 * (key, serial, dates, names, constraints and usages, key ids, signature). */
#include "config.h"

#include "certs/cg-client-cert.h"
#include "certs/cg-cert-private.h"
#include "common/cg-error.h"

#include <gnutls/crypto.h>
#include <string.h>
#include <time.h>

#define SERIAL_LEN 16

static gboolean
check (int r, const char *what, GError **error)
{
  if (r >= 0)
    return TRUE;
  g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "client certificate: %s: %s", what,
               gnutls_strerror (r));
  return FALSE;
}

static gboolean
set_random_serial (gnutls_x509_crt_t crt, GError **error)
{
  guint8 serial[SERIAL_LEN];
  if (!check (gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial), "no random bytes", error))
    return FALSE;
  /* Positive and of full length, as RFC 5280 asks. */
  serial[0] &= 0x7f;
  if (serial[0] == 0)
    serial[0] = 1;
  return check (gnutls_x509_crt_set_serial (crt, serial, sizeof serial), "cannot set the serial",
                error);
}

static gboolean
set_key_id (gnutls_x509_crt_t crt, gnutls_pubkey_t pub, GError **error)
{
  guint8 key_id[64];
  size_t key_id_size = sizeof key_id;
  return check (gnutls_pubkey_get_key_id (pub, GNUTLS_KEYID_USE_SHA1, key_id, &key_id_size),
                "cannot compute the key id", error)
         && check (gnutls_x509_crt_set_subject_key_id (crt, key_id, key_id_size),
                   "cannot set the subject key id", error);
}

static char *
export_pem (gnutls_x509_crt_t crt, GError **error)
{
  gnutls_datum_t pem = { NULL, 0 };
  if (!check (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &pem), "cannot export", error))
    return NULL;
  char *text = g_strndup ((const char *) pem.data, pem.size);
  gnutls_free (pem.data);
  return text;
}

static char *
serial_hex_of (gnutls_x509_crt_t crt)
{
  guint8 serial[40];
  size_t size = sizeof serial;
  if (gnutls_x509_crt_get_serial (crt, serial, &size) < 0)
    return NULL;
  GString *hex = g_string_sized_new (2 * size);
  for (size_t i = 0; i < size; i++)
    g_string_append_printf (hex, "%02x", serial[i]);
  return g_string_free (hex, FALSE);
}

/* ECDSA on P-256 and nothing else. */
static gboolean
pubkey_is_p256 (gnutls_pubkey_t pub)
{
  unsigned int bits = 0;
  gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
  return gnutls_pubkey_get_pk_algorithm (pub, &bits) == GNUTLS_PK_ECDSA
         && gnutls_pubkey_export_ecc_raw (pub, &curve, NULL, NULL) >= 0
         && curve == GNUTLS_ECC_CURVE_SECP256R1;
}

char *
cg_client_ca_make_cert (gnutls_privkey_t key, const char *label, guint days, GError **error)
{
  gnutls_pubkey_t pub = NULL;
  gnutls_x509_crt_t crt = NULL;
  char *pem = NULL;
  time_t now = time (NULL);
  g_autofree char *cn = g_strdup_printf ("credgate client CA %s", label);

  if (!check (gnutls_pubkey_init (&pub), "cannot allocate the public key", error)
      || !check (gnutls_pubkey_import_privkey (pub, key, 0, 0), "cannot derive the public key",
                 error)
      || !check (gnutls_x509_crt_init (&crt), "cannot allocate the certificate", error)
      || !check (gnutls_x509_crt_set_pubkey (crt, pub), "cannot set the public key", error)
      || !check (gnutls_x509_crt_set_version (crt, 3), "cannot set the version", error)
      || !set_random_serial (crt, error)
      || !check (gnutls_x509_crt_set_activation_time (crt, now - 3600),
                 "cannot set the activation time", error)
      || !check (gnutls_x509_crt_set_expiration_time (crt, now + (time_t) days * 24 * 3600),
                 "cannot set the expiration time", error)
      || !check (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                                strlen (cn)),
                 "cannot set the subject", error)
      /* A CA for end entities only: no intermediates below it. */
      || !check (gnutls_x509_crt_set_basic_constraints (crt, 1, 0), "cannot set basic constraints",
                 error)
      || !check (gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_KEY_CERT_SIGN
                                                         | GNUTLS_KEY_CRL_SIGN),
                 "cannot set the key usage", error)
      || !set_key_id (crt, pub, error)
      || !check (gnutls_x509_crt_privkey_sign (crt, crt, key, GNUTLS_DIG_SHA256, 0),
                 "cannot sign", error))
    goto out;
  pem = export_pem (crt, error);

out:
  if (crt)
    gnutls_x509_crt_deinit (crt);
  if (pub)
    gnutls_pubkey_deinit (pub);
  return pem;
}

char *
cg_client_ca_sign_csr (gnutls_x509_crt_t ca_cert, gnutls_privkey_t ca_key, const char *csr_pem,
                       gsize csr_len, const char *name, gint64 validity_s, char **serial_hex,
                       char **spki_pin, gint64 *not_after, GError **error)
{
  gnutls_x509_crq_t crq = NULL;
  gnutls_pubkey_t pub = NULL;
  gnutls_x509_crt_t crt = NULL;
  char *pem = NULL;
  time_t now = time (NULL);
  guint8 ca_id[64];
  size_t ca_id_size = sizeof ca_id;
  int r;

  if (csr_len == 0 || csr_len > CG_CLIENT_CSR_MAX)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the certificate request must be 1 to %d bytes of PEM", CG_CLIENT_CSR_MAX);
      return NULL;
    }
  gnutls_datum_t in = { (unsigned char *) csr_pem, (unsigned int) csr_len };
  if (!check (gnutls_x509_crq_init (&crq), "cannot allocate the request", error)
      || !check (gnutls_pubkey_init (&pub), "cannot allocate the public key", error))
    goto out;
  /* The request's own signature proves that the client holds the key. */
  if ((r = gnutls_x509_crq_import (crq, &in, GNUTLS_X509_FMT_PEM)) < 0
      || (r = gnutls_x509_crq_verify (crq, 0)) < 0
      || (r = gnutls_pubkey_import_x509_crq (pub, crq, 0)) < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the certificate request is not a valid, self-signed PKCS#10 request (%s)",
                   gnutls_strerror (r));
      goto out;
    }
  if (!pubkey_is_p256 (pub))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_UNSUPPORTED,
                           "the certificate request must be for an ECDSA P-256 key");
      goto out;
    }

  time_t end = now + (time_t) validity_s;
  if (!check (gnutls_x509_crt_init (&crt), "cannot allocate the certificate", error)
      || !check (gnutls_x509_crt_set_pubkey (crt, pub), "cannot set the public key", error)
      || !check (gnutls_x509_crt_set_version (crt, 3), "cannot set the version", error)
      || !set_random_serial (crt, error)
      /* Only the agent checks these dates, on its own clock: no slack. */
      || !check (gnutls_x509_crt_set_activation_time (crt, now), "cannot set the activation time",
                 error)
      || !check (gnutls_x509_crt_set_expiration_time (crt, end), "cannot set the expiration time",
                 error)
      || !check (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, name,
                                                strlen (name)),
                 "cannot set the subject", error)
      || !check (gnutls_x509_crt_set_basic_constraints (crt, 0, -1),
                 "cannot set basic constraints", error)
      || !check (gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE),
                 "cannot set the key usage", error)
      || !check (gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_CLIENT, 0),
                 "cannot set the extended key usage", error)
      || !set_key_id (crt, pub, error)
      || !check (gnutls_x509_crt_get_subject_key_id (ca_cert, ca_id, &ca_id_size, NULL),
                 "the client CA has no key id", error)
      || !check (gnutls_x509_crt_set_authority_key_id (crt, ca_id, ca_id_size),
                 "cannot set the authority key id", error)
      || !check (gnutls_x509_crt_privkey_sign (crt, ca_cert, ca_key, GNUTLS_DIG_SHA256, 0),
                 "cannot sign", error))
    goto out;

  if (spki_pin && !(*spki_pin = cg_cert_pin_from_pubkey (pub, error)))
    goto out;
  pem = export_pem (crt, error);
  if (pem && serial_hex)
    *serial_hex = serial_hex_of (crt);
  if (pem && not_after)
    *not_after = end;
  if (!pem && spki_pin)
    g_clear_pointer (spki_pin, g_free);

out:
  if (crt)
    gnutls_x509_crt_deinit (crt);
  if (pub)
    gnutls_pubkey_deinit (pub);
  if (crq)
    gnutls_x509_crq_deinit (crq);
  return pem;
}

gboolean
cg_client_ca_verify (gnutls_x509_crt_t ca_cert, const guint8 *der, gsize len, char **serial_hex,
                     char **spki_pin, GError **error)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t pub = NULL;
  gboolean ok = FALSE;
  unsigned int status = 0;

  if (len == 0 || len > CG_CLIENT_CSR_MAX)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                           "the client certificate is empty or too large");
      return FALSE;
    }
  gnutls_datum_t in = { (unsigned char *) der, (unsigned int) len };
  if (gnutls_x509_crt_init (&crt) < 0 || gnutls_x509_crt_import (crt, &in, GNUTLS_X509_FMT_DER) < 0
      || gnutls_pubkey_init (&pub) < 0 || gnutls_pubkey_import_x509 (pub, crt, 0) < 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                           "the client certificate cannot be read");
      goto out;
    }
  /* Signature by this CA and the dates, on the agent's clock. */
  if (gnutls_x509_crt_verify (crt, &ca_cert, 1, 0, &status) < 0
      || (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNATURE_FAILURE
                    | GNUTLS_CERT_SIGNER_NOT_CA | GNUTLS_CERT_INSECURE_ALGORITHM)))
    g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                         "the client certificate was not issued by this agent");
  else if (status & GNUTLS_CERT_EXPIRED)
    g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN, "the client certificate has expired");
  else if (status & GNUTLS_CERT_NOT_ACTIVATED)
    g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                         "the client certificate is not valid yet");
  else if (status != 0)
    g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                         "the client certificate is not valid");
  else if (!(serial_hex && !(*serial_hex = serial_hex_of (crt)))
           && !(spki_pin && !(*spki_pin = cg_cert_pin_from_pubkey (pub, NULL))))
    ok = TRUE;
  else
    g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                         "the client certificate cannot be read");

out:
  if (pub)
    gnutls_pubkey_deinit (pub);
  if (crt)
    gnutls_x509_crt_deinit (crt);
  return ok;
}

gboolean
cg_client_key_generate (const char *cn, CgBuf **key_pem, char **csr_pem, GError **error)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crq_t crq = NULL;
  gnutls_datum_t kpem = { NULL, 0 }, rpem = { NULL, 0 };
  gboolean ok = FALSE;

  if (!check (gnutls_x509_privkey_init (&key), "cannot allocate the key", error)
      || !check (gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                               GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                                               0),
                 "cannot generate the key", error)
      || !check (gnutls_x509_crq_init (&crq), "cannot allocate the request", error)
      || !check (gnutls_x509_crq_set_version (crq, 1), "cannot set the version", error)
      || !check (gnutls_x509_crq_set_dn_by_oid (crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                                strlen (cn)),
                 "cannot set the subject", error)
      || !check (gnutls_x509_crq_set_key (crq, key), "cannot set the key", error)
      || !check (gnutls_x509_crq_sign2 (crq, key, GNUTLS_DIG_SHA256, 0), "cannot sign", error)
      || !check (gnutls_x509_crq_export2 (crq, GNUTLS_X509_FMT_PEM, &rpem), "cannot export",
                 error)
      || !check (gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                                    GNUTLS_PKCS_PLAIN, &kpem),
                 "cannot export the key", error))
    goto out;
  *key_pem = cg_buf_new_copy (kpem.data, kpem.size);
  *csr_pem = g_strndup ((const char *) rpem.data, rpem.size);
  ok = TRUE;

out:
  if (kpem.data)
    {
      gnutls_memset (kpem.data, 0, kpem.size);
      gnutls_free (kpem.data);
    }
  gnutls_free (rpem.data);
  if (crq)
    gnutls_x509_crq_deinit (crq);
  if (key)
    gnutls_x509_privkey_deinit (key);
  return ok;
}

gboolean
cg_client_cert_matches_key (const char *cert_pem, gsize cert_len, const CgBuf *key_pem,
                            gint64 *not_after, GError **error)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_x509_privkey_t key = NULL;
  gboolean ok = FALSE;
  guint8 id1[64], id2[64];
  size_t s1 = sizeof id1, s2 = sizeof id2;

  if (cert_len == 0 || cert_len > CG_CLIENT_CSR_MAX)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the client certificate is empty or too large");
      return FALSE;
    }
  gnutls_datum_t c = { (unsigned char *) cert_pem, (unsigned int) cert_len };
  gnutls_datum_t k = { key_pem->data, (unsigned int) key_pem->len };
  if (gnutls_x509_crt_init (&crt) < 0 || gnutls_x509_crt_import (crt, &c, GNUTLS_X509_FMT_PEM) < 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the client certificate is not a PEM certificate");
      goto out;
    }
  if (gnutls_x509_privkey_init (&key) < 0
      || gnutls_x509_privkey_import2 (key, &k, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN) < 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the client key is not an unencrypted PEM private key");
      goto out;
    }
  if (gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA256, id1, &s1) < 0
      || gnutls_x509_privkey_get_key_id (key, GNUTLS_KEYID_USE_SHA256, id2, &s2) < 0
      || s1 != s2 || memcmp (id1, id2, s1) != 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the client certificate does not belong to the client key");
      goto out;
    }
  if (not_after)
    *not_after = gnutls_x509_crt_get_expiration_time (crt);
  ok = TRUE;

out:
  if (key)
    gnutls_x509_privkey_deinit (key);
  if (crt)
    gnutls_x509_crt_deinit (crt);
  return ok;
}
