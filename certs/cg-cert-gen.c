/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A self-signed server certificate for this host, made in certtool's order:
 * key, serial, dates, names, constraints and usages, key id, signature. */
#include "config.h"

#include "certs/cg-cert.h"
#include "certs/cg-cert-private.h"
#include "common/cg-error.h"

#include <gnutls/crypto.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* The FQDN lookup may go to DNS; a first start must not hang on it. */
#define FQDN_LOOKUP_TIMEOUT_USEC (2 * G_USEC_PER_SEC)
/* ub-common-name in RFC 5280. */
#define CN_MAX 64

/* The lookup runs in a thread of its own so it can be abandoned when it
 * takes too long; the thread and the caller share this by reference. */
typedef struct
{
  gint ref_count;
  GMutex lock;
  GCond cond;
  gboolean done;
  char *host;
  char *canonical;
} FqdnLookup;

static void
fqdn_lookup_unref (FqdnLookup *lookup)
{
  if (!g_atomic_int_dec_and_test (&lookup->ref_count))
    return;
  g_mutex_clear (&lookup->lock);
  g_cond_clear (&lookup->cond);
  g_free (lookup->host);
  g_free (lookup->canonical);
  g_free (lookup);
}

static gpointer
fqdn_lookup_thread (gpointer data)
{
  FqdnLookup *lookup = data;
  struct addrinfo hints = { .ai_flags = AI_CANONNAME, .ai_family = AF_UNSPEC };
  struct addrinfo *res = NULL;
  char *canonical = NULL;

  if (getaddrinfo (lookup->host, NULL, &hints, &res) == 0 && res)
    {
      if (res->ai_canonname)
        canonical = g_strdup (res->ai_canonname);
      freeaddrinfo (res);
    }
  g_mutex_lock (&lookup->lock);
  lookup->canonical = canonical;
  lookup->done = TRUE;
  g_cond_signal (&lookup->cond);
  g_mutex_unlock (&lookup->lock);
  fqdn_lookup_unref (lookup);
  return NULL;
}

/* Letters, digits, hyphens and dots, no empty label: a name fit for a DNS
 * SAN.  Anything else (an odd host name, an IP literal) is left out. */
static gboolean
is_dns_name (const char *name)
{
  gsize len = strlen (name);
  if (len == 0 || len > 253 || name[0] == '.' || name[len - 1] == '.' || strstr (name, ".."))
    return FALSE;
  if (g_hostname_is_ip_address (name))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      return FALSE;
  return TRUE;
}

static gboolean
looks_like_fqdn (const char *name)
{
  return is_dns_name (name) && strchr (name, '.') != NULL
         && g_ascii_strncasecmp (name, "localhost.", strlen ("localhost.")) != 0;
}

/* The canonical name of @host, or NULL when it has none, it is no FQDN, or
 * the resolver does not answer in time. */
static char *
lookup_fqdn (const char *host)
{
  FqdnLookup *lookup = g_new0 (FqdnLookup, 1);
  char *fqdn = NULL;

  if (looks_like_fqdn (host))
    {
      g_free (lookup);
      return g_strdup (host);
    }
  lookup->ref_count = 2; /* the caller's and the thread's */
  g_mutex_init (&lookup->lock);
  g_cond_init (&lookup->cond);
  lookup->host = g_strdup (host);
  GThread *thread = g_thread_try_new ("cg-fqdn", fqdn_lookup_thread, lookup, NULL);
  if (!thread)
    {
      lookup->ref_count = 1;
      fqdn_lookup_unref (lookup);
      return NULL;
    }
  g_thread_unref (thread); /* detached: it may outlive this call */

  gint64 deadline = g_get_monotonic_time () + FQDN_LOOKUP_TIMEOUT_USEC;
  g_mutex_lock (&lookup->lock);
  while (!lookup->done)
    if (!g_cond_wait_until (&lookup->cond, &lookup->lock, deadline))
      break;
  if (lookup->done && lookup->canonical && looks_like_fqdn (lookup->canonical))
    fqdn = g_ascii_strdown (lookup->canonical, -1);
  g_mutex_unlock (&lookup->lock);
  if (!lookup->done)
    g_debug ("FQDN lookup of %s timed out; using the host name only", host);
  fqdn_lookup_unref (lookup);
  return fqdn;
}

