/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of certs/: self-signed generation, SPKI pins (checked against
 * openssl), PEM/DER loading and its errors, saving, and the state
 * directory's pair.  Fixtures come from tests/data/make-cert-fixtures. */
#include "config.h"

#include "tests/cg-test-util.h"

#include "certs/cg-cert.h"
#include "common/cg-error.h"

#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DAY (24 * 3600)

/* Where make-cert-fixtures wrote, or NULL when it could not run. */
static char *fixtures;


static char *
fixture (const char *name)
{
  return g_build_filename (fixtures, name, NULL);
}

static gboolean
need_fixtures (void)
{
  if (!fixtures)
    g_test_fail_printf ("no fixtures: tests/data/make-cert-fixtures failed (certtool, from "
                        "gnutls-bin, which scripts/setup installs)");
  return fixtures != NULL;
}

static void
make_fixtures (void)
{
  fixtures = cg_test_make_fixtures ("make-cert-fixtures");
}

/* The leaf's subjectAltNames, as "DNS:name" and "IP:address". */
static GPtrArray *
get_sans (gnutls_x509_crt_t crt)
{
  GPtrArray *sans = g_ptr_array_new_with_free_func (g_free);
  for (unsigned int i = 0;; i++)
    {
      char buf[512];
      size_t size = sizeof buf;
      unsigned int type = 0;
      int r = gnutls_x509_crt_get_subject_alt_name2 (crt, i, buf, &size, &type, NULL);
      if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
        break;
      g_assert_cmpint (r, >=, 0);
      if (type == GNUTLS_SAN_DNSNAME)
        g_ptr_array_add (sans, g_strdup_printf ("DNS:%.*s", (int) size, buf));
      else if (type == GNUTLS_SAN_IPADDRESS)
        {
          char addr[INET6_ADDRSTRLEN];
          g_assert_true (size == 4 || size == 16);
          g_assert_nonnull (inet_ntop (size == 4 ? AF_INET : AF_INET6, buf, addr, sizeof addr));
          g_ptr_array_add (sans, g_strdup_printf ("IP:%s", addr));
        }
    }
  return sans;
}

static gboolean
has_string (GPtrArray *array, const char *s)
{
  for (guint i = 0; i < array->len; i++)
    if (g_ascii_strcasecmp (array->pdata[i], s) == 0)
      return TRUE;
  return FALSE;
}

static char *
leaf_der_pin (CgCertPair *pair)
{
  gnutls_datum_t der = { NULL, 0 };
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (gnutls_x509_crt_export2 (cg_cert_pair_get_leaf (pair), GNUTLS_X509_FMT_DER,
                                            &der),
                   >=, 0);
  char *pin = cg_cert_spki_pin_from_der (der.data, der.size, &error);
  g_assert_no_error (error);
  gnutls_free (der.data);
  return pin;
}

