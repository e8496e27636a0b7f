/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The certificate directory and the agent's certificate policy: install,
 * stage and activate, SIGHUP drop-ins, self-signed renewal, expiry
 * warnings.  See cg-tls-store.h. */
#include "config.h"

#include "agent/cg-tls-store.h"
#include "agent/cg-tls.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-secure.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define DAY (24 * 3600)

static GMutex store_lock;
static char *tls_dir;
static GStrv host_names;
/* A CgTlsOrigin; atomic so that /v1/info never waits on the store lock
 * (held while a renewal generates a key). */
static gint origin = CG_TLS_ORIGIN_GENERATED;
static gint64 last_warned_day = -1;

static char *
path_in (const char *name)
{
  return g_build_filename (tls_dir, name, NULL);
}

static gint64
now_s (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* --- files ------------------------------------------------------------- */

static void
fsync_dir (void)
{
  int fd = open (tls_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    {
      (void) fsync (fd);
      close (fd);
    }
}

/* Write @pair as BASE.crt + BASE.key.  Both are written in full beside
 * their targets first, so a failure leaves the old pair whole; then two
 * renames, key first (a new key beside the old certificate is the window
 * a crash could leave, and the agent then refuses to start rather than
 * serve a wrong pair). */
static gboolean
save_pair (CgCertPair *pair, const char *base, GError **error)
{
  g_autofree char *crt = g_strconcat (tls_dir, "/", base, ".crt", NULL);
  g_autofree char *key = g_strconcat (tls_dir, "/", base, ".key", NULL);
  g_autofree char *crt_new = g_strconcat (crt, ".new", NULL);
  g_autofree char *key_new = g_strconcat (key, ".new", NULL);

  if (!cg_cert_pair_save_files (pair, crt_new, key_new, error))
    {
      g_unlink (crt_new);
      g_unlink (key_new);
      return FALSE;
    }
  if (g_rename (key_new, key) < 0 || g_rename (crt_new, crt) < 0)
    {
      int e = errno;
      g_unlink (crt_new);
      g_unlink (key_new);
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot put the certificate in %s: %s", tls_dir,
                   g_strerror (e));
      return FALSE;
    }
  fsync_dir ();
  return TRUE;
}

/* A crash inside save_pair leaves BASE.*.new behind.  Before the first
 * rename (BASE.key.new still there) the old pair is whole: the new files
 * go.  Between the two renames the new key already sits beside the old
 * certificate, a pair that does not match; BASE.crt.new completes it when
 * it matches that key.  Done at start, before the pair is read, so such a
 * crash never keeps the agent down. */
static void
finish_interrupted_save (const char *base)
{
  g_autofree char *crt = g_strconcat (tls_dir, "/", base, ".crt", NULL);
  g_autofree char *key = g_strconcat (tls_dir, "/", base, ".key", NULL);
  g_autofree char *crt_new = g_strconcat (crt, ".new", NULL);
  g_autofree char *key_new = g_strconcat (key, ".new", NULL);

  if (g_file_test (key_new, G_FILE_TEST_EXISTS))
    {
      g_unlink (key_new);
      g_unlink (crt_new);
      g_message ("certificate: dropped the half-written %s.crt.new and %s.key.new of an "
                 "interrupted change",
                 base, base);
      return;
    }
  if (!g_file_test (crt_new, G_FILE_TEST_EXISTS))
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (CgCertPair) pair = cg_cert_pair_load_files (crt_new, key, &error);
  if (pair && g_rename (crt_new, crt) == 0)
    {
      fsync_dir ();
      g_message ("certificate: completed an interrupted change: %s.crt.new matches %s.key",
                 base, base);
      return;
    }
  g_unlink (crt_new);
  g_message ("certificate: dropped %s.crt.new of an interrupted change: %s", base,
             error ? error->message : g_strerror (errno));
}

static void
remove_pair (const char *base)
{
  g_autofree char *crt = g_strconcat (tls_dir, "/", base, ".crt", NULL);
  g_autofree char *key = g_strconcat (tls_dir, "/", base, ".key", NULL);
  g_unlink (crt);
  g_unlink (key);
  fsync_dir ();
}

/* Whether the staged pair is one the agent made (cert generate --stage):
 * once activated it is ours, and renewed like any self-signed one. */
static void
set_next_ours (gboolean ours)
{
  g_autofree char *path = path_in ("next.origin");
  g_autoptr (GError) error = NULL;
  if (!ours)
    g_unlink (path);
  else if (!cg_file_write_atomic (path, "generated\n", strlen ("generated\n"), 0600, &error))
    g_warning ("certificate: %s", error->message);
}

static gboolean
next_is_ours (void)
{
  g_autofree char *path = path_in ("next.origin");
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static void
set_origin (CgTlsOrigin o)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = path_in ("origin");
  const char *text = o == CG_TLS_ORIGIN_GENERATED ? "generated\n" : "installed\n";
  g_atomic_int_set (&origin, o);
  if (!cg_file_write_atomic (path, text, strlen (text), 0600, &error))
    g_warning ("certificate: %s", error->message);
}

/* The recorded origin; without a record (a state directory from before
 * there was one) a self-signed pair is taken to be ours. */
static CgTlsOrigin
read_origin (CgCertPair *pair)
{
  g_autofree char *path = path_in ("origin");
  g_autofree char *text = NULL;
  if (g_file_get_contents (path, &text, NULL, NULL))
    return g_str_has_prefix (text, "installed") ? CG_TLS_ORIGIN_INSTALLED : CG_TLS_ORIGIN_GENERATED;
  return cg_cert_pair_is_self_signed (pair) ? CG_TLS_ORIGIN_GENERATED : CG_TLS_ORIGIN_INSTALLED;
}

/* BASE.crt + BASE.key as they are, unchecked beyond the key's match;
 * NULL without error when neither file is there. */
static CgCertPair *
load_pair (const char *base, GPtrArray *warnings, GError **error)
{
  g_autofree char *crt = g_strconcat (tls_dir, "/", base, ".crt", NULL);
  g_autofree char *key = g_strconcat (tls_dir, "/", base, ".key", NULL);
  g_autofree char *crt_data = NULL;
  char *key_data = NULL;
  gsize crt_len = 0, key_len = 0;

  if (!g_file_test (crt, G_FILE_TEST_EXISTS) && !g_file_test (key, G_FILE_TEST_EXISTS))
    return NULL;
  if (!cg_file_read_capped (crt, 1024 * 1024, &crt_data, &crt_len, error)
      || !cg_file_read_capped (key, 1024 * 1024, &key_data, &key_len, error))
    return NULL;
  CgCertPair *pair
      = cg_cert_pair_load_data (crt_data, crt_len, key_data, key_len, NULL, warnings, error);
  cg_wipe (key_data, key_len);
  g_free (key_data);
  if (!pair)
    g_prefix_error (error, "%s: ", crt);
  return pair;
}

/* --- policy ------------------------------------------------------------ */

gboolean
cg_tls_store_check (CgCertPair *pair, gboolean force, GPtrArray *warnings, GError **error)
{
  return cg_cert_pair_validate (pair, (const char *const *) host_names,
                                force ? CG_CERT_VALIDATE_FORCE : CG_CERT_VALIDATE_DEFAULT, warnings,
                                error);
}

static void
serve (CgCertPair *pair, const char *why)
{
  cg_tls_set_pair (pair);
  g_message ("certificate: serving %s (%s)", cg_cert_pair_get_spki_pin (pair), why);
}

/* Under the lock: write @made (stolen; NULL when making it failed, @error
 * set) as the served pair of our own. */
static CgCertPair *
serve_made_locked (CgCertPair *made, const char *why, GError **error)
{
  g_autoptr (CgCertPair) pair = made;
  if (!pair || !save_pair (pair, "server", error))
    return NULL;
  set_origin (CG_TLS_ORIGIN_GENERATED);
  serve (pair, why);
  return g_steal_pointer (&pair);
}

/* Under the lock.  A new key: only ever the admin's `cert generate`. */
static CgCertPair *
generate_locked (CgKeyType type, guint days, const char *why, GError **error)
{
  return serve_made_locked (cg_cert_pair_generate_self_signed (type, days, error), why, error);
}

/* Under the lock.  A new certificate for the same key, so every client's
 * pin (known_agents, --pin, the desktop app) stays valid. */
static CgCertPair *
renew_locked (CgCertPair *old, GError **error)
{
  return serve_made_locked (cg_cert_pair_renew_self_signed (old, CG_CERT_SELF_SIGNED_DAYS, error),
                            "renewed the self-signed certificate with the same key", error);
}

static void
maintain_locked (void)
{
  g_autoptr (CgCertPair) pair = cg_tls_get_pair ();
  if (!pair)
    return;
  gint64 now = now_s ();
  int days = cg_cert_pair_get_days_left (pair, now);
  if (cg_cert_pair_get_not_after (pair) - now >= CG_CERT_RENEW_DAYS * DAY)
    return;
  if (cg_tls_store_get_origin () == CG_TLS_ORIGIN_GENERATED)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (CgCertPair) renewed = renew_locked (pair, &error);
      if (!renewed)
        g_warning ("certificate: cannot renew the self-signed certificate (%d days left): %s", days,
                   error->message);
      return;
    }
  /* Installed: never replaced; said once a day. */
  if (now / DAY != last_warned_day)
    {
      last_warned_day = now / DAY;
      g_warning ("certificate: the installed certificate expires in %d days; install a "
                 "renewed one (credgatectl cert install)",
                 days);
    }
}

