/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of an admin's certificate in certs/: loading from memory
 * (chains in any order, protected keys, PKCS#12) and validation, each case
 * accepted or refused with its own message.  Fixtures come from
 * tests/data/make-cert-lifecycle-fixtures. */
#include "config.h"

#include "tests/cg-test-util.h"

#include "certs/cg-cert.h"
#include "common/cg-error.h"
#include "common/cg-file.h"

#include <glib/gstdio.h>
#include <string.h>

static char *fixtures;

typedef struct
{
  const char *path;  /* test path */
  const char *chain; /* chain file, or a .p12 */
  const char *key;   /* key file, NULL for a .p12 */
  const char *pass;  /* passphrase, NULL for none */
  gboolean force;
  const char *error;   /* substring of the refusal, NULL when accepted */
  const char *warning; /* substring of a warning expected on success */
  guint chain_len;     /* served chain length when accepted, 0 = don't care */
} Case;

#define PASS "correct horse battery"

static const Case cases[] = {
  { "/cert-validate/ok/rsa2048", "rsa2048.crt", "rsa2048.key", NULL, FALSE, NULL, NULL, 1 },
  { "/cert-validate/ok/rsa3072", "rsa3072.crt", "rsa3072.key", NULL, FALSE, NULL, NULL, 1 },
  { "/cert-validate/ok/rsa4096", "rsa4096.crt", "rsa4096.key", NULL, FALSE, NULL, NULL, 1 },
  { "/cert-validate/ok/p256", "p256.crt", "p256.key", NULL, FALSE, NULL, NULL, 1 },
  { "/cert-validate/ok/p384", "p384.crt", "p384.key", NULL, FALSE, NULL, NULL, 1 },
  { "/cert-validate/ok/chain", "chain.pem", "leaf.key", NULL, FALSE, NULL, "incomplete", 2 },
  { "/cert-validate/warn/reversed", "chain-reversed.pem", "leaf.key", NULL, FALSE, NULL,
    "out of order", 2 },
  { "/cert-validate/warn/incomplete", "chain-incomplete.pem", "leaf.key", NULL, FALSE, NULL,
    "no intermediate", 1 },
  { "/cert-validate/warn/short", "short.crt", "short.key", NULL, FALSE, NULL, "days (", 1 },
  { "/cert-validate/warn/names-forced", "othername.crt", "othername.key", NULL, TRUE, NULL,
    "--force", 1 },
  { "/cert-validate/ok/pkcs8-passphrase", "chain.pem", "leaf-p8.key", PASS, FALSE, NULL, NULL, 2 },
  { "/cert-validate/ok/pkcs8-der-passphrase", "chain.pem", "leaf-p8.der", PASS, FALSE, NULL, NULL,
    2 },
  { "/cert-validate/ok/traditional-passphrase", "chain.pem", "leaf-trad.key", PASS, FALSE, NULL,
    NULL, 2 },
  { "/cert-validate/ok/p12-password", "bundle.p12", NULL, PASS, FALSE, NULL, NULL, 2 },
  { "/cert-validate/ok/p12-nopass", "bundle-nopass.p12", NULL, NULL, FALSE, NULL, NULL, 2 },
  { "/cert-validate/refuse/names", "othername.crt", "othername.key", NULL, FALSE,
    "do not name this host", NULL, 0 },
  { "/cert-validate/refuse/mismatch", "chain.pem", "other.key", NULL, FALSE,
    "private key does not match", NULL, 0 },
  { "/cert-validate/refuse/expired", "expired.crt", "dates.key", NULL, FALSE, "expired on 2021",
    NULL, 0 },
  { "/cert-validate/refuse/future", "future.crt", "dates.key", NULL, FALSE, "not valid yet", NULL,
    0 },
  { "/cert-validate/refuse/rsa1024", "rsa1024.crt", "rsa1024.key", NULL, FALSE,
    "RSA with 1024 bits", NULL, 0 },
  { "/cert-validate/refuse/sha1", "sha1.crt", "sha1.key", NULL, FALSE, "signed with SHA1", NULL,
    0 },
  { "/cert-validate/refuse/eku", "eku.crt", "eku.key", NULL, FALSE, "lacks serverAuth", NULL, 0 },
  { "/cert-validate/refuse/eku-malformed", "eku-bad.crt", "eku-bad.key", NULL, FALSE,
    "extended key usage extension cannot be read", NULL, 0 },
  { "/cert-validate/refuse/no-passphrase", "chain.pem", "leaf-p8.key", NULL, FALSE,
    "no passphrase was given", NULL, 0 },
  { "/cert-validate/refuse/wrong-passphrase", "chain.pem", "leaf-p8.key", "wrong", FALSE,
    "wrong passphrase", NULL, 0 },
  { "/cert-validate/refuse/p12-no-password", "bundle.p12", NULL, NULL, FALSE,
    "protected by a password", NULL, 0 },
  { "/cert-validate/refuse/p12-wrong-password", "bundle.p12", NULL, "wrong", FALSE,
    "wrong password", NULL, 0 },
  { "/cert-validate/refuse/p12-truncated", "truncated.p12", NULL, NULL, FALSE, "cannot read it",
    NULL, 0 },
  { "/cert-validate/refuse/empty", "empty.pem", "leaf.key", NULL, FALSE, "the file is empty", NULL,
    0 },
  { "/cert-validate/refuse/garbage", "garbage.pem", "leaf.key", NULL, FALSE, "no certificate found",
    NULL, 0 },
  { "/cert-validate/refuse/truncated", "truncated.pem", "leaf.key", NULL, FALSE,
    "damaged or truncated", NULL, 0 },
  { "/cert-validate/refuse/garbage-key", "chain.pem", "garbage.pem", NULL, FALSE,
    "no private key found", NULL, 0 },
};

static void
read_fixture (const char *name, char **data, gsize *len)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (fixtures, name, NULL);
  g_assert_true (cg_file_read_capped (path, 1024 * 1024, data, len, &error));
  g_assert_no_error (error);
}

