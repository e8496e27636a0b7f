/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The crypto limit of a full TLS handshake with an RSA certificate:
 *
 *   cg-bench-sign KEY.pem THREADS SECONDS
 *
 * THREADS loops of gnutls_privkey_sign_data() with the key (RSA-PSS with
 * SHA-256 for an RSA key, as TLS 1.3 signs; ECDSA with SHA-256 for an EC
 * key) on a handshake-sized message, for SECONDS.  Prints
 * "signs N seconds S rate R" (all threads together). */

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static gnutls_datum_t pem;
static double deadline;
static atomic_long signs;

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
worker (void *arg)
{
  (void) arg;
  gnutls_privkey_t key;
  gnutls_privkey_init (&key);
  if (gnutls_privkey_import_x509_raw (key, &pem, GNUTLS_X509_FMT_PEM, NULL, 0) < 0)
    {
      fprintf (stderr, "cg-bench-sign: cannot import the key\n");
      exit (1);
    }
  gnutls_sign_algorithm_t algo = gnutls_privkey_get_pk_algorithm (key, NULL) == GNUTLS_PK_RSA
                                     ? GNUTLS_SIGN_RSA_PSS_RSAE_SHA256
                                     : GNUTLS_SIGN_ECDSA_SHA256;
  /* TLS 1.3 signs 64 spaces, a context string and a transcript hash. */
  unsigned char msg[130] = { 0 };
  gnutls_datum_t data = { msg, sizeof msg };
  while (now () < deadline)
    {
      gnutls_datum_t sig;
      if (gnutls_privkey_sign_data2 (key, algo, 0, &data, &sig) < 0)
        {
          fprintf (stderr, "cg-bench-sign: signing failed\n");
          exit (1);
        }
      gnutls_free (sig.data);
      msg[0]++;
      atomic_fetch_add (&signs, 1);
    }
  gnutls_privkey_deinit (key);
  return NULL;
}

int
main (int argc, char **argv)
{
  if (argc != 4)
    {
      fprintf (stderr, "usage: %s KEY.pem THREADS SECONDS\n", argv[0]);
      return 2;
    }
  gnutls_global_init ();
  if (gnutls_load_file (argv[1], &pem) < 0)
    {
      fprintf (stderr, "%s: cannot read %s\n", argv[0], argv[1]);
      return 1;
    }
  int threads = atoi (argv[2]);
  pthread_t tid[64];
  if (threads < 1 || threads > 64)
    return 2;
  double t0 = now ();
  deadline = t0 + atof (argv[3]);
  for (int i = 0; i < threads; i++)
    pthread_create (&tid[i], NULL, worker, NULL);
  for (int i = 0; i < threads; i++)
    pthread_join (tid[i], NULL);
  double dt = now () - t0;
  printf ("signs %ld seconds %.3f rate %.1f\n", (long) signs, dt, signs / dt);
  return 0;
}
