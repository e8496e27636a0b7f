/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Client certificates on the command line: enrollment and the files. */
#include "config.h"

#include "cli/cg-enroll.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs/cg-client-cert.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-secure.h"


char *
cg_enroll_default_path (const char *host, guint port, const char *ext)
{
  /* Host names and addresses ("::1") as a file name: anything but
   * letters, digits, '.' and '-' becomes '_'. */
  g_autofree char *safe = g_strdup (host);
  for (char *c = safe; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '.' && *c != '-')
      *c = '_';
  g_autofree char *base = g_strdup_printf ("client-%s_%u.%s", safe, port, ext);
  return g_build_filename (g_get_user_config_dir (), "credgate", base, NULL);
}


json_t *
cg_enroll_run (CgClient *client, const char *code, const char *cert_path, const char *key_path,
               GError **error)
{
  g_autoptr (CgBuf) key = NULL;
  json_t *reply = cg_client_enroll (client, code, NULL, &key, error);
  if (!reply)
    return NULL;
  const char *cert = json_string_value (json_object_get (reply, "certificate"));

  g_autofree char *dir = g_path_get_dirname (key_path);
  g_autofree char *cert_dir = g_path_get_dirname (cert_path);
  /* The key first: a certificate is only ever next to its key. */
  if (!cg_mkdir_private (dir, 0700, error) || !cg_mkdir_private (cert_dir, 0700, error)
      || !cg_file_write_atomic (key_path, key->data, key->len, 0600, error)
      || !cg_file_write_atomic (cert_path, cert, strlen (cert), 0600, error))
    {
      json_decref (reply);
      return NULL;
    }
  return reply;
}

gboolean
cg_enroll_use_files (CgClient *client, const char *cert_path, const char *key_path,
                     GError **error)
{
  struct stat kst, cst;
  gboolean have_key = stat (key_path, &kst) == 0;
  gboolean have_cert = stat (cert_path, &cst) == 0;
  if (!have_key && !have_cert)
    return FALSE;
  if (!have_key || !have_cert)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                   "the client certificate %s has no key %s next to it (or the other way "
                   "round); enroll again",
                   cert_path, key_path);
      return FALSE;
    }
  if ((kst.st_mode & 077) || kst.st_uid != geteuid ())
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "%s is open to other users; it must be yours and 0600 (chmod 600)",
                   key_path);
      return FALSE;
    }
  char *cert = NULL, *key_text = NULL;
  gsize cert_len = 0, key_len = 0;
  gboolean ok = cg_file_read_capped (cert_path, CG_CLIENT_CSR_MAX, &cert, &cert_len, error)
                && cg_file_read_capped (key_path, CG_CLIENT_CSR_MAX, &key_text, &key_len, error);
  if (ok)
    {
      g_autoptr (CgBuf) key = cg_buf_new_copy (key_text, key_len);
      ok = cg_client_cert_matches_key (cert, cert_len, key, NULL, error);
      if (!ok)
        g_prefix_error (error, "%s and %s: ", cert_path, key_path);
    }
  if (key_text)
    cg_wipe (key_text, key_len);
  g_free (key_text);
  g_free (cert);
  if (ok)
    cg_client_set_client_cert (client, cert_path, key_path);
  return ok;
}
