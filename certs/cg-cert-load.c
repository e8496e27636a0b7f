/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Certificate chains and keys in files: loading (PEM or DER), saving
 * (atomically, the key 0600), and the state directory's served pair. */
#include "config.h"

#include "certs/cg-cert.h"
#include "common/cg-time.h"
#include "certs/cg-cert-private.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-secure.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <time.h>

/* The chain in @path, leaf first: several PEM certificates or one DER. */
static gboolean
load_chain (const char *path, gnutls_x509_crt_t **crts, unsigned int *n_crts, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  int r;

  *crts = NULL;
  *n_crts = 0;
  if (!cg_file_read_capped (path, CG_CERT_FILE_MAX, &data, &len, error))
    return FALSE;
  if (len == 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s: no certificate found (empty file)",
                   path);
      return FALSE;
    }

  gnutls_datum_t datum = { (unsigned char *) data, (unsigned int) len };
  if (cg_cert_is_pem (data, len))
    {
      /* Leaf first, then each issuer: the order a TLS server sends. */
      r = gnutls_x509_crt_list_import2 (crts, n_crts, &datum, GNUTLS_X509_FMT_PEM,
                                        GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
      if (r == GNUTLS_E_CERTIFICATE_LIST_UNSORTED)
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                       "%s: the certificates are out of order (the server certificate "
                       "comes first, then each issuer)",
                       path);
          return FALSE;
        }
      if (r == GNUTLS_E_NO_CERTIFICATE_FOUND || (r >= 0 && *n_crts == 0))
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s: no certificate found", path);
          return FALSE;
        }
      if (r < 0)
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                       "%s: no certificate found (damaged or truncated PEM: %s)", path,
                       gnutls_strerror (r));
          return FALSE;
        }
      return TRUE;
    }

  gnutls_x509_crt_t crt = NULL;
  if ((r = gnutls_x509_crt_init (&crt)) < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "%s: %s", path, gnutls_strerror (r));
      return FALSE;
    }
  if ((r = gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER)) < 0)
    {
      gnutls_x509_crt_deinit (crt);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "%s: no certificate found (neither PEM nor a DER certificate: %s)", path,
                   gnutls_strerror (r));
      return FALSE;
    }
  *crts = gnutls_malloc (sizeof **crts);
  if (!*crts)
    {
      gnutls_x509_crt_deinit (crt);
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "%s: out of memory", path);
      return FALSE;
    }
  (*crts)[0] = crt;
  *n_crts = 1;
  return TRUE;
}

static gboolean
load_key (const char *path, gnutls_privkey_t *key, GError **error)
{
  char *data = NULL;
  gsize len = 0;
  gnutls_x509_privkey_t xkey = NULL;
  gboolean ok = FALSE;
  int r;

  *key = NULL;
  if (!cg_file_read_capped (path, CG_CERT_FILE_MAX, &data, &len, error))
    return FALSE;
  if (len == 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s: no private key found (empty file)",
                   path);
      goto out;
    }

  gboolean pem = cg_cert_is_pem (data, len);
  if (pem && cg_cert_pem_key_is_encrypted (data, len))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_UNSUPPORTED,
                   "%s: the private key is encrypted; decrypt it first "
                   "(certtool --to-p8 --null-password, or openssl pkey)",
                   path);
      goto out;
    }

  gnutls_datum_t datum = { (unsigned char *) data, (unsigned int) len };
  if ((r = gnutls_x509_privkey_init (&xkey)) < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "%s: %s", path, gnutls_strerror (r));
      goto out;
    }
  /* PKCS#1, SEC1 and unencrypted PKCS#8, PEM or DER; no password, so an
   * encrypted DER PKCS#8 key fails to decrypt. */
  r = gnutls_x509_privkey_import2 (xkey, &datum, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER,
                                   NULL, 0);
  if (r == GNUTLS_E_DECRYPTION_FAILED)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_UNSUPPORTED,
                   "%s: the private key is encrypted; decrypt it first "
                   "(certtool --to-p8 --null-password, or openssl pkey)",
                   path);
      goto out;
    }
  if (r < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s: no private key found (%s)", path,
                   gnutls_strerror (r));
      goto out;
    }
  if ((r = gnutls_privkey_init (key)) < 0
      || (r = gnutls_privkey_import_x509 (*key, xkey, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE)) < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "%s: %s", path, gnutls_strerror (r));
      goto out;
    }
  xkey = NULL; /* owned by *key now */
  ok = TRUE;

out:
  if (!ok && *key)
    {
      gnutls_privkey_deinit (*key);
      *key = NULL;
    }
  if (xkey)
    gnutls_x509_privkey_deinit (xkey);
  cg_wipe (data, len);
  g_free (data);
  return ok;
}

/* Dates now; the rest of an admin certificate's checks (key usage, SANs,
 * strength) come with the live swap. */
static gboolean
check_dates (gnutls_x509_crt_t leaf, const char *path, GError **error)
{
  time_t now = time (NULL);
  time_t not_before = gnutls_x509_crt_get_activation_time (leaf);
  time_t not_after = gnutls_x509_crt_get_expiration_time (leaf);

  if (not_before == (time_t) -1 || not_after == (time_t) -1)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s: the certificate has no valid dates",
                   path);
      return FALSE;
    }
  if (now < not_before)
    {
      g_autofree char *when = cg_time_human (not_before);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "%s: the certificate is not valid yet (valid from %s)", path, when);
      return FALSE;
    }
  if (now > not_after)
    {
      g_autofree char *when = cg_time_human (not_after);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s: the certificate expired on %s",
                   path, when);
      return FALSE;
    }
  return TRUE;
}

