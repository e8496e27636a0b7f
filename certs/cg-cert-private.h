/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared between the files of certs/ only; nothing outside certs/ includes
 * this. */
#pragma once

#include "certs/cg-cert.h"

G_BEGIN_DECLS

/* Most a certificate chain or key file may hold: real chains are a few KiB. */
#define CG_CERT_FILE_MAX (1024 * 1024)

/* A pair from a chain (leaf first) and its key.  Takes @crts (the array and
 * every certificate) and @key in all cases, also on failure (stolen).
 * Checks that the key belongs to the leaf; @what names the source in
 * errors. */
CgCertPair *cg_cert_pair_new_take (gnutls_x509_crt_t *crts, unsigned int n_crts,
                                   gnutls_privkey_t key, const char *what, GError **error);

/* Whether @data looks like PEM (a "-----BEGIN " line) rather than DER. */
gboolean cg_cert_is_pem (const void *data, gsize len);
/* Whether a PEM key is passphrase-protected: a PKCS#8 "ENCRYPTED ..." block
 * or OpenSSL's traditional "Proc-Type: 4,ENCRYPTED" header. */
gboolean cg_cert_pem_key_is_encrypted (const void *data, gsize len);

/* "sha256:" + base64 of SHA-256 of the DER SubjectPublicKeyInfo; NULL on a
 * GnuTLS error (transfer full). */
char *cg_cert_pin_from_pubkey (gnutls_pubkey_t pub, GError **error);

/* The DER SubjectPublicKeyInfo of @pub, in a GnuTLS-allocated datum. */
gboolean cg_cert_spki_der (gnutls_pubkey_t pub, gnutls_datum_t *spki, GError **error);

G_END_DECLS
