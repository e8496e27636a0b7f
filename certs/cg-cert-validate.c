/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Is an admin's certificate fit to serve?  Each refusal has its own
 * message, since the admin has to fix exactly that; warnings let the
 * install go on.  Also what `credgatectl cert show` prints about a pair. */
#include "config.h"

#include "certs/cg-cert.h"
#include "common/cg-time.h"
#include "certs/cg-cert-private.h"
#include "common/cg-error.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define DAY (24 * 3600)
#define RSA_MIN_BITS 2048

static char *
dn_string (gnutls_x509_crt_t crt, gboolean issuer)
{
  gnutls_datum_t dn = { NULL, 0 };
  int r = issuer ? gnutls_x509_crt_get_issuer_dn3 (crt, &dn, 0)
                 : gnutls_x509_crt_get_dn3 (crt, &dn, 0);
  if (r < 0)
    return g_strdup ("");
  char *s = g_strndup ((const char *) dn.data, dn.size);
  gnutls_free (dn.data);
  return s;
}

char *
cg_cert_pair_get_subject (CgCertPair *pair)
{
  return dn_string (cg_cert_pair_get_leaf (pair), FALSE);
}

char *
cg_cert_pair_get_issuer (CgCertPair *pair)
{
  return dn_string (cg_cert_pair_get_leaf (pair), TRUE);
}

gint64
cg_cert_pair_get_not_before (CgCertPair *pair)
{
  return gnutls_x509_crt_get_activation_time (cg_cert_pair_get_leaf (pair));
}

int
cg_cert_pair_get_days_left (CgCertPair *pair, gint64 now)
{
  gint64 left = cg_cert_pair_get_not_after (pair) - now;
  /* Whole days, rounded down; an expired certificate has negative ones. */
  return (int) (left >= 0 ? left / DAY : -((-left + DAY - 1) / DAY));
}

/* The DNS names and IP addresses of @crt, each "DNS:"/"IP:"-prefixed when
 * @typed. */
static GStrv
crt_sans (gnutls_x509_crt_t leaf, gboolean typed)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (unsigned int i = 0;; i++)
    {
      char buf[1024];
      size_t size = sizeof buf - 1;
      unsigned int type = 0;
      int r = gnutls_x509_crt_get_subject_alt_name2 (leaf, i, buf, &size, &type, NULL);
      if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
        break;
      /* Too long: not one a client would match.  Any other error is a
       * malformed extension, which fails the same way for every index:
       * skipping it would loop for ever. */
      if (r == GNUTLS_E_SHORT_MEMORY_BUFFER)
        continue;
      if (r < 0)
        break;
      if (type == GNUTLS_SAN_DNSNAME)
        {
          g_autofree char *s = g_strdup_printf ("%s%.*s", typed ? "DNS:" : "", (int) size, buf);
          g_strv_builder_add (b, s);
        }
      else if (type == GNUTLS_SAN_IPADDRESS && (size == 4 || size == 16))
        {
          char addr[INET6_ADDRSTRLEN];
          if (inet_ntop (size == 4 ? AF_INET : AF_INET6, buf, addr, sizeof addr))
            {
              g_autofree char *s = g_strconcat (typed ? "IP:" : "", addr, NULL);
              g_strv_builder_add (b, s);
            }
        }
    }
  return g_strv_builder_end (b);
}

GStrv
cg_cert_pair_get_sans (CgCertPair *pair)
{
  return crt_sans (cg_cert_pair_get_leaf (pair), TRUE);
}

void
cg_cert_info_free (CgCertInfo *info)
{
  if (!info)
    return;
  g_free (info->pin);
  g_free (info->subject);
  g_free (info->issuer);
  g_strfreev (info->sans);
  g_free (info);
}

CgCertInfo *
cg_cert_info_from_der (const guint8 *der, gsize len, GError **error)
{
  gnutls_x509_crt_t crt = cg_cert_crt_from_der (der, len, error);
  if (!crt)
    return NULL;
  g_autoptr (CgCertInfo) info = g_new0 (CgCertInfo, 1);
  info->pin = cg_cert_crt_spki_pin (crt, error);
  if (info->pin)
    {
      info->subject = dn_string (crt, FALSE);
      info->issuer = dn_string (crt, TRUE);
      info->sans = crt_sans (crt, FALSE);
      info->not_before = gnutls_x509_crt_get_activation_time (crt);
      info->not_after = gnutls_x509_crt_get_expiration_time (crt);
      info->self_signed = cg_cert_crt_is_self_signed (crt);
    }
  gnutls_x509_crt_deinit (crt);
  return info->pin ? g_steal_pointer (&info) : NULL;
}

