/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#include "certs/cg-cert.h"

G_BEGIN_DECLS

/* The certificate the agent serves.  Each handshake asks for the current
 * pair through the GnuTLS retrieve callback; a swap replaces it under a
 * mutex.  GnuTLS does not free what the callback hands out and a handshake
 * may still be using the old pair, so replaced pairs are kept until the
 * agent exits (swaps are rare: a few pairs at most). */

/* Fails with a message naming the position of the error in @priority. */
gboolean cg_tls_check_priority (const char *priority, GError **error);

void cg_tls_set_pair (CgCertPair *pair);            /* takes a new reference */
CgCertPair *cg_tls_get_pair (void);                 /* (transfer full) */
void cg_tls_shutdown (void);

/* The staged next pair (cert install --stage): published as "nextTlsPin"
 * in /v1/info, served only after cg_tls_set_pair.  NULL clears. */
void cg_tls_set_next (CgCertPair *pair);            /* takes a new reference */
CgCertPair *cg_tls_get_next (void);                 /* (transfer full), nullable */

/* For MHD_OPTION_HTTPS_CERT_CALLBACK. */
int cg_tls_retrieve_cb (gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                        const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                        gnutls_pcert_st **pcert, unsigned int *pcert_length,
                        gnutls_privkey_t *privkey);

G_END_DECLS
