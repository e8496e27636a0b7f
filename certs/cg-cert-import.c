/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An admin's certificate from memory, as credgatectl sends it: a chain in
 * any order (PEM, or one DER certificate) and a key (PEM or DER, perhaps
 * encrypted), or a PKCS#12 bundle.  The chain is put in the order a TLS
 * server sends it, starting from the certificate the key belongs to. */
#include "config.h"

#include "certs/cg-cert.h"
#include "certs/cg-cert-private.h"
#include "common/cg-error.h"
#include "common/cg-secure.h"

#include <gnutls/pkcs12.h>
#include <string.h>

gboolean
cg_cert_is_pem (const void *data, gsize len)
{
  return g_strstr_len (data, len, "-----BEGIN ") != NULL;
}

gboolean
cg_cert_pem_key_is_encrypted (const void *data, gsize len)
{
  return g_strstr_len (data, len, "-----BEGIN ENCRYPTED ")
         || g_strstr_len (data, len, "Proc-Type: 4,ENCRYPTED");
}

static void warn (GPtrArray *warnings, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
warn (GPtrArray *warnings, const char *fmt, ...)
{
  va_list ap;
  if (!warnings)
    return;
  va_start (ap, fmt);
  g_ptr_array_add (warnings, g_strdup_vprintf (fmt, ap));
  va_end (ap);
}

static gboolean
check_size (gsize len, const char *what, GError **error)
{
  if (len == 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s: the file is empty", what);
      return FALSE;
    }
  if (len > CG_CERT_FILE_MAX)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE, "%s: too large (at most %d bytes)", what,
                   CG_CERT_FILE_MAX);
      return FALSE;
    }
  return TRUE;
}

gboolean
cg_cert_key_needs_passphrase (const void *key, gsize len)
{
  if (len == 0 || len > CG_CERT_FILE_MAX)
    return FALSE;
  if (cg_cert_is_pem (key, len))
    return cg_cert_pem_key_is_encrypted (key, len);
  /* DER: only an encrypted PKCS#8 key fails this way without a password. */
  gnutls_x509_privkey_t xkey = NULL;
  if (gnutls_x509_privkey_init (&xkey) < 0)
    return FALSE;
  gnutls_datum_t datum = { (unsigned char *) key, (unsigned int) len };
  int r = gnutls_x509_privkey_import2 (xkey, &datum, GNUTLS_X509_FMT_DER, NULL, 0);
  gnutls_x509_privkey_deinit (xkey);
  return r == GNUTLS_E_DECRYPTION_FAILED;
}

/* The private key in @key; @passphrase (nullable) opens an encrypted one. */
static gboolean
import_key (const void *key, gsize len, const char *passphrase, gnutls_privkey_t *out,
            GError **error)
{
  gnutls_x509_privkey_t xkey = NULL;
  int r;

  *out = NULL;
  if (!check_size (len, "private key", error))
    return FALSE;
  gboolean encrypted = cg_cert_key_needs_passphrase (key, len);
  if (encrypted && !passphrase)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "private key: it is encrypted and no passphrase was given "
                   "(credgatectl asks for it on a terminal, or reads it with --passphrase-fd N)");
      return FALSE;
    }
  if ((r = gnutls_x509_privkey_init (&xkey)) < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "private key: %s", gnutls_strerror (r));
      return FALSE;
    }
  gnutls_datum_t datum = { (unsigned char *) key, (unsigned int) len };
  r = gnutls_x509_privkey_import2 (xkey, &datum,
                                   cg_cert_is_pem (key, len) ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER,
                                   encrypted ? passphrase : NULL, 0);
  if (r < 0)
    {
      if (encrypted)
        g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                     "private key: wrong passphrase (it does not decrypt the key)");
      else
        g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                     "private key: no private key found (empty, garbage or truncated: %s)",
                     gnutls_strerror (r));
      gnutls_x509_privkey_deinit (xkey);
      return FALSE;
    }
  if ((r = gnutls_privkey_init (out)) < 0
      || (r = gnutls_privkey_import_x509 (*out, xkey, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE)) < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "private key: %s", gnutls_strerror (r));
      if (*out)
        gnutls_privkey_deinit (*out);
      *out = NULL;
      gnutls_x509_privkey_deinit (xkey);
      return FALSE;
    }
  return TRUE;
}