char *
cg_cert_pair_get_key_type (CgCertPair *pair)
{
  unsigned int bits = 0;
  int algo = gnutls_x509_crt_get_pk_algorithm (cg_cert_pair_get_leaf (pair), &bits);
  if (algo == GNUTLS_PK_ECDSA)
    {
      gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
      gnutls_x509_crt_get_pk_ecc_raw (cg_cert_pair_get_leaf (pair), &curve, NULL, NULL);
      switch (curve)
        {
        case GNUTLS_ECC_CURVE_SECP256R1:
          return g_strdup ("ECDSA P-256");
        case GNUTLS_ECC_CURVE_SECP384R1:
          return g_strdup ("ECDSA P-384");
        case GNUTLS_ECC_CURVE_SECP521R1:
          return g_strdup ("ECDSA P-521");
        default:
          return g_strdup_printf ("ECDSA %u bits", bits);
        }
    }
  const char *name = gnutls_pk_algorithm_get_name (algo);
  return g_strdup_printf ("%s %u", name ? name : "unknown", bits);
}

CgKeyType
cg_cert_pair_get_generate_type (CgCertPair *pair)
{
  g_autofree char *type = cg_cert_pair_get_key_type (pair);
  if (g_str_equal (type, "ECDSA P-384"))
    return CG_KEY_TYPE_ECDSA_P384;
  if (g_str_has_prefix (type, "RSA"))
    return CG_KEY_TYPE_RSA_3072;
  return CG_KEY_TYPE_ECDSA_P256;
}

gboolean
cg_key_type_from_name (const char *name, CgKeyType *type)
{
  if (g_strcmp0 (name, "ecdsa-p256") == 0)
    *type = CG_KEY_TYPE_ECDSA_P256;
  else if (g_strcmp0 (name, "ecdsa-p384") == 0)
    *type = CG_KEY_TYPE_ECDSA_P384;
  else if (g_strcmp0 (name, "rsa-3072") == 0)
    *type = CG_KEY_TYPE_RSA_3072;
  else
    return FALSE;
  return TRUE;
}

static gboolean
weak_signature (gnutls_x509_crt_t crt, const char **hash_name)
{
  int sign = gnutls_x509_crt_get_signature_algorithm (crt);
  gnutls_digest_algorithm_t dig = gnutls_sign_get_hash_algorithm (sign);
  if (dig == GNUTLS_DIG_SHA1 || dig == GNUTLS_DIG_MD5 || dig == GNUTLS_DIG_MD2)
    {
      *hash_name = gnutls_digest_get_name (dig);
      return TRUE;
    }
  return FALSE;
}

static gboolean
names_host (gnutls_x509_crt_t leaf, const char *const *host_names)
{
  for (const char *const *h = host_names; h && *h; h++)
    if (gnutls_x509_crt_check_hostname2 (leaf, *h, 0))
      return TRUE;
  return FALSE;
}

