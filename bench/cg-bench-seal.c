/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The crypto limit of POST /v1/encrypt:
 *
 *   cg-bench-seal THREADS SECONDS
 *
 * THREADS loops of cg_jwe_seal() (what the agent calls per request) with
 * one P-256 sealing key and a short value, for SECONDS.  Prints
 * "seals N seconds S rate R" (all threads together). */
#include "config.h"

#include "jose/cg-jwe.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static CgSealKey *key;
static gint64 deadline;
static gint seals;

static gpointer
worker (gpointer data)
{
  static const char value[] = "correct horse battery staple";
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *jwe
          = cg_jwe_seal (key, NULL, (const guint8 *) value, strlen (value), &error);
      if (!jwe)
        g_error ("cg_jwe_seal: %s", error->message);
      g_atomic_int_inc (&seals);
    }
  return NULL;
}

int
main (int argc, char **argv)
{
  if (argc != 3)
    {
      fprintf (stderr, "usage: %s THREADS SECONDS\n", argv[0]);
      return 2;
    }
  g_autoptr (GError) error = NULL;
  key = cg_seal_key_generate (&error);
  if (!key)
    g_error ("cannot make a key: %s", error->message);
  int threads = atoi (argv[1]);
  if (threads < 1 || threads > 64)
    return 2;
  GThread *tid[64];
  gint64 t0 = g_get_monotonic_time ();
  deadline = t0 + (gint64) (atof (argv[2]) * G_USEC_PER_SEC);
  for (int i = 0; i < threads; i++)
    tid[i] = g_thread_new ("seal", worker, NULL);
  for (int i = 0; i < threads; i++)
    g_thread_join (tid[i]);
  double dt = (g_get_monotonic_time () - t0) / (double) G_USEC_PER_SEC;
  printf ("seals %d seconds %.3f rate %.1f\n", seals, dt, seals / dt);
  cg_seal_key_unref (key);
  return 0;
}