CgCertPair *
cg_tls_store_start (const char *state_dir, gboolean *generated, GError **error)
{
  g_mutex_lock (&store_lock);
  g_free (tls_dir);
  tls_dir = g_build_filename (state_dir, "tls", NULL);
  if (!host_names)
    host_names = cg_cert_local_host_names ();
  g_mutex_unlock (&store_lock);

  /* A self-signed pair of ours that ran out while the agent was stopped
   * is renewed, not a reason to stay down. */
  g_mutex_lock (&store_lock);
  finish_interrupted_save ("server");
  finish_interrupted_save ("next");
  g_mutex_unlock (&store_lock);

  g_autoptr (GError) local = NULL;
  g_autoptr (CgCertPair) old = load_pair ("server", NULL, &local);
  if (old && read_origin (old) == CG_TLS_ORIGIN_GENERATED
      && cg_cert_pair_get_not_after (old) - now_s () < CG_CERT_RENEW_DAYS * DAY)
    {
      g_mutex_lock (&store_lock);
      g_autoptr (CgCertPair) renewed = renew_locked (old, error);
      g_mutex_unlock (&store_lock);
      if (!renewed)
        return NULL;
      g_clear_pointer (&old, cg_cert_pair_unref);
      old = g_steal_pointer (&renewed);
    }
  else if (!old && local)
    {
      /* Both files there but unusable: say so, do not generate over them. */
      g_autofree char *crt = path_in ("server.crt");
      g_autofree char *key = path_in ("server.key");
      if (g_file_test (crt, G_FILE_TEST_EXISTS) && g_file_test (key, G_FILE_TEST_EXISTS))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
    }

  /* A pair on disk is read the way SIGHUP reads it (a chain out of order
   * is served sorted), so a restart never refuses what a reload took; it
   * must still be fit to serve.  Without one, cg_cert_pair_ensure makes
   * the first self-signed pair (or explains the lone file). */
  CgCertPair *pair = NULL;
  if (old)
    {
      g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
      if (!cg_tls_store_check (old, TRUE, warnings, error))
        {
          g_prefix_error (error, "%s/server.crt: ", tls_dir);
          return NULL;
        }
      for (guint i = 0; i < warnings->len; i++)
        g_warning ("certificate: %s", (char *) warnings->pdata[i]);
      pair = cg_cert_pair_ref (old);
      if (generated)
        *generated = FALSE;
    }
  else if (!(pair = cg_cert_pair_ensure (state_dir, generated, error)))
    return NULL;
  g_mutex_lock (&store_lock);
  if (generated && *generated)
    set_origin (CG_TLS_ORIGIN_GENERATED);
  else
    g_atomic_int_set (&origin, read_origin (pair));
  cg_tls_set_pair (pair);

  g_autoptr (GError) next_error = NULL;
  g_autoptr (CgCertPair) next = load_pair ("next", NULL, &next_error);
  if (next && !cg_tls_store_check (next, TRUE, NULL, &next_error))
    g_clear_pointer (&next, cg_cert_pair_unref);
  if (next)
    cg_tls_set_next (next);
  else if (next_error)
    g_warning ("certificate: not staging the next certificate: %s", next_error->message);
  maintain_locked ();
  g_mutex_unlock (&store_lock);
  return pair;
}