gboolean
cg_cert_pair_validate (CgCertPair *pair, const char *const *host_names, CgCertValidateFlags flags,
                       GPtrArray *warnings, GError **error)
{
  gnutls_x509_crt_t leaf = cg_cert_pair_get_leaf (pair);
  time_t now = time (NULL);
  int r;

  /* Dates. */
  time_t not_before = gnutls_x509_crt_get_activation_time (leaf);
  time_t not_after = gnutls_x509_crt_get_expiration_time (leaf);
  if (not_before == (time_t)-1 || not_after == (time_t)-1)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "the certificate has no valid dates");
      return FALSE;
    }
  if (now < not_before)
    {
      g_autofree char *when = cg_time_human (not_before);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the certificate is not valid yet (valid from %s); check the clock, or "
                   "install it once it is valid",
                   when);
      return FALSE;
    }
  if (now > not_after)
    {
      g_autofree char *when = cg_time_human (not_after);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the certificate expired on %s; get a renewed one from its issuer", when);
      return FALSE;
    }

  /* Strength of the key. */
  unsigned int bits = 0;
  int algo = gnutls_x509_crt_get_pk_algorithm (leaf, &bits);
  if (algo == GNUTLS_PK_RSA && bits < RSA_MIN_BITS)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the key is too weak: RSA with %u bits (at least %d are needed)", bits,
                   RSA_MIN_BITS);
      return FALSE;
    }
  if (algo != GNUTLS_PK_RSA && algo != GNUTLS_PK_ECDSA && algo != GNUTLS_PK_RSA_PSS
      && algo != GNUTLS_PK_EDDSA_ED25519)
    {
      const char *name = gnutls_pk_algorithm_get_name (algo);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the key type %s is not supported (use ECDSA or RSA)", name ? name : "?");
      return FALSE;
    }

  /* Signatures: the leaf's and every intermediate's; a root's own
   * signature is never checked by clients, so it does not count. */
  unsigned int n = 0;
  gnutls_pcert_st *pcerts = cg_cert_pair_get_pcerts (pair, &n);
  for (unsigned int i = 0; i < n; i++)
    {
      gnutls_x509_crt_t crt = NULL;
      const char *hash = NULL;
      gboolean weak = FALSE, root = FALSE;
      if (gnutls_x509_crt_init (&crt) < 0)
        continue;
      if (gnutls_x509_crt_import (crt, &pcerts[i].cert, GNUTLS_X509_FMT_DER) >= 0)
        {
          root = i > 0 && gnutls_x509_crt_check_issuer (crt, crt);
          weak = !root && weak_signature (crt, &hash);
        }
      gnutls_x509_crt_deinit (crt);
      if (weak)
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                       i == 0 ? "the certificate is signed with %s, which is broken; ask its "
                                "issuer for one signed with SHA-256 or better"
                              : "an intermediate certificate is signed with %s, which is "
                                "broken; get the current chain from the issuer",
                       hash ? hash : "SHA-1");
          return FALSE;
        }
    }

  /* Usage: an extended key usage list, when there is one, must allow a TLS
   * server; a key usage, when there is one, must allow signatures. */
  gboolean any_eku = FALSE, server_auth = FALSE;
  for (unsigned int i = 0;; i++)
    {
      char oid[128];
      size_t oid_size = sizeof oid;
      r = gnutls_x509_crt_get_key_purpose_oid (leaf, i, oid, &oid_size, NULL);
      if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
        break;
      any_eku = TRUE;
      if (r == GNUTLS_E_SHORT_MEMORY_BUFFER)
        continue; /* an OID too long to be serverAuth */
      if (r < 0)
        {
          /* Malformed: it fails the same way for every index. */
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                       "the certificate's extended key usage extension cannot be read: %s",
                       gnutls_strerror (r));
          return FALSE;
        }
      if (g_str_equal (oid, GNUTLS_KP_TLS_WWW_SERVER) || g_str_equal (oid, GNUTLS_KP_ANY))
        server_auth = TRUE;
    }
  if (any_eku && !server_auth)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the certificate is not for a TLS server: its extended key usage lacks "
                   "serverAuth (TLS Web Server Authentication)");
      return FALSE;
    }
  unsigned int usage = 0, critical = 0;
  if (gnutls_x509_crt_get_key_usage (leaf, &usage, &critical) >= 0
      && !(usage & GNUTLS_KEY_DIGITAL_SIGNATURE))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the certificate's key usage lacks digitalSignature, which every TLS "
                   "handshake this agent allows (ECDHE) needs");
      return FALSE;
    }

  /* Names: a refusal unless forced, since clients would refuse it too. */
  if (host_names && host_names[0] && !names_host (leaf, host_names))
    {
      g_auto (GStrv) sans = cg_cert_pair_get_sans (pair);
      g_autofree char *have = sans[0] ? g_strjoinv (", ", sans) : g_strdup ("none");
      g_autofree char *want = g_strjoinv (", ", (char **) host_names);
      if (!(flags & CG_CERT_VALIDATE_FORCE))
        {
          g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                       "the certificate's names (%s) do not name this host (%s); clients "
                       "checking the name will refuse it. Use --force if they reach this "
                       "host by one of the certificate's names",
                       have, want);
          return FALSE;
        }
      if (warnings)
        g_ptr_array_add (warnings, g_strdup_printf ("the certificate's names (%s) do not name this "
                                                    "host (%s); installed because of --force",
                                                    have, want));
    }

  /* Time left. */
  if (warnings && not_after - now < CG_CERT_RENEW_DAYS * DAY)
    {
      g_autofree char *when = cg_time_human (not_after);
      g_ptr_array_add (warnings,
                       g_strdup_printf ("the certificate expires in %d days (%s); renew it "
                                        "soon",
                                        cg_cert_pair_get_days_left (pair, now), when));
    }
  return TRUE;
}
