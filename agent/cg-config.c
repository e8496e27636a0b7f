/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-config.h"
#include "common/cg-error.h"

#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CONFIG_FILE CG_SYSCONF_DIR "/agent.conf"

/* Every key the config file may hold; anything else is refused so that a
 * typo never silently leaves a default in force. */
static const char *const known_keys[] = {
  "port", "listen", "state_dir", "admin_socket", "priority", "max_connections",
  "max_connections_per_ip", "idle_timeout", "max_body", "threads", "auth_failures",
  "audit_log", "web", "client_cert_days", "audit_auth_interval", NULL,
};

char *
cg_config_default_admin_socket (void)
{
  const char *env = g_getenv ("CREDGATE_ADMIN_SOCKET");
  if (env && *env)
    return g_strdup (env);
  const char *runtime = g_getenv ("XDG_RUNTIME_DIR");
  if (geteuid () != 0 && runtime && *runtime)
    return g_build_filename (runtime, "credgate", "admin.sock", NULL);
  return g_strdup ("/run/credgate/admin.sock");
}

static gboolean
parse_uint (const char *what, const char *text, guint64 min, guint64 max, guint64 *out,
            GError **error)
{
  guint64 v;
  g_autoptr (GError) local = NULL;
  if (!g_ascii_string_to_unsigned (text, 10, min, max, &v, &local))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "%s: \"%s\" is not a number from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                   what, text, min, max);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

static gboolean
check_listen (char **addrs, GError **error)
{
  if (!addrs || !addrs[0])
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "listen: no address given");
      return FALSE;
    }
  for (char **a = addrs; *a; a++)
    {
      g_strstrip (*a);
      g_autoptr (GInetAddress) ia = g_inet_address_new_from_string (*a);
      if (!ia)
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                       "listen: \"%s\" is not an IPv4 or IPv6 address", *a);
          return FALSE;
        }
    }
  return TRUE;
}

/* One setting, by name, from text: shared by the config file and the
 * command line so both accept exactly the same values. */
static gboolean
apply_setting (CgConfig *c, const char *key, const char *value, GError **error)
{
  guint64 n;
  if (g_str_equal (key, "port"))
    {
      if (!parse_uint ("port", value, 1, 65535, &n, error))
        return FALSE;
      c->port = n;
    }
  else if (g_str_equal (key, "listen"))
    {
      g_strfreev (c->listen);
      c->listen = g_strsplit (value, ",", -1);
      if (!check_listen (c->listen, error))
        return FALSE;
    }
  else if (g_str_equal (key, "state_dir"))
    {
      if (!g_path_is_absolute (value) && !*value)
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "state_dir: empty path");
          return FALSE;
        }
      g_free (c->state_dir);
      c->state_dir = g_canonicalize_filename (value, NULL);
    }
  else if (g_str_equal (key, "admin_socket"))
    {
      g_free (c->admin_socket);
      c->admin_socket = g_canonicalize_filename (value, NULL);
    }
  else if (g_str_equal (key, "priority"))
    {
      g_free (c->priority);
      c->priority = g_strdup (value);
    }
  else if (g_str_equal (key, "max_connections"))
    {
      if (!parse_uint (key, value, 1, 100000, &n, error))
        return FALSE;
      c->max_connections = n;
    }
  else if (g_str_equal (key, "max_connections_per_ip"))
    {
      if (!parse_uint (key, value, 1, 100000, &n, error))
        return FALSE;
      c->max_connections_per_ip = n;
    }
  else if (g_str_equal (key, "idle_timeout"))
    {
      if (!parse_uint (key, value, 1, 3600, &n, error))
        return FALSE;
      c->idle_timeout = n;
    }
  else if (g_str_equal (key, "client_cert_days"))
    {
      if (!parse_uint (key, value, 1, 3650, &n, error))
        return FALSE;
      c->client_cert_days = n;
    }
  else if (g_str_equal (key, "max_body"))
    {
      if (!parse_uint (key, value, 1024, 16 * 1024 * 1024, &n, error))
        return FALSE;
      c->max_body = n;
    }
  else if (g_str_equal (key, "threads"))
    {
      if (!parse_uint (key, value, 0, 256, &n, error))
        return FALSE;
      c->threads = n;
    }
  else if (g_str_equal (key, "auth_failures"))
    {
      if (!parse_uint (key, value, 1, 100000, &n, error))
        return FALSE;
      c->auth_failures = n;
    }
  else if (g_str_equal (key, "web"))
    {
      if (g_str_equal (value, "true"))
        c->web = TRUE;
      else if (g_str_equal (value, "false"))
        c->web = FALSE;
      else
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "web: \"%s\" is not true or false",
                       value);
          return FALSE;
        }
    }
  else if (g_str_equal (key, "audit_auth_interval"))
    {
      if (!parse_uint (key, value, 1, 3600, &n, error))
        return FALSE;
      c->audit_auth_interval = n;
    }
  else if (g_str_equal (key, "audit_log"))
    {
      g_free (c->audit_log);
      c->audit_log = g_canonicalize_filename (value, NULL);
    }
  else
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "unknown setting \"%s\"", key);
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_file (CgConfig *c, const char *path, gboolean must_exist, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local))
    {
      if (!must_exist && g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "cannot read config %s: %s", path,
                   local->message);
      return FALSE;
    }

  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (char **g = groups; *g; g++)
    if (!g_str_equal (*g, "agent"))
      {
        g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "config %s: unknown group [%s]", path, *g);
        return FALSE;
      }
  if (!g_key_file_has_group (kf, "agent"))
    return TRUE;

  g_auto (GStrv) keys = g_key_file_get_keys (kf, "agent", NULL, NULL);
  for (char **k = keys; *k; k++)
    {
      g_autoptr (GError) kerr = NULL;
      if (!g_strv_contains (known_keys, *k))
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "config %s: unknown key \"%s\"", path,
                       *k);
          return FALSE;
        }
      g_autofree char *value = g_key_file_get_string (kf, "agent", *k, &kerr);
      if (!value || !apply_setting (c, *k, value, &kerr))
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "config %s: %s", path, kerr->message);
          return FALSE;
        }
    }
  return TRUE;
}