static gboolean
import_chain (const void *chain, gsize len, gnutls_x509_crt_t **crts, unsigned int *n_crts,
              GError **error)
{
  int r;

  *crts = NULL;
  *n_crts = 0;
  if (!check_size (len, "certificate", error))
    return FALSE;
  gnutls_datum_t datum = { (unsigned char *) chain, (unsigned int) len };
  if (cg_cert_is_pem (chain, len))
    {
      /* No sorting flag: the order given is checked (and fixed) below,
       * with a warning rather than a refusal. */
      r = gnutls_x509_crt_list_import2 (crts, n_crts, &datum, GNUTLS_X509_FMT_PEM, 0);
      if (r == GNUTLS_E_NO_CERTIFICATE_FOUND || (r >= 0 && *n_crts == 0))
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                       "certificate: no certificate found (garbage, or a key where the "
                       "certificate should be?)");
          return FALSE;
        }
      if (r < 0)
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                       "certificate: damaged or truncated PEM (%s)", gnutls_strerror (r));
          return FALSE;
        }
      return TRUE;
    }
  gnutls_x509_crt_t crt = NULL;
  if ((r = gnutls_x509_crt_init (&crt)) < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "certificate: %s", gnutls_strerror (r));
      return FALSE;
    }
  if ((r = gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER)) < 0)
    {
      gnutls_x509_crt_deinit (crt);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "certificate: no certificate found (neither PEM nor DER: garbage or "
                   "truncated: %s)",
                   gnutls_strerror (r));
      return FALSE;
    }
  *crts = gnutls_malloc (sizeof **crts);
  if (!*crts)
    {
      gnutls_x509_crt_deinit (crt);
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "certificate: out of memory");
      return FALSE;
    }
  (*crts)[0] = crt;
  *n_crts = 1;
  return TRUE;
}

static char *
subject_of (gnutls_x509_crt_t crt)
{
  gnutls_datum_t dn = { NULL, 0 };
  if (gnutls_x509_crt_get_dn3 (crt, &dn, 0) < 0)
    return g_strdup ("?");
  char *s = g_strndup ((const char *) dn.data, dn.size);
  gnutls_free (dn.data);
  return s;
}

static char *
issuer_of (gnutls_x509_crt_t crt)
{
  gnutls_datum_t dn = { NULL, 0 };
  if (gnutls_x509_crt_get_issuer_dn3 (crt, &dn, 0) < 0)
    return g_strdup ("?");
  char *s = g_strndup ((const char *) dn.data, dn.size);
  gnutls_free (dn.data);
  return s;
}

static gboolean
key_fits (gnutls_privkey_t key, gnutls_x509_crt_t crt)
{
  gnutls_pubkey_t a = NULL, b = NULL;
  gnutls_datum_t da = { NULL, 0 }, db = { NULL, 0 };
  gboolean same = FALSE;

  if (gnutls_pubkey_init (&a) >= 0 && gnutls_pubkey_init (&b) >= 0
      && gnutls_pubkey_import_privkey (a, key, 0, 0) >= 0
      && gnutls_pubkey_import_x509 (b, crt, 0) >= 0
      && gnutls_pubkey_export2 (a, GNUTLS_X509_FMT_DER, &da) >= 0
      && gnutls_pubkey_export2 (b, GNUTLS_X509_FMT_DER, &db) >= 0)
    same = da.size == db.size && memcmp (da.data, db.data, da.size) == 0;
  gnutls_free (da.data);
  gnutls_free (db.data);
  if (a)
    gnutls_pubkey_deinit (a);
  if (b)
    gnutls_pubkey_deinit (b);
  return same;
}

