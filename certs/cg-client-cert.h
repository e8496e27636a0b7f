/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/cg-secure.h"

G_BEGIN_DECLS

/* Client certificates (issue 12): the agent's own client CA signs a
 * certificate for each enrolled client, and a client proves its key with a
 * certificate signing request.  Everything here is X.509 through GnuTLS;
 * who is enrolled, revoked or expired is the agent's database's business.
 * Only ECDSA P-256 keys are made or accepted. */

/* Most a CSR or a client certificate may be (they are a few hundred bytes). */
#define CG_CLIENT_CSR_MAX (16 * 1024)

/* The client CA's self-signed certificate for @key (borrowed), with the
 * subject "CN=credgate client CA @label", valid @days (transfer full: PEM). */
char *cg_client_ca_make_cert (gnutls_privkey_t key, const char *label, guint days,
                              GError **error);

/* A certificate for the public key in @csr_pem (a PKCS#10 request whose own
 * signature must verify: proof that the client holds the key), issued by
 * @ca_cert with @ca_key, subject "CN=@name", clientAuth only, valid from now
 * for @validity_s seconds.  The request's subject and extensions are ignored.
 * Returns the certificate as PEM and, each nullable, its serial (lower-case
 * hex), the SPKI pin of its key and its end (seconds since the epoch). */
char *cg_client_ca_sign_csr (gnutls_x509_crt_t ca_cert, gnutls_privkey_t ca_key,
                             const char *csr_pem, gsize csr_len, const char *name,
                             gint64 validity_s, char **serial_hex, char **spki_pin,
                             gint64 *not_after, GError **error);

/* Is the DER certificate @der one @ca_cert issued, and valid now?  Sets
 * CG_ERROR_FORBIDDEN with the reason (another CA, expired, not yet valid,
 * malformed) otherwise.  On success @serial_hex and @spki_pin (each
 * nullable) receive the serial and the key's pin (transfer full). */
gboolean cg_client_ca_verify (gnutls_x509_crt_t ca_cert, const guint8 *der, gsize len,
                              char **serial_hex, char **spki_pin, GError **error);

/* Client side: a fresh P-256 key as unencrypted PKCS#8 PEM (in a wiping
 * buffer, NUL-terminated) and a CSR for it with "CN=@cn" (PEM). */
gboolean cg_client_key_generate (const char *cn, CgBuf **key_pem, char **csr_pem,
                                 GError **error);

/* Does the PEM certificate @cert_pem belong to the PEM private key in
 * @key_pem?  Also gives the certificate's end (nullable). */
gboolean cg_client_cert_matches_key (const char *cert_pem, gsize cert_len, const CgBuf *key_pem,
                                     gint64 *not_after, GError **error);

G_END_DECLS
