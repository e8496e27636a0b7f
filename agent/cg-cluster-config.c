/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* STATE_DIR/cluster.json and the etcd files under STATE_DIR/cluster/. */
#include "config.h"

#include "agent/cg-cluster-config.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "common/cg-time.h"
#include "protocol/cg-names.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX (64 * 1024)
#define ENDPOINTS_MAX 16
#define PEM_MAX (256 * 1024)

void
cg_cluster_config_free (CgClusterConfig *cfg)
{
  if (!cfg)
    return;
  g_free (cfg->id);
  g_free (cfg->name);
  g_strfreev (cfg->endpoints);
  g_free (cfg->address);
  g_free (cfg->since);
  g_free (cfg->ca_file);
  g_free (cfg->cert_file);
  g_free (cfg->key_file);
  g_free (cfg);
}

char *
cg_cluster_config_prefix (const char *id)
{
  return g_strdup_printf ("/credgate/%s/", id);
}

static char *
config_path (const char *state_dir)
{
  return g_build_filename (state_dir, "cluster.json", NULL);
}

gboolean
cg_cluster_config_exists (const char *state_dir)
{
  g_autofree char *path = config_path (state_dir);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

gboolean
cg_cluster_config_check_endpoints (const char *const *endpoints, GError **error)
{
  guint n = endpoints ? g_strv_length ((char **) endpoints) : 0;
  if (n == 0 || n > ENDPOINTS_MAX)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "give 1 to %d etcd endpoints",
                   ENDPOINTS_MAX);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      const char *e = endpoints[i];
      const char *host = g_str_has_prefix (e, "https://") ? e + strlen ("https://") : NULL;
      if (!host || !*host || strlen (e) > 256 || strpbrk (host, "/?#@ \t\r\n")
          || !g_utf8_validate (e, -1, NULL))
        {
          /* An endpoint is not secret: naming it helps the admin. */
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                       "etcd endpoint \"%s\" is not an https://HOST:PORT URL",
                       g_utf8_validate (e, -1, NULL) ? e : "?");
          return FALSE;
        }
    }
  return TRUE;
}

static char *
file_in (const char *state_dir, const char *rel)
{
  return g_build_filename (state_dir, rel, NULL);
}

CgClusterConfig *
cg_cluster_config_load (const char *state_dir, GError **error)
{
  g_autofree char *path = config_path (state_dir);
  struct stat st;
  if (lstat (path, &st) < 0)
    return NULL;
  if (!S_ISREG (st.st_mode) || (st.st_mode & 077) || st.st_uid != geteuid ())
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO,
                   "%s must be a regular file owned by the agent's user, mode 0600", path);
      return NULL;
    }
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!cg_file_read_capped (path, CONFIG_MAX, &text, &len, error))
    return NULL;
  g_autoptr (GError) local = NULL;
  json_auto_t *root = cg_json_load_strict (text, len, &local);
  const char *id = NULL, *name = NULL, *ca = NULL, *cert = NULL, *key = NULL, *address = NULL,
             *since = NULL;
  json_t *endpoints = NULL;
  json_error_t jerr;
  if (!root
      || json_unpack_ex (root, &jerr, JSON_STRICT, "{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s?s}",
                         "id", &id, "name", &name, "endpoints", &endpoints, "ca", &ca, "cert",
                         &cert, "key", &key, "address", &address, "since", &since)
             < 0
      || !json_is_array (endpoints) || !cg_name_is_valid (name) || !cg_name_is_valid (id))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "%s is damaged%s%s", path,
                   local ? ": " : "", local ? local->message : "");
      return NULL;
    }
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  gsize i;
  json_t *e;
  json_array_foreach (endpoints, i, e)
    {
      if (!json_is_string (e))
        {
          g_set_error (error, CG_ERROR, CG_ERROR_IO, "%s is damaged: endpoints", path);
          return NULL;
        }
      g_strv_builder_add (b, json_string_value (e));
    }
  g_autoptr (CgClusterConfig) cfg = g_new0 (CgClusterConfig, 1);
  cfg->endpoints = g_strv_builder_end (b);
  if (!cg_cluster_config_check_endpoints ((const char *const *) cfg->endpoints, error))
    return NULL;
  cfg->id = g_strdup (id);
  cfg->name = g_strdup (name);
  cfg->address = g_strdup (address);
  cfg->since = g_strdup (since);
  cfg->ca_file = file_in (state_dir, ca);
  cfg->cert_file = file_in (state_dir, cert);
  cfg->key_file = file_in (state_dir, key);
  const char *files[] = { cfg->ca_file, cfg->cert_file, cfg->key_file };
  for (gsize f = 0; f < G_N_ELEMENTS (files); f++)
    if (!g_file_test (files[f], G_FILE_TEST_IS_REGULAR))
      {
        g_set_error (error, CG_ERROR, CG_ERROR_IO, "%s names %s, which is missing", path,
                     files[f]);
        return NULL;
      }
  return g_steal_pointer (&cfg);
}

