/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <locale.h>
#include <string.h>

#include "certs/cg-cert.h"
#include "gui/cg-manager-client.h"

/* What the first-contact dialog shows is read from the certificate the
 * agent really makes (certs/), and its pin is the same one the known-agents
 * file and curl pin. */
static void
test_self_signed (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgCertPair) pair = cg_cert_pair_generate_self_signed (
      CG_KEY_TYPE_ECDSA_P256, CG_CERT_SELF_SIGNED_DAYS, &error);
  g_assert_no_error (error);
  unsigned n = 0;
  gnutls_pcert_st *pcerts = cg_cert_pair_get_pcerts (pair, &n);
  g_assert_cmpuint (n, >=, 1);

  g_autoptr (CgAgentProbe) probe
      = cg_agent_probe_from_der (pcerts[0].cert.data, pcerts[0].cert.size, &error);
  g_assert_no_error (error);
  g_assert_nonnull (probe);
  g_assert_cmpstr (probe->pin, ==, cg_cert_pair_get_spki_pin (pair));
  g_assert_true (g_str_has_prefix (probe->pin, "sha256:"));
  g_assert_true (probe->self_signed);
  g_assert_nonnull (probe->subject);
  g_assert_true (g_strv_contains ((const char *const *)probe->sans, "localhost"));
  g_assert_true (g_strv_contains ((const char *const *)probe->sans, "127.0.0.1"));
  g_assert_true (g_strv_contains ((const char *const *)probe->sans, "::1"));
  g_assert_nonnull (probe->not_before);
  g_assert_nonnull (probe->not_after);
  GTimeSpan span = g_date_time_difference (probe->not_after, probe->not_before);
  g_assert_cmpint (span / G_TIME_SPAN_DAY, >=, CG_CERT_SELF_SIGNED_DAYS - 1);
  g_assert_cmpint (span / G_TIME_SPAN_DAY, <=, CG_CERT_SELF_SIGNED_DAYS + 1);
}

static void
test_garbage (void)
{
  g_autoptr (GError) error = NULL;
  static const guint8 junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
  CgAgentProbe *probe = cg_agent_probe_from_der (junk, sizeof junk, &error);
  g_assert_null (probe);
  g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C");
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gui/cert/self-signed", test_self_signed);
  g_test_add_func ("/gui/cert/garbage", test_garbage);
  return g_test_run ();
}