static void
check_self_signed (CgKeyType type)
{
  g_autoptr (GError) error = NULL;
  time_t now = time (NULL);
  g_autoptr (CgCertPair) pair = cg_cert_pair_generate_self_signed (type, CG_CERT_SELF_SIGNED_DAYS,
                                                                   &error);
  g_assert_no_error (error);
  g_assert_nonnull (pair);
  gnutls_x509_crt_t leaf = cg_cert_pair_get_leaf (pair);

  /* Version 3, a positive 20-byte serial. */
  g_assert_cmpint (gnutls_x509_crt_get_version (leaf), ==, 3);
  guint8 serial[40];
  size_t serial_size = sizeof serial;
  g_assert_cmpint (gnutls_x509_crt_get_serial (leaf, serial, &serial_size), ==, 0);
  g_assert_cmpuint (serial_size, ==, 20);
  g_assert_cmpuint (serial[0] & 0x80, ==, 0);
  g_assert_cmpuint (serial[0], !=, 0);

  /* Valid from an hour ago, for 395 days. */
  time_t not_before = gnutls_x509_crt_get_activation_time (leaf);
  time_t not_after = gnutls_x509_crt_get_expiration_time (leaf);
  g_assert_cmpint (not_before, <=, now - 3600 + 5);
  g_assert_cmpint (not_before, >=, now - 3600 - 60);
  g_assert_cmpint (not_after, >=, now + CG_CERT_SELF_SIGNED_DAYS * DAY - 60);
  g_assert_cmpint (not_after, <=, now + CG_CERT_SELF_SIGNED_DAYS * DAY + 60);
  g_assert_cmpint (cg_cert_pair_get_not_after (pair), ==, not_after);

  /* Names this host and the loopback ones. */
  g_autoptr (GPtrArray) sans = get_sans (leaf);
  g_assert_true (has_string (sans, "DNS:localhost"));
  g_assert_true (has_string (sans, "IP:127.0.0.1"));
  g_assert_true (has_string (sans, "IP:::1"));
  g_autofree char *host_san = g_strconcat ("DNS:", g_get_host_name (), NULL);
  if (!g_hostname_is_ip_address (g_get_host_name ()) && strchr (g_get_host_name (), '_') == NULL)
    g_assert_true (has_string (sans, host_san));
  for (guint i = 0; i < sans->len; i++)
    for (guint j = i + 1; j < sans->len; j++)
      g_assert_cmpstr (sans->pdata[i], !=, sans->pdata[j]);
  char cn[256];
  size_t cn_size = sizeof cn;
  g_assert_cmpint (gnutls_x509_crt_get_dn_by_oid (leaf, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn,
                                                  &cn_size),
                   ==, 0);
  g_autofree char *cn_san = g_strconcat ("DNS:", cn, NULL);
  g_assert_true (has_string (sans, cn_san));

  /* A server certificate: not a CA, serverAuth, the right key usage. */
  unsigned int critical = 0;
  g_assert_cmpint (gnutls_x509_crt_get_basic_constraints (leaf, &critical, NULL, NULL), ==, 0);
  unsigned int usage = 0;
  g_assert_cmpint (gnutls_x509_crt_get_key_usage (leaf, &usage, &critical), >=, 0);
  unsigned int want = GNUTLS_KEY_DIGITAL_SIGNATURE;
  if (type == CG_KEY_TYPE_RSA_3072)
    want |= GNUTLS_KEY_KEY_ENCIPHERMENT;
  g_assert_cmpuint (usage, ==, want);
  gboolean server_auth = FALSE;
  for (unsigned int i = 0;; i++)
    {
      char oid[128];
      size_t oid_size = sizeof oid;
      int r = gnutls_x509_crt_get_key_purpose_oid (leaf, i, oid, &oid_size, NULL);
      if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
        break;
      g_assert_cmpint (r, >=, 0);
      if (strcmp (oid, GNUTLS_KP_TLS_WWW_SERVER) == 0)
        server_auth = TRUE;
    }
  g_assert_true (server_auth);
  guint8 key_id[64];
  size_t key_id_size = sizeof key_id;
  g_assert_cmpint (gnutls_x509_crt_get_subject_key_id (leaf, key_id, &key_id_size, NULL), ==, 0);

  /* Key and signature algorithms. */
  unsigned int bits = 0;
  int algo = gnutls_x509_crt_get_pk_algorithm (leaf, &bits);
  int sign = gnutls_x509_crt_get_signature_algorithm (leaf);
  switch (type)
    {
    case CG_KEY_TYPE_ECDSA_P256:
      g_assert_cmpint (algo, ==, GNUTLS_PK_ECDSA);
      g_assert_cmpuint (bits, ==, 256);
      g_assert_cmpint (sign, ==, GNUTLS_SIGN_ECDSA_SHA256);
      break;
    case CG_KEY_TYPE_ECDSA_P384:
      g_assert_cmpint (algo, ==, GNUTLS_PK_ECDSA);
      g_assert_cmpuint (bits, ==, 384);
      g_assert_cmpint (sign, ==, GNUTLS_SIGN_ECDSA_SHA384);
      break;
    case CG_KEY_TYPE_RSA_3072:
      g_assert_cmpint (algo, ==, GNUTLS_PK_RSA);
      g_assert_cmpuint (bits, ==, 3072);
      g_assert_cmpint (sign, ==, GNUTLS_SIGN_RSA_SHA256);
      break;
    default:
      g_assert_not_reached ();
    }

  g_assert_true (cg_cert_pair_is_self_signed (pair));

  /* One certificate to serve, with its key. */
  unsigned int n = 0;
  gnutls_pcert_st *pcerts = cg_cert_pair_get_pcerts (pair, &n);
  g_assert_nonnull (pcerts);
  g_assert_cmpuint (n, ==, 1);
  g_assert_nonnull (cg_cert_pair_get_privkey (pair));

  /* A pin of the right shape, the same as from the DER certificate. */
  const char *pin = cg_cert_pair_get_spki_pin (pair);
  g_assert_true (g_str_has_prefix (pin, "sha256:"));
  g_assert_cmpuint (strlen (pin), ==, strlen ("sha256:") + 44);
  g_autofree char *der_pin = leaf_der_pin (pair);
  g_assert_cmpstr (pin, ==, der_pin);

  /* References: a second holder keeps it alive. */
  CgCertPair *other = cg_cert_pair_ref (pair);
  g_assert_true (other == pair);
  cg_cert_pair_unref (other);
  g_assert_cmpstr (cg_cert_pair_get_spki_pin (pair), ==, pin);
}

static void
test_selfsign_p256 (void)
{
  check_self_signed (CG_KEY_TYPE_ECDSA_P256);
}

static void
test_selfsign_p384 (void)
{
  check_self_signed (CG_KEY_TYPE_ECDSA_P384);
}

static void
test_selfsign_rsa3072 (void)
{
  check_self_signed (CG_KEY_TYPE_RSA_3072);
}