gboolean
cg_tls_store_install (CgCertPair *pair, gboolean stage, GError **error)
{
  gboolean ok = FALSE;
  g_mutex_lock (&store_lock);
  if (stage)
    {
      if ((ok = save_pair (pair, "next", error)))
        {
          set_next_ours (FALSE);
          cg_tls_set_next (pair);
          g_message ("certificate: staged %s as the next certificate",
                     cg_cert_pair_get_spki_pin (pair));
        }
    }
  else if ((ok = save_pair (pair, "server", error)))
    {
      set_origin (CG_TLS_ORIGIN_INSTALLED);
      last_warned_day = -1;
      serve (pair, "installed");
    }
  g_mutex_unlock (&store_lock);
  return ok;
}

gboolean
cg_tls_store_restore (CgCertPair *pair, CgTlsOrigin o, GPtrArray *warnings, GError **error)
{
  if (!cg_tls_store_check (pair, TRUE, warnings, error))
    return FALSE;
  g_mutex_lock (&store_lock);
  gboolean ok = save_pair (pair, "server", error);
  if (ok)
    {
      set_origin (o);
      last_warned_day = -1;
      serve (pair, "restored from a backup");
      maintain_locked ();
    }
  g_mutex_unlock (&store_lock);
  return ok;
}

CgCertPair *
cg_tls_store_generate (CgKeyType type, guint days, gboolean stage, GError **error)
{
  g_mutex_lock (&store_lock);
  CgCertPair *pair = NULL;
  if (!stage)
    pair = generate_locked (type, days, "a new self-signed certificate", error);
  else if ((pair = cg_cert_pair_generate_self_signed (type, days, error))
           && save_pair (pair, "next", error))
    {
      set_next_ours (TRUE);
      cg_tls_set_next (pair);
      g_message ("certificate: staged a new self-signed certificate %s as the next certificate",
                 cg_cert_pair_get_spki_pin (pair));
    }
  else
    g_clear_pointer (&pair, cg_cert_pair_unref);
  g_mutex_unlock (&store_lock);
  return pair;
}

