/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-tls.h"
#include "common/cg-error.h"

static GMutex tls_lock;
static CgCertPair *current;
static GPtrArray *retired;
static CgCertPair *next_pair;

gboolean
cg_tls_check_priority (const char *priority, GError **error)
{
  gnutls_priority_t cache;
  const char *err_pos = NULL;
  int r = gnutls_priority_init (&cache, priority, &err_pos);
  if (r < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "invalid TLS priority string at \"%s\": %s",
                   err_pos ? err_pos : priority, gnutls_strerror (r));
      return FALSE;
    }
  gnutls_priority_deinit (cache);
  return TRUE;
}

void
cg_tls_set_pair (CgCertPair *pair)
{
  g_mutex_lock (&tls_lock);
  if (current)
    {
      if (!retired)
        retired = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_cert_pair_unref);
      g_ptr_array_add (retired, current);
    }
  current = cg_cert_pair_ref (pair);
  g_mutex_unlock (&tls_lock);
}

CgCertPair *
cg_tls_get_pair (void)
{
  g_mutex_lock (&tls_lock);
  CgCertPair *pair = current ? cg_cert_pair_ref (current) : NULL;
  g_mutex_unlock (&tls_lock);
  return pair;
}

void
cg_tls_set_next (CgCertPair *pair)
{
  g_mutex_lock (&tls_lock);
  /* Never served, so nothing can be using it: dropped at once. */
  g_clear_pointer (&next_pair, cg_cert_pair_unref);
  next_pair = pair ? cg_cert_pair_ref (pair) : NULL;
  g_mutex_unlock (&tls_lock);
}

CgCertPair *
cg_tls_get_next (void)
{
  g_mutex_lock (&tls_lock);
  CgCertPair *pair = next_pair ? cg_cert_pair_ref (next_pair) : NULL;
  g_mutex_unlock (&tls_lock);
  return pair;
}

void
cg_tls_shutdown (void)
{
  g_mutex_lock (&tls_lock);
  g_clear_pointer (&next_pair, cg_cert_pair_unref);
  g_clear_pointer (&current, cg_cert_pair_unref);
  g_clear_pointer (&retired, g_ptr_array_unref);
  g_mutex_unlock (&tls_lock);
}

int
cg_tls_retrieve_cb (gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                    gnutls_pcert_st **pcert, unsigned int *pcert_length,
                    gnutls_privkey_t *privkey)
{
  int r = -1;
  /* Ask for a client certificate without requiring one: enrolled clients
   * authenticate with it, everyone else with a token (checked per request
   * in cg-api.c, against the client CA and the enrolled table).  Set here,
   * while the ClientHello is processed, so it goes into this handshake's
   * CertificateRequest. */
  gnutls_certificate_server_set_request (session, GNUTLS_CERT_REQUEST);
  g_mutex_lock (&tls_lock);
  if (current)
    {
      /* Borrowed: current (or, after a swap, its retired entry) outlives
       * this handshake. */
      *pcert = cg_cert_pair_get_pcerts (current, pcert_length);
      *privkey = cg_cert_pair_get_privkey (current);
      r = 0;
    }
  g_mutex_unlock (&tls_lock);
  return r;
}