static gboolean
self_issued (gnutls_x509_crt_t crt)
{
  return gnutls_x509_crt_check_issuer (crt, crt) != 0;
}

/* Reorders @crts in place: the certificate @key belongs to, then each
 * issuer found among the rest.  Certificates outside that path are
 * dropped.  Everything unusual becomes a warning; only a key that fits no
 * certificate is an error (then the first certificate stays first, so the
 * pair's own check reports the mismatch). */
static void
order_chain (gnutls_x509_crt_t *crts, unsigned int *n_crts, gnutls_privkey_t key,
             GPtrArray *warnings)
{
  unsigned int n = *n_crts, leaf = n;
  for (unsigned int i = 0; i < n; i++)
    if (key_fits (key, crts[i]))
      {
        leaf = i;
        break;
      }
  if (leaf == n)
    return;

  g_autofree gnutls_x509_crt_t *sorted = g_new0 (gnutls_x509_crt_t, n);
  g_autofree gboolean *used = g_new0 (gboolean, n);
  g_autofree unsigned int *from = g_new0 (unsigned int, n);
  unsigned int m = 0;
  sorted[m] = crts[leaf];
  from[m++] = leaf;
  used[leaf] = TRUE;
  while (!self_issued (sorted[m - 1]))
    {
      unsigned int next = n;
      for (unsigned int i = 0; i < n; i++)
        if (!used[i] && gnutls_x509_crt_check_issuer (sorted[m - 1], crts[i]))
          {
            next = i;
            break;
          }
      if (next == n)
        break;
      sorted[m] = crts[next];
      from[m++] = next;
      used[next] = TRUE;
    }

  gboolean reordered = FALSE;
  for (unsigned int i = 0; i < m; i++)
    if (from[i] != i)
      reordered = TRUE;
  if (reordered)
    warn (warnings, "the chain was out of order (the server certificate comes first, then each "
                    "issuer); it is served in the right order");
  for (unsigned int i = 0; i < n; i++)
    if (!used[i])
      {
        g_autofree char *s = subject_of (crts[i]);
        warn (warnings, "the certificate \"%s\" is not part of the chain; it is left out", s);
        gnutls_x509_crt_deinit (crts[i]);
      }
  if (!self_issued (sorted[m - 1]))
    {
      g_autofree char *iss = issuer_of (sorted[m - 1]);
      if (m == 1)
        warn (warnings,
              "the chain is incomplete: no intermediate certificate was given; clients that "
              "do not already have \"%s\" cannot verify it",
              iss);
      else
        warn (warnings,
              "the chain is incomplete: it ends below \"%s\", which clients must already "
              "have",
              iss);
    }
  memcpy (crts, sorted, m * sizeof *crts);
  *n_crts = m;
}

static void
free_crts (gnutls_x509_crt_t *crts, unsigned int n)
{
  for (unsigned int i = 0; i < n; i++)
    gnutls_x509_crt_deinit (crts[i]);
  gnutls_free (crts);
}

CgCertPair *
cg_cert_pair_load_data (const void *chain, gsize chain_len, const void *key, gsize key_len,
                        const char *passphrase, GPtrArray *warnings, GError **error)
{
  gnutls_x509_crt_t *crts = NULL;
  unsigned int n_crts = 0;
  gnutls_privkey_t pkey = NULL;

  if (!import_chain (chain, chain_len, &crts, &n_crts, error))
    return NULL;
  if (!import_key (key, key_len, passphrase, &pkey, error))
    {
      free_crts (crts, n_crts);
      return NULL;
    }
  order_chain (crts, &n_crts, pkey, warnings);
  return cg_cert_pair_new_take (crts, n_crts, pkey, "certificate and key", error);
}