static void
run_case (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *chain = NULL, *key = NULL;
  gsize chain_len = 0, key_len = 0;
  g_autoptr (CgCertPair) pair = NULL;

  if (!fixtures)
    {
      g_test_fail_printf ("no fixtures: tests/data/make-cert-lifecycle-fixtures failed");
      return;
    }
  read_fixture (c->chain, &chain, &chain_len);
  if (c->key)
    {
      read_fixture (c->key, &key, &key_len);
      pair = cg_cert_pair_load_data (chain, chain_len, key, key_len, c->pass, warnings, &error);
    }
  else
    pair = cg_cert_pair_load_pkcs12 (chain, chain_len, c->pass, warnings, &error);

  if (pair)
    {
      g_auto (GStrv) hosts = cg_cert_local_host_names ();
      cg_cert_pair_validate (pair, (const char *const *) hosts,
                             c->force ? CG_CERT_VALIDATE_FORCE : 0, warnings, &error);
    }
  if (c->error)
    {
      g_assert_nonnull (error);
      if (!strstr (error->message, c->error))
        g_error ("%s: expected \"%s\" in: %s", c->path, c->error, error->message);
      return;
    }
  g_assert_no_error (error);
  g_assert_nonnull (pair);
  if (c->chain_len)
    {
      unsigned int n = 0;
      cg_cert_pair_get_pcerts (pair, &n);
      g_assert_cmpuint (n, ==, c->chain_len);
    }
  gboolean found = c->warning == NULL;
  for (guint i = 0; i < warnings->len; i++)
    if (c->warning && strstr (warnings->pdata[i], c->warning))
      found = TRUE;
  if (!found)
    g_error ("%s: expected a warning with \"%s\", got %u warnings%s%s", c->path, c->warning,
             warnings->len, warnings->len ? ": " : "",
             warnings->len ? (char *) warnings->pdata[0] : "");
}