CgCertPair *
cg_cert_pair_load_files (const char *chain_path, const char *key_path, GError **error)
{
  gnutls_x509_crt_t *crts = NULL;
  unsigned int n_crts = 0;
  gnutls_privkey_t key = NULL;

  g_return_val_if_fail (chain_path != NULL && key_path != NULL, NULL);

  if (!load_chain (chain_path, &crts, &n_crts, error))
    return NULL;
  if (!check_dates (crts[0], chain_path, error) || !load_key (key_path, &key, error))
    {
      for (unsigned int i = 0; i < n_crts; i++)
        gnutls_x509_crt_deinit (crts[i]);
      gnutls_free (crts);
      return NULL;
    }
  /* The mismatch message names the key file: that is the one to fix. */
  return cg_cert_pair_new_take (crts, n_crts, key, key_path, error);
}

CgBuf *
cg_cert_pair_key_pem (CgCertPair *pair, GError **error)
{
  gnutls_x509_privkey_t xkey = NULL;
  gnutls_datum_t pem = { NULL, 0 };
  CgBuf *buf = NULL;
  int r;

  g_return_val_if_fail (pair != NULL, NULL);
  if ((r = gnutls_privkey_export_x509 (cg_cert_pair_get_privkey (pair), &xkey)) < 0
      || (r = gnutls_x509_privkey_export2_pkcs8 (xkey, GNUTLS_X509_FMT_PEM, NULL,
                                                 GNUTLS_PKCS_PLAIN, &pem)) < 0)
    g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "cannot export the private key: %s",
                 gnutls_strerror (r));
  else
    buf = cg_buf_new_copy (pem.data, pem.size);
  if (pem.data)
    {
      cg_wipe (pem.data, pem.size);
      gnutls_free (pem.data);
    }
  if (xkey)
    gnutls_x509_privkey_deinit (xkey);
  return buf;
}

gboolean
cg_cert_pair_save_files (CgCertPair *pair, const char *chain_path, const char *key_path,
                         GError **error)
{
  g_return_val_if_fail (pair != NULL && chain_path != NULL && key_path != NULL, FALSE);

  g_autoptr (CgBuf) key = cg_cert_pair_key_pem (pair, error);
  if (!key)
    {
      g_prefix_error (error, "%s: ", key_path);
      return FALSE;
    }
  /* The key first: a chain without its key is the worse half-state. */
  if (!cg_file_write_atomic (key_path, key->data, key->len, 0600, error))
    return FALSE;
  g_autofree char *chain = cg_cert_pair_chain_pem (pair);
  return cg_file_write_atomic (chain_path, chain, strlen (chain), 0644, error);
}

/* TRUE in *exists if something (even a dangling link) is at @path. */
static gboolean
path_exists (const char *path, gboolean *exists, GError **error)
{
  GStatBuf st;
  if (g_lstat (path, &st) == 0)
    {
      *exists = TRUE;
      return TRUE;
    }
  int saved = errno;
  if (saved == ENOENT)
    {
      *exists = FALSE;
      return TRUE;
    }
  g_set_error (error, CG_ERROR, CG_ERROR_IO, "%s: %s", path, g_strerror (saved));
  return FALSE;
}

CgCertPair *
cg_cert_pair_ensure (const char *state_dir, gboolean *generated, GError **error)
{
  gboolean have_crt = FALSE, have_key = FALSE;

  g_return_val_if_fail (state_dir != NULL, NULL);
  if (generated)
    *generated = FALSE;

  g_autofree char *dir = g_build_filename (state_dir, "tls", NULL);
  g_autofree char *crt_path = g_build_filename (dir, "server.crt", NULL);
  g_autofree char *key_path = g_build_filename (dir, "server.key", NULL);

  if (!cg_mkdir_private (dir, 0700, error) || !path_exists (crt_path, &have_crt, error)
      || !path_exists (key_path, &have_key, error))
    return NULL;

  /* Whatever is there is the admin's (or ours from before): load it or
   * fail loudly, never generate over it. */
  if (have_crt && have_key)
    return cg_cert_pair_load_files (crt_path, key_path, error);
  if (have_crt || have_key)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                   "%s is missing (but %s exists); restore it, or remove %s to have a new "
                   "self-signed certificate made",
                   have_crt ? key_path : crt_path, have_crt ? crt_path : key_path,
                   have_crt ? crt_path : key_path);
      return NULL;
    }

  g_autoptr (CgCertPair) pair = cg_cert_pair_generate_self_signed (CG_KEY_TYPE_ECDSA_P256,
                                                                   CG_CERT_SELF_SIGNED_DAYS,
                                                                   error);
  if (!pair)
    return NULL;
  if (!cg_cert_pair_save_files (pair, crt_path, key_path, error))
    {
      /* Leave no lone key behind to block the next start. */
      g_unlink (key_path);
      return NULL;
    }
  if (generated)
    *generated = TRUE;
  return g_steal_pointer (&pair);
}