static void
test_selfsign_unique (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgCertPair) a = cg_cert_pair_generate_self_signed (CG_KEY_TYPE_ECDSA_P256, 1, &error);
  g_assert_no_error (error);
  g_autoptr (CgCertPair) b = cg_cert_pair_generate_self_signed (CG_KEY_TYPE_ECDSA_P256, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cg_cert_pair_get_spki_pin (a), !=, cg_cert_pair_get_spki_pin (b));
  guint8 sa[20], sb[20];
  size_t la = sizeof sa, lb = sizeof sb;
  g_assert_cmpint (gnutls_x509_crt_get_serial (cg_cert_pair_get_leaf (a), sa, &la), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_get_serial (cg_cert_pair_get_leaf (b), sb, &lb), ==, 0);
  g_assert_false (la == lb && memcmp (sa, sb, la) == 0);
}

/* Renewal keeps the key, so the pin every client holds stays; the
 * certificate itself is new: serial, dates, and it is still a valid
 * self-signed serverAuth certificate of the same kind. */
static void
check_renew (CgKeyType type)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgCertPair) old = cg_cert_pair_generate_self_signed (type, 5, &error);
  g_assert_no_error (error);
  g_autoptr (CgCertPair) renewed
      = cg_cert_pair_renew_self_signed (old, CG_CERT_SELF_SIGNED_DAYS, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cg_cert_pair_get_spki_pin (renewed), ==, cg_cert_pair_get_spki_pin (old));
  g_assert_true (cg_cert_pair_is_self_signed (renewed));
  g_assert_cmpint (cg_cert_pair_get_generate_type (renewed), ==, type);
  g_assert_cmpint (cg_cert_pair_get_days_left (old, g_get_real_time () / G_USEC_PER_SEC), <=, 5);
  g_assert_cmpint (cg_cert_pair_get_days_left (renewed, g_get_real_time () / G_USEC_PER_SEC), >=,
                   CG_CERT_SELF_SIGNED_DAYS - 1);
  guint8 sa[20], sb[20];
  size_t la = sizeof sa, lb = sizeof sb;
  g_assert_cmpint (gnutls_x509_crt_get_serial (cg_cert_pair_get_leaf (old), sa, &la), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_get_serial (cg_cert_pair_get_leaf (renewed), sb, &lb), ==, 0);
  g_assert_false (la == lb && memcmp (sa, sb, la) == 0);
  g_auto (GStrv) names = cg_cert_local_host_names ();
  g_assert_true (cg_cert_pair_validate (renewed, (const char *const *) names,
                                        CG_CERT_VALIDATE_DEFAULT, NULL, &error));
  g_assert_no_error (error);
  /* The old pair is untouched and still usable (it may be mid-handshake). */
  g_assert_cmpint (cg_cert_pair_get_days_left (old, g_get_real_time () / G_USEC_PER_SEC), <=, 5);
  g_autoptr (CgBuf) k1 = cg_cert_pair_key_pem (old, &error);
  g_autoptr (CgBuf) k2 = cg_cert_pair_key_pem (renewed, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (k1->data, k1->len, k2->data, k2->len);
}

static void
test_selfsign_renew (void)
{
  check_renew (CG_KEY_TYPE_ECDSA_P256);
  check_renew (CG_KEY_TYPE_ECDSA_P384);
  check_renew (CG_KEY_TYPE_RSA_3072);
}

/* Same subject and issuer, but signed by some other key: not self-signed,
 * and the signature check (not the names) must be what says so. */
static void
test_selfsign_forged (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgCertPair) real = cg_cert_pair_generate_self_signed (CG_KEY_TYPE_ECDSA_P256, 30,
                                                                   &error);
  g_assert_no_error (error);
  g_autoptr (CgCertPair) other = cg_cert_pair_generate_self_signed (CG_KEY_TYPE_ECDSA_P256, 30,
                                                                    &error);
  g_assert_no_error (error);
  gnutls_pubkey_t pub = NULL;
  gnutls_x509_crt_t crt = NULL;
  guint8 serial[] = { 0x01, 0x02, 0x03 };
  time_t now = time (NULL);

  g_assert_cmpint (gnutls_pubkey_init (&pub), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_privkey (pub, cg_cert_pair_get_privkey (real), 0, 0), ==,
                   0);
  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_pubkey (crt, pub), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (crt, 3), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_serial (crt, serial, sizeof serial), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (crt, now - 60), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (crt, now + DAY), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, "forged",
                                                  6),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_privkey_sign (crt, crt, cg_cert_pair_get_privkey (other),
                                                 GNUTLS_DIG_SHA256, 0),
                   ==, 0);
  gnutls_datum_t pem = { NULL, 0 };
  g_assert_cmpint (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &pem), ==, 0);
  gnutls_x509_crt_deinit (crt);
  gnutls_pubkey_deinit (pub);

  g_autofree char *dir = cg_test_make_tmpdir ("cg-certs");
  g_autofree char *crt_path = g_build_filename (dir, "c.pem", NULL);
  g_autofree char *key_path = g_build_filename (dir, "k.pem", NULL);
  g_assert_true (cg_cert_pair_save_files (real, crt_path, key_path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (crt_path, (const char *) pem.data, pem.size, NULL));
  gnutls_free (pem.data);

  g_autoptr (CgCertPair) forged = cg_cert_pair_load_files (crt_path, key_path, &error);
  g_assert_no_error (error);
  gnutls_x509_crt_t leaf = cg_cert_pair_get_leaf (forged);
  g_assert_true (gnutls_x509_crt_check_issuer (leaf, leaf));
  g_assert_false (cg_cert_pair_is_self_signed (forged));
  cg_test_rm_rf (dir);
}