/* The pin of the chain's leaf must not depend on how the pair came in. */
static void
test_same_pin (void)
{
  g_autofree char *chain = NULL, *key = NULL, *p12 = NULL, *enc = NULL;
  gsize chain_len, key_len, p12_len, enc_len;
  g_autoptr (GError) error = NULL;

  if (!fixtures)
    {
      g_test_fail_printf ("no fixtures: tests/data/make-cert-lifecycle-fixtures failed");
      return;
    }
  read_fixture ("chain-reversed.pem", &chain, &chain_len);
  read_fixture ("leaf.key", &key, &key_len);
  read_fixture ("bundle.p12", &p12, &p12_len);
  read_fixture ("leaf-p8.key", &enc, &enc_len);
  g_autoptr (CgCertPair) a
      = cg_cert_pair_load_data (chain, chain_len, key, key_len, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (CgCertPair) b = cg_cert_pair_load_pkcs12 (p12, p12_len, PASS, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cg_cert_pair_get_spki_pin (a), ==, cg_cert_pair_get_spki_pin (b));
  g_assert_true (cg_cert_key_needs_passphrase (enc, enc_len));
  g_assert_false (cg_cert_key_needs_passphrase (key, key_len));
  g_assert_true (cg_cert_pkcs12_needs_password (p12, p12_len));
  g_assert_false (cg_cert_pair_is_self_signed (a));

  g_autofree char *subject = cg_cert_pair_get_subject (a);
  g_autofree char *issuer = cg_cert_pair_get_issuer (a);
  g_autofree char *type = cg_cert_pair_get_key_type (a);
  g_auto (GStrv) sans = cg_cert_pair_get_sans (a);
  g_assert_nonnull (strstr (subject, "leaf.test"));
  g_assert_nonnull (strstr (issuer, "intermediate"));
  g_assert_cmpstr (type, ==, "ECDSA P-256");
  g_assert_true (g_strv_contains ((const char *const *) sans, "DNS:localhost"));
  g_assert_true (g_strv_contains ((const char *const *) sans, "IP:127.0.0.1"));
}

static void
test_key_types (void)
{
  CgKeyType t;
  g_assert_true (cg_key_type_from_name ("ecdsa-p384", &t));
  g_assert_cmpint (t, ==, CG_KEY_TYPE_ECDSA_P384);
  g_assert_true (cg_key_type_from_name ("rsa-3072", &t));
  g_assert_cmpint (t, ==, CG_KEY_TYPE_RSA_3072);
  g_assert_false (cg_key_type_from_name ("dsa", &t));
  g_autoptr (GError) error = NULL;
  g_autoptr (CgCertPair) pair
      = cg_cert_pair_generate_self_signed (CG_KEY_TYPE_ECDSA_P384, 2, &error);
  g_assert_no_error (error);
  g_autofree char *type = cg_cert_pair_get_key_type (pair);
  g_assert_cmpstr (type, ==, "ECDSA P-384");
  g_assert_cmpint (cg_cert_pair_get_generate_type (pair), ==, CG_KEY_TYPE_ECDSA_P384);
  int left = cg_cert_pair_get_days_left (pair, g_get_real_time () / G_USEC_PER_SEC);
  g_assert_cmpint (left, >=, 1);
  g_assert_cmpint (left, <=, 2);
}


/* Every wrong password is "wrong password": about one in 256 decrypts the
 * key bag to garbage that fails to parse before the MAC is looked at (seen
 * once in make distcheck).  1200 tries hit that case with 99% odds. */
static void
test_p12_many_wrong (void)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!fixtures)
    {
      g_test_fail_printf ("no fixtures: tests/data/make-cert-lifecycle-fixtures failed");
      return;
    }
  read_fixture ("bundle.p12", &data, &len);
  for (int i = 0; i < 1200; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *pass = g_strdup_printf ("wrong%d", i);
      g_autoptr (CgCertPair) pair = cg_cert_pair_load_pkcs12 (data, len, pass, NULL, &error);
      g_assert_null (pair);
      g_assert_nonnull (error);
      if (!strstr (error->message, "wrong password"))
        g_error ("password %s: expected \"wrong password\" in: %s", pass, error->message);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  fixtures = cg_test_make_fixtures ("make-cert-lifecycle-fixtures");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    g_test_add_data_func (cases[i].path, &cases[i], run_case);
  g_test_add_func ("/cert-validate/refuse/p12-many-wrong-passwords", test_p12_many_wrong);
  g_test_add_func ("/cert-validate/same-pin", test_same_pin);
  g_test_add_func ("/cert-validate/key-types", test_key_types);

  int ret = g_test_run ();
  if (fixtures)
    cg_test_rm_rf (fixtures);
  g_free (fixtures);
  return ret;
}