gboolean
cg_cert_pkcs12_needs_password (const void *data, gsize len)
{
  gnutls_pkcs12_t p12 = NULL;
  gboolean needs = FALSE;
  if (len == 0 || len > CG_CERT_FILE_MAX || gnutls_pkcs12_init (&p12) < 0)
    return FALSE;
  gnutls_datum_t datum = { (unsigned char *) data, (unsigned int) len };
  if (gnutls_pkcs12_import (p12, &datum, GNUTLS_X509_FMT_DER, 0) >= 0)
    {
      gnutls_x509_privkey_t xkey = NULL;
      gnutls_x509_crt_t *chain = NULL;
      unsigned int n = 0;
      int r = gnutls_pkcs12_simple_parse (p12, "", &xkey, &chain, &n, NULL, NULL, NULL, 0);
      needs = r < 0;
      if (xkey)
        gnutls_x509_privkey_deinit (xkey);
      free_crts (chain, n);
    }
  gnutls_pkcs12_deinit (p12);
  return needs;
}

CgCertPair *
cg_cert_pair_load_pkcs12 (const void *data, gsize len, const char *password, GPtrArray *warnings,
                          GError **error)
{
  gnutls_pkcs12_t p12 = NULL;
  gnutls_x509_privkey_t xkey = NULL;
  gnutls_x509_crt_t *chain = NULL, *extra = NULL;
  unsigned int n_chain = 0, n_extra = 0;
  gnutls_privkey_t pkey = NULL;
  CgCertPair *pair = NULL;
  int r;

  if (!check_size (len, "PKCS#12 bundle", error))
    return NULL;
  if ((r = gnutls_pkcs12_init (&p12)) < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "PKCS#12: %s", gnutls_strerror (r));
      return NULL;
    }
  gnutls_datum_t datum = { (unsigned char *) data, (unsigned int) len };
  if ((r = gnutls_pkcs12_import (p12, &datum,
                                 cg_cert_is_pem (data, len) ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER, 0))
      < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "PKCS#12 bundle: cannot read it (garbage or truncated: %s)",
                   gnutls_strerror (r));
      goto out;
    }
  /* A bundle "without a password" is, with most tools, one with the empty
   * password. */
  r = gnutls_pkcs12_simple_parse (p12, password ? password : "", &xkey, &chain, &n_chain, &extra,
                                  &n_extra, NULL, GNUTLS_PKCS12_SP_INCLUDE_SELF_SIGNED);
  if (r < 0)
    {
      /* A wrong password usually fails the MAC or the decryption; about
       * one in 256 decrypts to garbage with valid padding, and the parse
       * fails on that first.  The MAC says which it was. */
      if (r == GNUTLS_E_MAC_VERIFY_FAILED || r == GNUTLS_E_DECRYPTION_FAILED
          || gnutls_pkcs12_verify_mac (p12, password ? password : "")
                 == GNUTLS_E_MAC_VERIFY_FAILED)
        g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                     password ? "PKCS#12 bundle: wrong password"
                              : "PKCS#12 bundle: it is protected by a password and none was "
                                "given (credgatectl asks for it on a terminal, or reads it "
                                "with --passphrase-fd N)");
      else
        g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                     "PKCS#12 bundle: no certificate and key found in it (%s)",
                     gnutls_strerror (r));
      goto out;
    }
  if (!xkey || n_chain == 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "PKCS#12 bundle: it must hold the certificate and its private key");
      goto out;
    }
  if ((r = gnutls_privkey_init (&pkey)) < 0
      || (r = gnutls_privkey_import_x509 (pkey, xkey, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE)) < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "PKCS#12: %s", gnutls_strerror (r));
      goto out;
    }
  xkey = NULL;
  /* simple_parse already puts the chain in order from the key's
   * certificate; ordering again only adds the "incomplete" warning. */
  order_chain (chain, &n_chain, pkey, warnings);
  pair = cg_cert_pair_new_take (chain, n_chain, pkey, "PKCS#12 bundle", error);
  chain = NULL;
  n_chain = 0;
  pkey = NULL;

out:
  if (pkey)
    gnutls_privkey_deinit (pkey);
  if (xkey)
    gnutls_x509_privkey_deinit (xkey);
  free_crts (chain, n_chain);
  free_crts (extra, n_extra);
  gnutls_pkcs12_deinit (p12);
  return pair;
}