/* A real handshake: the pair serves through a retrieve callback as the
 * agent's does, a client that trusts the chain checks the host name and
 * sees the same pin. */
static CgCertPair *serving;

static int
retrieve_cb (gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
             const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
             unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
  *pcert = cg_cert_pair_get_pcerts (serving, pcert_length);
  *privkey = cg_cert_pair_get_privkey (serving);
  return 0;
}

static gpointer
server_thread (gpointer data)
{
  int fd = GPOINTER_TO_INT (data);
  gnutls_certificate_credentials_t cred = NULL;
  gnutls_session_t session = NULL;
  int r;

  g_assert_cmpint (gnutls_certificate_allocate_credentials (&cred), ==, 0);
  gnutls_certificate_set_retrieve_function2 (cred, retrieve_cb);
  g_assert_cmpint (gnutls_init (&session, GNUTLS_SERVER), ==, 0);
  g_assert_cmpint (gnutls_set_default_priority (session), ==, 0);
  g_assert_cmpint (gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, cred), ==, 0);
  gnutls_transport_set_int (session, fd);
  do
    r = gnutls_handshake (session);
  while (r < 0 && !gnutls_error_is_fatal (r));
  if (r == 0)
    gnutls_bye (session, GNUTLS_SHUT_WR);
  gnutls_deinit (session);
  gnutls_certificate_free_credentials (cred);
  close (fd);
  return GINT_TO_POINTER (r);
}

static void
check_handshake (CgKeyType type, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgCertPair) pair = cg_cert_pair_generate_self_signed (type, 30, &error);
  g_assert_no_error (error);
  int fds[2];
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  serving = pair;
  GThread *thread = g_thread_new ("server", server_thread, GINT_TO_POINTER (fds[1]));

  gnutls_certificate_credentials_t cred = NULL;
  gnutls_session_t session = NULL;
  g_autofree char *chain = cg_cert_pair_chain_pem (pair);
  gnutls_datum_t ca = { (unsigned char *) chain, strlen (chain) };
  int r;
  g_assert_cmpint (gnutls_certificate_allocate_credentials (&cred), ==, 0);
  g_assert_cmpint (gnutls_certificate_set_x509_trust_mem (cred, &ca, GNUTLS_X509_FMT_PEM), ==, 1);
  g_assert_cmpint (gnutls_init (&session, GNUTLS_CLIENT), ==, 0);
  g_assert_cmpint (gnutls_set_default_priority (session), ==, 0);
  g_assert_cmpint (gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, cred), ==, 0);
  gnutls_session_set_verify_cert (session, name, 0);
  gnutls_transport_set_int (session, fds[0]);
  do
    r = gnutls_handshake (session);
  while (r < 0 && !gnutls_error_is_fatal (r));
  if (r < 0)
    g_test_message ("client handshake: %s", gnutls_strerror (r));
  g_assert_cmpint (r, ==, 0);

  unsigned int n = 0;
  const gnutls_datum_t *peer = gnutls_certificate_get_peers (session, &n);
  g_assert_cmpuint (n, ==, 1);
  g_autofree char *pin = cg_cert_spki_pin_from_der (peer[0].data, peer[0].size, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pin, ==, cg_cert_pair_get_spki_pin (pair));

  gnutls_bye (session, GNUTLS_SHUT_WR);
  gnutls_deinit (session);
  gnutls_certificate_free_credentials (cred);
  close (fds[0]);
  g_assert_cmpint (GPOINTER_TO_INT (g_thread_join (thread)), ==, 0);
  serving = NULL;
}

static void
test_tls_handshake (void)
{
  check_handshake (CG_KEY_TYPE_ECDSA_P256, "localhost");
  check_handshake (CG_KEY_TYPE_ECDSA_P384, "127.0.0.1");
  check_handshake (CG_KEY_TYPE_RSA_3072, "::1");
}