CgCertPair *
cg_tls_store_activate (GError **error)
{
  CgCertPair *next = NULL;
  g_mutex_lock (&store_lock);
  next = cg_tls_get_next ();
  if (!next)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                   "no certificate is staged; stage one with credgatectl cert install --stage");
      goto out;
    }
  /* Checked again: it may have run out since it was staged. */
  if (!cg_tls_store_check (next, TRUE, NULL, error) || !save_pair (next, "server", error))
    {
      g_clear_pointer (&next, cg_cert_pair_unref);
      goto out;
    }
  remove_pair ("next");
  set_origin (next_is_ours () ? CG_TLS_ORIGIN_GENERATED : CG_TLS_ORIGIN_INSTALLED);
  set_next_ours (FALSE);
  last_warned_day = -1;
  serve (next, "activated the staged certificate");
  cg_tls_set_next (NULL);
out:
  g_mutex_unlock (&store_lock);
  return next;
}

void
cg_tls_store_reload (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);

  g_mutex_lock (&store_lock);
  g_autoptr (CgCertPair) current = cg_tls_get_pair ();
  g_autoptr (CgCertPair) pair = load_pair ("server", warnings, &error);
  if (!pair && !error)
    g_set_error (&error, CG_ERROR, CG_ERROR_NOT_FOUND, "%s/server.crt and server.key are gone",
                 tls_dir);
  /* Names are only warned about: the tool that wrote the file chose them. */
  if (pair && !cg_tls_store_check (pair, TRUE, warnings, &error))
    g_clear_pointer (&pair, cg_cert_pair_unref);
  if (!pair)
    g_warning ("SIGHUP: keeping the served certificate %s: %s (the agent will not start with "
               "these files; fix or replace them)",
               current ? cg_cert_pair_get_spki_pin (current) : "-", error->message);
  else if (current
           && g_str_equal (cg_cert_pair_get_spki_pin (pair), cg_cert_pair_get_spki_pin (current))
           && cg_cert_pair_get_not_after (pair) == cg_cert_pair_get_not_after (current))
    g_message ("SIGHUP: the certificate is unchanged");
  else
    {
      for (guint i = 0; i < warnings->len; i++)
        g_warning ("SIGHUP: %s", (char *) warnings->pdata[i]);
      /* Whoever wrote it owns it now: never replaced by a renewal. */
      set_origin (CG_TLS_ORIGIN_INSTALLED);
      last_warned_day = -1;
      serve (pair, "SIGHUP: taken from the certificate directory");
    }
  maintain_locked ();
  g_mutex_unlock (&store_lock);
}

void
cg_tls_store_maintain (void)
{
  g_mutex_lock (&store_lock);
  maintain_locked ();
  g_mutex_unlock (&store_lock);
}

CgTlsOrigin
cg_tls_store_get_origin (void)
{
  return g_atomic_int_get (&origin);
}

void
cg_tls_store_add_info (json_t *info)
{
  g_autoptr (CgCertPair) pair = cg_tls_get_pair ();
  g_autoptr (CgCertPair) next = cg_tls_get_next ();
  CgTlsOrigin o = cg_tls_store_get_origin ();

  json_object_set_new (info, "nextTlsPin",
                       next ? json_string (cg_cert_pair_get_spki_pin (next)) : json_null ());
  if (!pair)
    return;
  int days = cg_cert_pair_get_days_left (pair, now_s ());
  json_object_set_new (info, "tlsExpiresInDays", json_integer (days));
  json_object_set_new (info, "tlsOrigin",
                       json_string (o == CG_TLS_ORIGIN_GENERATED ? "self-signed" : "installed"));
  g_autofree char *warning = NULL;
  if (cg_cert_pair_get_not_after (pair) - now_s () < CG_CERT_RENEW_DAYS * DAY)
    warning = o == CG_TLS_ORIGIN_INSTALLED
                  ? g_strdup_printf ("the installed certificate expires in %d days; install a "
                                     "renewed one",
                                     days)
                  : g_strdup_printf ("the self-signed certificate expires in %d days and is "
                                     "due for renewal",
                                     days);
  json_object_set_new (info, "tlsWarning", warning ? json_string (warning) : json_null ());
}
