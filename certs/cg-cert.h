/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "certs/cg-cert-info.h"
#include "common/cg-secure.h"

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
/* The same for @pair's own key (borrowed; copied): a new serial, new dates
 * and this host's names, but the key and so the SPKI pin every client has
 * stay.  How a self-signed certificate is renewed: a new key is only ever
 * the admin's choice. */
CgCertPair *cg_cert_pair_renew_self_signed (CgCertPair *pair, guint days, GError **error);

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
/* The private key as unencrypted PKCS#8 PEM, NUL-terminated (len excludes
 * the NUL), in a buffer that wipes itself: for files written 0600 and for
 * backups sealed under a passphrase, nothing else. */
CgBuf *cg_cert_pair_key_pem (CgCertPair *pair, GError **error);
gboolean cg_cert_pair_is_self_signed (CgCertPair *pair);
/* Seconds since the epoch. */
gint64 cg_cert_pair_get_not_after (CgCertPair *pair);

/* SPKI pin of a DER certificate (for clients) (transfer full). */
char *cg_cert_spki_pin_from_der (const guint8 *der, gsize len, GError **error);

/* One DER certificate, bounded and parsed (transfer full; CG_ERROR_INVALID
 * or CG_ERROR_TOO_LARGE), its pin (transfer full) and whether its own key
 * signed it. */
gnutls_x509_crt_t cg_cert_crt_from_der (const guint8 *der, gsize len, GError **error);
char *cg_cert_crt_spki_pin (gnutls_x509_crt_t crt, GError **error);
gboolean cg_cert_crt_is_self_signed (gnutls_x509_crt_t crt);


/* --- An admin's certificate (cg-cert-import.c, cg-cert-validate.c) --- */

/* A pair from memory: @chain is PEM certificates in any order or one DER
 * certificate, @key PEM or DER (PKCS#1, SEC1, PKCS#8), encrypted ones
 * opened with @passphrase (nullable).  The chain is reordered from the
 * key's certificate up; what was odd about it (order, strays, missing
 * intermediates) is added to @warnings (nullable, of char *).  Only the
 * key's match is checked: see cg_cert_pair_validate. */
CgCertPair *cg_cert_pair_load_data (const void *chain, gsize chain_len, const void *key,
                                    gsize key_len, const char *passphrase, GPtrArray *warnings,
                                    GError **error);
/* The same from a PKCS#12 bundle (DER or PEM); NULL @password tries the
 * empty one, which is what "no password" means to most tools. */
CgCertPair *cg_cert_pair_load_pkcs12 (const void *data, gsize len, const char *password,
                                      GPtrArray *warnings, GError **error);
/* Whether opening this needs a passphrase: for a tool deciding to ask. */
gboolean cg_cert_key_needs_passphrase (const void *key, gsize len);
gboolean cg_cert_pkcs12_needs_password (const void *data, gsize len);

typedef enum
{
  CG_CERT_VALIDATE_DEFAULT = 0,
  CG_CERT_VALIDATE_FORCE = 1 << 0, /* names not matching @host_names: a warning */
} CgCertValidateFlags;

/* Fit to serve?  Refuses (CG_ERROR_INVALID, one message per reason): not
 * yet valid, expired, RSA under 2048 bits, a SHA-1/MD5 signature on the leaf
 * or an intermediate, an extended key usage without serverAuth, a key
 * usage without digitalSignature; and (CG_ERROR_CONFLICT) names that match
 * none of @host_names unless CG_CERT_VALIDATE_FORCE.  Warns: under
 * CG_CERT_RENEW_DAYS left. */
gboolean cg_cert_pair_validate (CgCertPair *pair, const char *const *host_names,
                                CgCertValidateFlags flags, GPtrArray *warnings,
                                GError **error);

/* This host's names: host name and FQDN (transfer full). */
GStrv cg_cert_local_host_names (void);

/* What `cert show` prints (transfer full where a pointer). */
char *cg_cert_pair_get_subject (CgCertPair *pair);
char *cg_cert_pair_get_issuer (CgCertPair *pair);
GStrv cg_cert_pair_get_sans (CgCertPair *pair); /* "DNS:name", "IP:addr" */
char *cg_cert_pair_get_key_type (CgCertPair *pair); /* "ECDSA P-256", "RSA 3072" */
gint64 cg_cert_pair_get_not_before (CgCertPair *pair);
int cg_cert_pair_get_days_left (CgCertPair *pair, gint64 now);
/* The key type to renew a self-signed pair with. */
CgKeyType cg_cert_pair_get_generate_type (CgCertPair *pair);
/* "ecdsa-p256", "ecdsa-p384", "rsa-3072". */
gboolean cg_key_type_from_name (const char *name, CgKeyType *type);

G_END_DECLS
