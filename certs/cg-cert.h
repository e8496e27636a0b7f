/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

G_BEGIN_DECLS

/* A certificate chain (leaf first) and its private key, as the agent serves
 * them.  Immutable once made; shared by reference so a live swap never frees
 * a pair that a handshake is still using. */
typedef struct CgCertPair CgCertPair;

typedef enum
{
  CG_KEY_TYPE_ECDSA_P256,
  CG_KEY_TYPE_ECDSA_P384,
  CG_KEY_TYPE_RSA_3072,
} CgKeyType;

#define CG_CERT_SELF_SIGNED_DAYS 395
#define CG_CERT_RENEW_DAYS 30

/* A new self-signed serverAuth certificate whose SANs name this host:
 * host name, FQDN, localhost, 127.0.0.1, ::1. */
CgCertPair *cg_cert_pair_generate_self_signed (CgKeyType type, guint days, GError **error);

/* Load a PEM (or DER) certificate chain and a PEM (or DER) private key. */
CgCertPair *cg_cert_pair_load_files (const char *chain_path, const char *key_path,
                                     GError **error);

/* Write chain (PEM) and key (PEM, 0600), each atomically. */
gboolean cg_cert_pair_save_files (CgCertPair *pair, const char *chain_path, const char *key_path,
                                  GError **error);

/* The state directory's served pair: load DIR/tls/server.crt + server.key,
 * or on first start generate a self-signed ECDSA P-256 pair there. */
CgCertPair *cg_cert_pair_ensure (const char *state_dir, gboolean *generated, GError **error);

CgCertPair *cg_cert_pair_ref (CgCertPair *pair);
void cg_cert_pair_unref (CgCertPair *pair);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgCertPair, cg_cert_pair_unref)

/* "sha256:" + standard base64 of SHA-256(DER SubjectPublicKeyInfo) of the
 * leaf: the same digest curl's --pinnedpubkey sha256// takes (borrowed). */
const char *cg_cert_pair_get_spki_pin (CgCertPair *pair);

/* For the TLS retrieve callback (borrowed, valid while the pair is). */
gnutls_pcert_st *cg_cert_pair_get_pcerts (CgCertPair *pair, unsigned int *n_certs);
gnutls_privkey_t cg_cert_pair_get_privkey (CgCertPair *pair);

/* The leaf (borrowed), the chain as PEM (transfer full). */
gnutls_x509_crt_t cg_cert_pair_get_leaf (CgCertPair *pair);
char *cg_cert_pair_chain_pem (CgCertPair *pair);
gboolean cg_cert_pair_is_self_signed (CgCertPair *pair);
/* Seconds since the epoch. */
gint64 cg_cert_pair_get_not_after (CgCertPair *pair);

/* SPKI pin of a DER certificate (for clients) (transfer full). */
char *cg_cert_spki_pin_from_der (const guint8 *der, gsize len, GError **error);

G_END_DECLS