void
cg_config_clear (CgConfig *c)
{
  g_free (c->config_file);
  g_strfreev (c->listen);
  g_free (c->state_dir);
  g_free (c->admin_socket);
  g_free (c->priority);
  g_free (c->audit_log);
  memset (c, 0, sizeof *c);
}

gboolean
cg_config_parse (CgConfig *c, int argc, char **argv, GError **error)
{
  g_autofree char *opt_config = NULL, *opt_port = NULL, *opt_listen = NULL;
  g_autofree char *opt_state = NULL, *opt_socket = NULL, *opt_priority = NULL;
  gboolean opt_version = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
      "Read settings from FILE (default " DEFAULT_CONFIG_FILE " if present)", "FILE" },
    { "port", 'p', 0, G_OPTION_ARG_STRING, &opt_port, "TLS port (default 8050)", "N" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &opt_listen,
      "Addresses to listen on, comma-separated (default: all)", "ADDR[,ADDR]" },
    { "state-dir", 's', 0, G_OPTION_ARG_FILENAME, &opt_state,
      "State directory (default " CG_STATE_DIR ")", "DIR" },
    { "admin-socket", 'a', 0, G_OPTION_ARG_FILENAME, &opt_socket,
      "Admin socket for credgatectl", "PATH" },
    { "priority", 0, 0, G_OPTION_ARG_STRING, &opt_priority, "GnuTLS priority string",
      "STRING" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- credgate agent");
  g_option_context_set_summary (
      ctx, "Receives data-store credentials over TLS and keeps them sealed on this host.");
  g_option_context_set_description (
      ctx, "Settings can also be given in a config file, group [agent], with the keys\n"
           "port, listen, state_dir, admin_socket, priority, max_connections,\n"
           "max_connections_per_ip, idle_timeout, max_body, threads, auth_failures,\n"
           "audit_log, web, client_cert_days, audit_auth_interval.  The command line\n"
           "overrides the file.\n");
  g_option_context_add_main_entries (ctx, entries, NULL);

  memset (c, 0, sizeof *c);
  c->port = CG_DEFAULT_PORT;
  c->state_dir = g_strdup (CG_STATE_DIR);
  c->priority = g_strdup (CG_DEFAULT_PRIORITY);
  c->max_connections = 512;
  c->max_connections_per_ip = 64;
  c->idle_timeout = 30;
  c->max_body = 64 * 1024;
  c->auth_failures = 10;
  c->web = TRUE;
  c->client_cert_days = CG_CLIENT_CERT_DAYS;
  c->audit_auth_interval = 60;

  g_autoptr (GError) local = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &local))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, local->message);
      return FALSE;
    }
  if (opt_version)
    {
      printf ("credgate-agent %s\n", PACKAGE_VERSION);
      return FALSE;
    }
  if (argc > 1)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "unexpected argument \"%s\"", argv[1]);
      return FALSE;
    }

  if (!load_file (c, opt_config ? opt_config : DEFAULT_CONFIG_FILE, opt_config != NULL, error))
    return FALSE;
  c->config_file = g_strdup (opt_config);

  const struct { const char *key; const char *value; } overrides[] = {
    { "port", opt_port }, { "listen", opt_listen }, { "state_dir", opt_state },
    { "admin_socket", opt_socket }, { "priority", opt_priority },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (overrides); i++)
    if (overrides[i].value && !apply_setting (c, overrides[i].key, overrides[i].value, error))
      return FALSE;

  if (!c->admin_socket)
    c->admin_socket = cg_config_default_admin_socket ();
  return TRUE;
}