GStrv
cg_cert_local_host_names (void)
{
  const char *host = g_get_host_name ();
  g_autofree char *fqdn = lookup_fqdn (host);
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  if (is_dns_name (host))
    g_strv_builder_add (b, host);
  if (fqdn && g_ascii_strcasecmp (fqdn, host) != 0)
    g_strv_builder_add (b, fqdn);
  return g_strv_builder_end (b);
}

static gboolean
check (int r, const char *doing, GError **error)
{
  if (r >= 0)
    return TRUE;
  g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "self-signed certificate: %s: %s", doing,
               gnutls_strerror (r));
  return FALSE;
}

static gboolean
add_dns_san (gnutls_x509_crt_t crt, GPtrArray *added, const char *name, GError **error)
{
  if (!is_dns_name (name))
    return TRUE;
  for (guint i = 0; i < added->len; i++)
    if (g_ascii_strcasecmp (added->pdata[i], name) == 0)
      return TRUE;
  g_ptr_array_add (added, g_strdup (name));
  return check (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, name,
                                                      strlen (name), GNUTLS_FSAN_APPEND),
                "cannot add a DNS name", error);
}

/* With @key NULL a new key is generated; otherwise @key is used (stolen:
 * freed on every path) and only the certificate is new. */
static CgCertPair *
make_self_signed (CgKeyType type, gnutls_privkey_t key, guint days, GError **error)
{
  gnutls_pubkey_t pub = NULL;
  gnutls_x509_crt_t crt = NULL, parsed = NULL;
  gnutls_datum_t der = { NULL, 0 };
  gnutls_pk_algorithm_t algo;
  gnutls_digest_algorithm_t digest = GNUTLS_DIG_SHA256;
  unsigned int bits;
  unsigned int usage = GNUTLS_KEY_DIGITAL_SIGNATURE;
  CgCertPair *pair = NULL;

  switch (type)
    {
    case CG_KEY_TYPE_ECDSA_P256:
      algo = GNUTLS_PK_ECDSA;
      bits = GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1);
      break;
    case CG_KEY_TYPE_ECDSA_P384:
      algo = GNUTLS_PK_ECDSA;
      bits = GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP384R1);
      digest = GNUTLS_DIG_SHA384;
      break;
    case CG_KEY_TYPE_RSA_3072:
      algo = GNUTLS_PK_RSA;
      bits = 3072;
      /* TLS 1.2's RSA key exchange encrypts to the key. */
      usage |= GNUTLS_KEY_KEY_ENCIPHERMENT;
      break;
    default:
      if (key)
        gnutls_privkey_deinit (key);
      g_set_error (error, CG_ERROR, CG_ERROR_UNSUPPORTED, "unknown key type %d", (int) type);
      return NULL;
    }

  const char *host = g_get_host_name ();
  g_autofree char *fqdn = lookup_fqdn (host);
  const char *cn = fqdn && strlen (fqdn) <= CN_MAX ? fqdn
                   : strlen (host) <= CN_MAX && is_dns_name (host) ? host
                   : "localhost";
  g_autoptr (GPtrArray) added = g_ptr_array_new_with_free_func (g_free);
  guint8 serial[20];
  guint8 key_id[64];
  size_t key_id_size = sizeof key_id;
  static const guint8 ipv4_loopback[4] = { 127, 0, 0, 1 };
  static const guint8 ipv6_loopback[16] = { [15] = 1 };
  time_t now = time (NULL);

  /* 1. The key: a new one, or the one given. */
  if (!key
      && (!check (gnutls_privkey_init (&key), "cannot allocate the key", error)
          || !check (gnutls_privkey_generate (key, algo, bits, 0), "cannot generate the key",
                     error)))
    goto out;
  if (!check (gnutls_pubkey_init (&pub), "cannot allocate the public key", error)
      || !check (gnutls_pubkey_import_privkey (pub, key, 0, 0), "cannot derive the public key",
                 error)
      || !check (gnutls_x509_crt_init (&crt), "cannot allocate the certificate", error)
      || !check (gnutls_x509_crt_set_pubkey (crt, pub), "cannot set the public key", error)
      || !check (gnutls_x509_crt_set_version (crt, 3), "cannot set the version", error))
    goto out;

  /* 2. A random positive serial, as RFC 5280 asks: clear the sign bit, and
   * keep the first byte non-zero so the DER integer stays 20 bytes long. */
  if (!check (gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial), "no random bytes", error))
    goto out;
  serial[0] &= 0x7f;
  if (serial[0] == 0)
    serial[0] = 1;
  if (!check (gnutls_x509_crt_set_serial (crt, serial, sizeof serial), "cannot set the serial",
              error))
    goto out;

  /* 3. Dates: an hour back for clients whose clocks run slow. */
  if (!check (gnutls_x509_crt_set_activation_time (crt, now - 3600),
              "cannot set the activation time", error)
      || !check (gnutls_x509_crt_set_expiration_time (crt, now + (time_t) days * 24 * 3600),
                 "cannot set the expiration time", error))
    goto out;

  /* 4. Names: the subject, then every name a client may use for this host. */
  if (!check (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                             strlen (cn)),
              "cannot set the subject", error)
      || !add_dns_san (crt, added, host, error)
      || (fqdn && !add_dns_san (crt, added, fqdn, error))
      || !add_dns_san (crt, added, "localhost", error)
      || !check (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS, ipv4_loopback,
                                                       sizeof ipv4_loopback, GNUTLS_FSAN_APPEND),
                 "cannot add 127.0.0.1", error)
      || !check (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS, ipv6_loopback,
                                                       sizeof ipv6_loopback, GNUTLS_FSAN_APPEND),
                 "cannot add ::1", error))
    goto out;

  /* 5. A server certificate, not a CA: constraints, usages, key id. */
  if (!check (gnutls_x509_crt_set_basic_constraints (crt, 0, -1),
              "cannot set basic constraints", error)
      || !check (gnutls_x509_crt_set_key_usage (crt, usage), "cannot set the key usage", error)
      || !check (gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0),
                 "cannot set the extended key usage", error)
      || !check (gnutls_pubkey_get_key_id (pub, GNUTLS_KEYID_USE_SHA1, key_id, &key_id_size),
                 "cannot compute the key id", error)
      || !check (gnutls_x509_crt_set_subject_key_id (crt, key_id, key_id_size),
                 "cannot set the subject key id", error))
    goto out;

  /* 6. Sign with its own key. */
  if (!check (gnutls_x509_crt_privkey_sign (crt, crt, key, digest, 0), "cannot sign", error))
    goto out;

  /* 7. Export, and parse the result back: GnuTLS fills some fields (the
   * SAN list, for one) only when it imports a certificate, and the leaf we
   * hand out must read like any loaded one. */
  if (!check (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der), "cannot export", error)
      || !check (gnutls_x509_crt_init (&parsed), "cannot allocate the certificate", error)
      || !check (gnutls_x509_crt_import (parsed, &der, GNUTLS_X509_FMT_DER),
                 "cannot parse the new certificate", error))
    goto out;

  gnutls_x509_crt_t *crts = gnutls_malloc (sizeof *crts);
  if (!crts)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "self-signed certificate: out of memory");
      goto out;
    }
  crts[0] = g_steal_pointer (&parsed);
  pair = cg_cert_pair_new_take (crts, 1, g_steal_pointer (&key), "self-signed certificate",
                                error);