static gboolean
check_pem (const char *what, const char *pem, GError **error)
{
  if (!pem || !*pem || strlen (pem) > PEM_MAX || !strstr (pem, "-----BEGIN "))
    {
      /* Never the text itself: it may be a key. */
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "the etcd %s is not a PEM file", what);
      return FALSE;
    }
  return TRUE;
}

gboolean
cg_cluster_config_install_files (CgClusterConfig *cfg, const char *state_dir, const char *ca_pem,
                                 const char *cert_pem, const char *key_pem, GError **error)
{
  if (!check_pem ("CA", ca_pem, error) || !check_pem ("client certificate", cert_pem, error)
      || !check_pem ("client key", key_pem, error))
    return FALSE;
  g_autofree char *dir = g_build_filename (state_dir, "cluster", NULL);
  if (!cg_mkdir_private (dir, 0700, error))
    return FALSE;
  g_free (cfg->ca_file);
  g_free (cfg->cert_file);
  g_free (cfg->key_file);
  cfg->ca_file = g_build_filename (dir, "ca.pem", NULL);
  cfg->cert_file = g_build_filename (dir, "cert.pem", NULL);
  cfg->key_file = g_build_filename (dir, "key.pem", NULL);
  return cg_file_write_atomic (cfg->ca_file, ca_pem, strlen (ca_pem), 0600, error)
         && cg_file_write_atomic (cfg->cert_file, cert_pem, strlen (cert_pem), 0600, error)
         && cg_file_write_atomic (cfg->key_file, key_pem, strlen (key_pem), 0600, error);
}

/* @path relative to @state_dir when it is under it. */
static const char *
relative (const char *state_dir, const char *path)
{
  gsize n = strlen (state_dir);
  if (g_str_has_prefix (path, state_dir) && path[n] == G_DIR_SEPARATOR)
    return path + n + 1;
  return path;
}

gboolean
cg_cluster_config_save (const CgClusterConfig *cfg, const char *state_dir, GError **error)
{
  json_t *endpoints = json_array ();
  for (char **e = cfg->endpoints; e && *e; e++)
    json_array_append_new (endpoints, json_string (*e));
  json_auto_t *root = json_pack (
      "{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s?}", "id", cfg->id, "name", cfg->name,
      "endpoints", endpoints, "ca", relative (state_dir, cfg->ca_file), "cert",
      relative (state_dir, cfg->cert_file), "key", relative (state_dir, cfg->key_file), "address",
      cfg->address, "since", cfg->since);
  g_autofree char *text = json_dumps (root, JSON_INDENT (2));
  g_autofree char *path = config_path (state_dir);
  GString *s = g_string_new (text);
  g_string_append_c (s, '\n');
  gboolean ok = cg_file_write_atomic (path, s->str, s->len, 0600, error);
  g_string_free (s, TRUE);
  return ok;
}