/* The pin is what curl --pinnedpubkey and this openssl pipeline take. */
static void
check_openssl_pin (CgKeyType type)
{
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  if (!openssl)
    {
      g_test_fail_printf ("openssl is not installed (scripts/setup installs it)");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (CgCertPair) pair = cg_cert_pair_generate_self_signed (type, 30, &error);
  g_assert_no_error (error);
  g_autofree char *dir = cg_test_make_tmpdir ("cg-certs");
  g_autofree char *crt = g_build_filename (dir, "c.pem", NULL);
  g_autofree char *key = g_build_filename (dir, "k.pem", NULL);
  g_assert_true (cg_cert_pair_save_files (pair, crt, key, &error));
  g_assert_no_error (error);

  g_autofree char *quoted = g_shell_quote (crt);
  g_autofree char *cmd = g_strdup_printf (
      "openssl x509 -in %s -pubkey -noout | openssl pkey -pubin -outform der "
      "| openssl dgst -sha256 -binary | base64",
      quoted);
  const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
  g_autofree char *out = NULL;
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autofree char *expected = g_strconcat ("sha256:", g_strstrip (out), NULL);
  g_assert_cmpstr (cg_cert_pair_get_spki_pin (pair), ==, expected);
  cg_test_rm_rf (dir);
}

static void
test_pin_openssl_p256 (void)
{
  check_openssl_pin (CG_KEY_TYPE_ECDSA_P256);
}

static void
test_pin_openssl_p384 (void)
{
  check_openssl_pin (CG_KEY_TYPE_ECDSA_P384);
}

static void
test_pin_openssl_rsa (void)
{
  check_openssl_pin (CG_KEY_TYPE_RSA_3072);
}

static void
test_pin_from_der_garbage (void)
{
  g_autoptr (GError) error = NULL;
  static const guint8 junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
  g_assert_null (cg_cert_spki_pin_from_der (junk, sizeof junk, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (cg_cert_spki_pin_from_der (junk, 0, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
}

static void
test_files_roundtrip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgCertPair) pair = cg_cert_pair_generate_self_signed (CG_KEY_TYPE_ECDSA_P256, 30,
                                                                   &error);
  g_assert_no_error (error);
  g_autofree char *dir = cg_test_make_tmpdir ("cg-certs");
  g_autofree char *crt = g_build_filename (dir, "server.crt", NULL);
  g_autofree char *key = g_build_filename (dir, "server.key", NULL);
  struct stat st;

  g_assert_true (cg_cert_pair_save_files (pair, crt, key, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (key, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (crt, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0644);

  g_autofree char *key_text = NULL;
  g_assert_true (g_file_get_contents (key, &key_text, NULL, NULL));
  g_assert_true (g_str_has_prefix (key_text, "-----BEGIN PRIVATE KEY-----"));
  g_autofree char *crt_text = NULL;
  g_assert_true (g_file_get_contents (crt, &crt_text, NULL, NULL));
  g_autofree char *chain = cg_cert_pair_chain_pem (pair);
  g_assert_cmpstr (crt_text, ==, chain);
  g_assert_true (g_str_has_prefix (chain, "-----BEGIN CERTIFICATE-----"));

  g_autoptr (CgCertPair) loaded = cg_cert_pair_load_files (crt, key, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
  g_assert_cmpstr (cg_cert_pair_get_spki_pin (loaded), ==, cg_cert_pair_get_spki_pin (pair));
  g_assert_cmpint (cg_cert_pair_get_not_after (loaded), ==, cg_cert_pair_get_not_after (pair));
  g_assert_true (cg_cert_pair_is_self_signed (loaded));
  g_assert_true (gnutls_x509_crt_equals (cg_cert_pair_get_leaf (loaded),
                                         cg_cert_pair_get_leaf (pair)));

  /* Saving again replaces both. */
  g_autoptr (CgCertPair) next = cg_cert_pair_generate_self_signed (CG_KEY_TYPE_RSA_3072, 30,
                                                                   &error);
  g_assert_no_error (error);
  g_assert_true (cg_cert_pair_save_files (next, crt, key, &error));
  g_assert_no_error (error);
  g_clear_pointer (&loaded, cg_cert_pair_unref);
  loaded = cg_cert_pair_load_files (crt, key, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cg_cert_pair_get_spki_pin (loaded), ==, cg_cert_pair_get_spki_pin (next));
  cg_test_rm_rf (dir);
}

/* Loading CHAIN + KEY fails with CODE and a message naming NAMED (a fixture
 * name) and containing WORDS. */
static void
check_load_fails (const char *chain, const char *key, int code, const char *named,
                  const char *words)
{
  g_autofree char *chain_path = fixture (chain);
  g_autofree char *key_path = fixture (key);
  g_autofree char *named_path = fixture (named);
  g_autoptr (GError) error = NULL;

  g_autoptr (CgCertPair) pair = cg_cert_pair_load_files (chain_path, key_path, &error);
  g_assert_null (pair);
  g_assert_error (error, CG_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, named_path));
  g_assert_nonnull (strstr (error->message, words));
}

static void
test_load_empty (void)
{
  if (!need_fixtures ())
    return;
  check_load_fails ("empty.pem", "leaf.key", CG_ERROR_INVALID, "empty.pem", "no certificate found");
  check_load_fails ("leaf.crt", "empty.pem", CG_ERROR_INVALID, "empty.pem", "no private key found");
}

static void
test_load_garbage (void)
{
  if (!need_fixtures ())
    return;
  check_load_fails ("garbage.pem", "leaf.key", CG_ERROR_INVALID, "garbage.pem",
                    "no certificate found");
  check_load_fails ("leaf.crt", "garbage.pem", CG_ERROR_INVALID, "garbage.pem",
                    "no private key found");
  /* A key where the certificate should be, and the other way round. */
  check_load_fails ("leaf.key", "leaf.crt", CG_ERROR_INVALID, "leaf.key", "no certificate found");
  check_load_fails ("leaf.crt", "leaf.crt", CG_ERROR_INVALID, "leaf.crt", "no private key found");
}

static void
test_load_truncated (void)
{
  if (!need_fixtures ())
    return;
  check_load_fails ("truncated.pem", "leaf.key", CG_ERROR_INVALID, "truncated.pem",
                    "no certificate found");
}

static void
test_load_mismatch (void)
{
  if (!need_fixtures ())
    return;
  check_load_fails ("leaf.crt", "other.key", CG_ERROR_INVALID, "other.key",
                    "private key does not match the certificate");
  check_load_fails ("chain.pem", "ca.key", CG_ERROR_INVALID, "ca.key",
                    "private key does not match the certificate");
  check_load_fails ("rsa.crt", "leaf.key", CG_ERROR_INVALID, "leaf.key",
                    "private key does not match the certificate");
}

static void
test_load_missing (void)
{
  if (!need_fixtures ())
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *crt = fixture ("leaf.crt");
  g_autofree char *none = fixture ("no-such-file");
  g_assert_null (cg_cert_pair_load_files (none, crt, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, none));
}

static void
test_load_encrypted (void)
{
  if (!need_fixtures ())
    return;
  check_load_fails ("leaf.crt", "encrypted.key", CG_ERROR_UNSUPPORTED, "encrypted.key",
                    "the private key is encrypted; ");
  check_load_fails ("leaf.crt", "encrypted-key.der", CG_ERROR_UNSUPPORTED, "encrypted-key.der",
                    "the private key is encrypted; ");
}

static void
test_load_dates (void)
{
  if (!need_fixtures ())
    return;
  check_load_fails ("expired.crt", "leaf.key", CG_ERROR_INVALID, "expired.crt",
                    "expired on 2021-01-01");
  check_load_fails ("future.crt", "leaf.key", CG_ERROR_INVALID, "future.crt",
                    "not valid yet (valid from 2099-01-01");
}

static void
test_load_unsorted (void)
{
  if (!need_fixtures ())
    return;
  check_load_fails ("unsorted.pem", "leaf.key", CG_ERROR_INVALID, "unsorted.pem",
                    "out of order");
}

static void
test_load_der (void)
{
  if (!need_fixtures ())
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *der = fixture ("leaf.der");
  g_autofree char *pem = fixture ("leaf.crt");
  g_autofree char *key = fixture ("leaf.key");
  g_autofree char *key_der = fixture ("leaf-key.der");

  g_autoptr (CgCertPair) from_pem = cg_cert_pair_load_files (pem, key, &error);
  g_assert_no_error (error);
  g_autoptr (CgCertPair) from_der = cg_cert_pair_load_files (der, key_der, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cg_cert_pair_get_spki_pin (from_der), ==, cg_cert_pair_get_spki_pin (from_pem));
  unsigned int n = 0;
  cg_cert_pair_get_pcerts (from_der, &n);
  g_assert_cmpuint (n, ==, 1);
  /* Signed by the test CA, so not self-signed. */
  g_assert_false (cg_cert_pair_is_self_signed (from_der));

  /* The pin from the raw DER agrees. */
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (der, &bytes, &len, NULL));
  g_autofree char *pin = cg_cert_spki_pin_from_der ((const guint8 *) bytes, len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pin, ==, cg_cert_pair_get_spki_pin (from_pem));
}

static void
test_load_chain (void)
{
  if (!need_fixtures ())
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *chain = fixture ("chain.pem");
  g_autofree char *key = fixture ("leaf.key");
  g_autofree char *leaf_der = fixture ("leaf.der");

  g_autoptr (CgCertPair) pair = cg_cert_pair_load_files (chain, key, &error);
  g_assert_no_error (error);
  unsigned int n = 0;
  gnutls_pcert_st *pcerts = cg_cert_pair_get_pcerts (pair, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_false (cg_cert_pair_is_self_signed (pair));

  /* Leaf first, the pin is the leaf's, and the PEM holds both. */
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (leaf_der, &bytes, &len, NULL));
  g_assert_cmpuint (pcerts[0].cert.size, ==, len);
  g_assert_cmpmem (pcerts[0].cert.data, pcerts[0].cert.size, bytes, len);
  g_autofree char *pin = cg_cert_spki_pin_from_der ((const guint8 *) bytes, len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pin, ==, cg_cert_pair_get_spki_pin (pair));
  g_autofree char *pem = cg_cert_pair_chain_pem (pair);
  g_assert_nonnull (strstr (strstr (pem, "-----END CERTIFICATE-----"), "-----BEGIN CERTIFICATE"));

  /* An RSA key in PKCS#1 PEM loads too, and its certificate is
   * self-signed. */
  g_autofree char *rsa_crt = fixture ("rsa.crt");
  g_autofree char *rsa_key = fixture ("rsa.key");
  g_autoptr (CgCertPair) rsa = cg_cert_pair_load_files (rsa_crt, rsa_key, &error);
  g_assert_no_error (error);
  g_assert_true (cg_cert_pair_is_self_signed (rsa));
}

static void
test_ensure_generates_once (void)
{
  g_autofree char *dir = cg_test_make_tmpdir ("cg-certs");
  g_autofree char *state = g_build_filename (dir, "state", NULL);
  g_autofree char *tls = g_build_filename (state, "tls", NULL);
  g_autofree char *key = g_build_filename (tls, "server.key", NULL);
  g_autoptr (GError) error = NULL;
  gboolean generated = FALSE;
  struct stat st;

  g_autoptr (CgCertPair) first = cg_cert_pair_ensure (state, &generated, &error);
  g_assert_no_error (error);
  g_assert_nonnull (first);
  g_assert_true (generated);
  g_assert_true (cg_cert_pair_is_self_signed (first));
  g_assert_cmpint (g_stat (tls, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (key, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  gint64 days = (cg_cert_pair_get_not_after (first) - g_get_real_time () / G_USEC_PER_SEC) / DAY;
  g_assert_cmpint (days, >=, CG_CERT_SELF_SIGNED_DAYS - 1);
  g_assert_cmpint (days, <=, CG_CERT_SELF_SIGNED_DAYS);
  unsigned int bits = 0;
  g_assert_cmpint (gnutls_x509_crt_get_pk_algorithm (cg_cert_pair_get_leaf (first), &bits), ==,
                   GNUTLS_PK_ECDSA);
  g_assert_cmpuint (bits, ==, 256);

  generated = TRUE;
  g_autoptr (CgCertPair) second = cg_cert_pair_ensure (state, &generated, &error);
  g_assert_no_error (error);
  g_assert_false (generated);
  g_assert_cmpstr (cg_cert_pair_get_spki_pin (second), ==, cg_cert_pair_get_spki_pin (first));

  /* NULL for generated is fine. */
  g_autoptr (CgCertPair) third = cg_cert_pair_ensure (state, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cg_cert_pair_get_spki_pin (third), ==, cg_cert_pair_get_spki_pin (first));
  cg_test_rm_rf (dir);
}

static void
test_ensure_corrupt (void)
{
  g_autofree char *dir = cg_test_make_tmpdir ("cg-certs");
  g_autofree char *tls = g_build_filename (dir, "tls", NULL);
  g_autofree char *crt = g_build_filename (tls, "server.crt", NULL);
  g_autofree char *key = g_build_filename (tls, "server.key", NULL);
  g_autoptr (GError) error = NULL;
  gboolean generated = TRUE;

  g_autoptr (CgCertPair) pair = cg_cert_pair_ensure (dir, NULL, &error);
  g_assert_no_error (error);
  const char *broken = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n";
  g_assert_true (g_file_set_contents (crt, broken, -1, NULL));
  g_autofree char *key_before = NULL;
  g_assert_true (g_file_get_contents (key, &key_before, NULL, NULL));

  g_autoptr (CgCertPair) again = cg_cert_pair_ensure (dir, &generated, &error);
  g_assert_null (again);
  g_assert_false (generated);
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, crt));

  /* Both files are as the admin left them. */
  g_autofree char *crt_after = NULL, *key_after = NULL;
  g_assert_true (g_file_get_contents (crt, &crt_after, NULL, NULL));
  g_assert_cmpstr (crt_after, ==, broken);
  g_assert_true (g_file_get_contents (key, &key_after, NULL, NULL));
  g_assert_cmpstr (key_after, ==, key_before);
  cg_test_rm_rf (dir);
}

static void
test_ensure_one_missing (void)
{
  g_autofree char *dir = cg_test_make_tmpdir ("cg-certs");
  g_autofree char *tls = g_build_filename (dir, "tls", NULL);
  g_autofree char *crt = g_build_filename (tls, "server.crt", NULL);
  g_autofree char *key = g_build_filename (tls, "server.key", NULL);
  g_autoptr (GError) error = NULL;

  g_autoptr (CgCertPair) pair = cg_cert_pair_ensure (dir, NULL, &error);
  g_assert_no_error (error);

  g_autofree char *key_text = NULL;
  g_assert_true (g_file_get_contents (key, &key_text, NULL, NULL));
  g_assert_cmpint (g_unlink (key), ==, 0);
  g_assert_null (cg_cert_pair_ensure (dir, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, key));
  g_assert_false (g_file_test (key, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (key, key_text, -1, NULL));
  g_assert_cmpint (g_unlink (crt), ==, 0);
  g_assert_null (cg_cert_pair_ensure (dir, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, crt));
  g_assert_false (g_file_test (crt, G_FILE_TEST_EXISTS));
  cg_test_rm_rf (dir);
}

/* What a client's first-contact dialog shows (cg_cert_info_from_der), read
 * from a certificate made as the agent makes it; its pin is the one the
 * known-agents file and curl pin. */
static void
test_info_self_signed (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgCertPair) pair = cg_cert_pair_generate_self_signed (
      CG_KEY_TYPE_ECDSA_P256, CG_CERT_SELF_SIGNED_DAYS, &error);
  g_assert_no_error (error);
  unsigned n = 0;
  gnutls_pcert_st *pcerts = cg_cert_pair_get_pcerts (pair, &n);
  g_assert_cmpuint (n, >=, 1);

  g_autoptr (CgCertInfo) info
      = cg_cert_info_from_der (pcerts[0].cert.data, pcerts[0].cert.size, &error);
  g_assert_no_error (error);
  g_assert_nonnull (info);
  g_assert_cmpstr (info->pin, ==, cg_cert_pair_get_spki_pin (pair));
  g_assert_true (info->self_signed);
  g_autofree char *subject = cg_cert_pair_get_subject (pair);
  g_assert_cmpstr (info->subject, ==, subject);
  g_assert_true (g_strv_contains ((const char *const *) info->sans, "localhost"));
  g_assert_true (g_strv_contains ((const char *const *) info->sans, "127.0.0.1"));
  g_assert_true (g_strv_contains ((const char *const *) info->sans, "::1"));
  g_assert_cmpint (info->not_before, ==, cg_cert_pair_get_not_before (pair));
  g_assert_cmpint (info->not_after, ==, cg_cert_pair_get_not_after (pair));
  gint64 span = info->not_after - info->not_before;
  g_assert_cmpint (span / DAY, >=, CG_CERT_SELF_SIGNED_DAYS - 1);
  g_assert_cmpint (span / DAY, <=, CG_CERT_SELF_SIGNED_DAYS + 1);
}

static void
test_info_garbage (void)
{
  g_autoptr (GError) error = NULL;
  static const guint8 junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
  g_assert_null (cg_cert_info_from_der (junk, sizeof junk, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The handshake test's two ends close while the other may still write. */
  signal (SIGPIPE, SIG_IGN);
  make_fixtures ();

  g_test_add_func ("/certs/selfsign/p256", test_selfsign_p256);
  g_test_add_func ("/certs/info/self-signed", test_info_self_signed);
  g_test_add_func ("/certs/info/garbage", test_info_garbage);
  g_test_add_func ("/certs/selfsign/p384", test_selfsign_p384);
  g_test_add_func ("/certs/selfsign/rsa3072", test_selfsign_rsa3072);
  g_test_add_func ("/certs/selfsign/unique", test_selfsign_unique);
  g_test_add_func ("/certs/selfsign/renew", test_selfsign_renew);
  g_test_add_func ("/certs/selfsign/forged", test_selfsign_forged);
  g_test_add_func ("/certs/selfsign/handshake", test_tls_handshake);
  g_test_add_func ("/certs/pin/openssl-p256", test_pin_openssl_p256);
  g_test_add_func ("/certs/pin/openssl-p384", test_pin_openssl_p384);
  g_test_add_func ("/certs/pin/openssl-rsa3072", test_pin_openssl_rsa);
  g_test_add_func ("/certs/pin/der-garbage", test_pin_from_der_garbage);
  g_test_add_func ("/certs/files/roundtrip", test_files_roundtrip);
  g_test_add_func ("/certs/load/empty", test_load_empty);
  g_test_add_func ("/certs/load/garbage", test_load_garbage);
  g_test_add_func ("/certs/load/truncated", test_load_truncated);
  g_test_add_func ("/certs/load/mismatch", test_load_mismatch);
  g_test_add_func ("/certs/load/missing", test_load_missing);
  g_test_add_func ("/certs/load/encrypted", test_load_encrypted);
  g_test_add_func ("/certs/load/dates", test_load_dates);
  g_test_add_func ("/certs/load/unsorted", test_load_unsorted);
  g_test_add_func ("/certs/load/der", test_load_der);
  g_test_add_func ("/certs/load/chain", test_load_chain);
  g_test_add_func ("/certs/ensure/generates-once", test_ensure_generates_once);
  g_test_add_func ("/certs/ensure/corrupt", test_ensure_corrupt);
  g_test_add_func ("/certs/ensure/one-missing", test_ensure_one_missing);

  int ret = g_test_run ();
  if (fixtures)
    cg_test_rm_rf (fixtures);
  g_free (fixtures);
  return ret;
}