out:
  gnutls_free (der.data);
  if (parsed)
    gnutls_x509_crt_deinit (parsed);
  if (pub)
    gnutls_pubkey_deinit (pub);
  if (crt)
    gnutls_x509_crt_deinit (crt);
  if (key)
    gnutls_privkey_deinit (key);
  return pair;
}

CgCertPair *
cg_cert_pair_generate_self_signed (CgKeyType type, guint days, GError **error)
{
  g_return_val_if_fail (days > 0 && days <= 36500, NULL);
  return make_self_signed (type, NULL, days, error);
}

CgCertPair *
cg_cert_pair_renew_self_signed (CgCertPair *pair, guint days, GError **error)
{
  gnutls_x509_privkey_t x509 = NULL;
  gnutls_privkey_t key = NULL;

  g_return_val_if_fail (pair != NULL, NULL);
  g_return_val_if_fail (days > 0 && days <= 36500, NULL);

  /* A copy of the served key: the pair is shared and stays as it is. */
  if (!check (gnutls_privkey_export_x509 (cg_cert_pair_get_privkey (pair), &x509),
              "cannot copy the key", error))
    return NULL;
  if (!check (gnutls_privkey_init (&key), "cannot allocate the key", error)
      || !check (gnutls_privkey_import_x509 (key, x509, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE),
                 "cannot copy the key", error))
    {
      if (key)
        gnutls_privkey_deinit (key);
      gnutls_x509_privkey_deinit (x509);
      return NULL;
    }
  return make_self_signed (cg_cert_pair_get_generate_type (pair), key, days, error);
}
