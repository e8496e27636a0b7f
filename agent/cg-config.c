/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-config.h"
#include "admin/cg-admin-proto.h"
#include "common/cg-error.h"

#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CONFIG_FILE CG_SYSCONF_DIR "/agent.conf"


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

typedef enum
{
  SETTING_UINT,   /* guint, from @min to @max */
  SETTING_SIZE,   /* gsize, from @min to @max */
  SETTING_BOOL,   /* gboolean, "true" or "false" */
  SETTING_STRING, /* char *, as given */
  SETTING_PATH,   /* char *, canonical; @min 1: not empty */
  SETTING_LISTEN, /* char **, IP addresses separated by commas */
} SettingType;

/* Every key the config file may hold, and how its text becomes a field of
 * CgConfig; anything else is refused so that a typo never silently leaves
 * a default in force.  The command line's options go through the same
 * rows, so both accept exactly the same values. */
static const struct
{
  const char *key;
  gsize field; /* offsetof (CgConfig, ...) */
  SettingType type;
  guint64 min, max;
} settings[] = {
  { "port", G_STRUCT_OFFSET (CgConfig, port), SETTING_UINT, 1, 65535 },
  { "listen", G_STRUCT_OFFSET (CgConfig, listen), SETTING_LISTEN, 0, 0 },
  { "state_dir", G_STRUCT_OFFSET (CgConfig, state_dir), SETTING_PATH, 1, 0 },
  { "admin_socket", G_STRUCT_OFFSET (CgConfig, admin_socket), SETTING_PATH, 0, 0 },
  { "priority", G_STRUCT_OFFSET (CgConfig, priority), SETTING_STRING, 0, 0 },
  { "max_connections", G_STRUCT_OFFSET (CgConfig, max_connections), SETTING_UINT, 1, 100000 },
  { "max_connections_per_ip", G_STRUCT_OFFSET (CgConfig, max_connections_per_ip), SETTING_UINT,
    1, 100000 },
  { "idle_timeout", G_STRUCT_OFFSET (CgConfig, idle_timeout), SETTING_UINT, 1, 3600 },
  { "max_body", G_STRUCT_OFFSET (CgConfig, max_body), SETTING_SIZE, 1024, 16 * 1024 * 1024 },
  { "threads", G_STRUCT_OFFSET (CgConfig, threads), SETTING_UINT, 0, 256 },
  { "auth_failures", G_STRUCT_OFFSET (CgConfig, auth_failures), SETTING_UINT, 1, 100000 },
  { "audit_log", G_STRUCT_OFFSET (CgConfig, audit_log), SETTING_PATH, 0, 0 },
  { "web", G_STRUCT_OFFSET (CgConfig, web), SETTING_BOOL, 0, 0 },
  { "client_cert_days", G_STRUCT_OFFSET (CgConfig, client_cert_days), SETTING_UINT, 1, 3650 },
  { "audit_auth_interval", G_STRUCT_OFFSET (CgConfig, audit_auth_interval), SETTING_UINT, 1,
    3600 },
};

static int
find_setting (const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    if (g_str_equal (settings[i].key, key))
      return (int) i;
  return -1;
}

const char *const *
cg_config_keys (void)
{
  static const char *keys[G_N_ELEMENTS (settings) + 1];
  if (!keys[0])
    for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
      keys[i] = settings[i].key;
  return keys;
}

gboolean
cg_config_set (CgConfig *c, const char *key, const char *value, GError **error)
{
  int i = find_setting (key);
  if (i < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "unknown setting \"%s\"", key);
      return FALSE;
    }
  gpointer field = G_STRUCT_MEMBER_P (c, settings[i].field);
  guint64 n;
  switch (settings[i].type)
    {
    case SETTING_UINT:
    case SETTING_SIZE:
      if (!parse_uint (key, value, settings[i].min, settings[i].max, &n, error))
        return FALSE;
      if (settings[i].type == SETTING_UINT)
        *(guint *) field = n;
      else
        *(gsize *) field = n;
      return TRUE;
    case SETTING_BOOL:
      if (!g_str_equal (value, "true") && !g_str_equal (value, "false"))
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s: \"%s\" is not true or false",
                       key, value);
          return FALSE;
        }
      *(gboolean *) field = g_str_equal (value, "true");
      return TRUE;
    case SETTING_STRING:
      g_free (*(char **) field);
      *(char **) field = g_strdup (value);
      return TRUE;
    case SETTING_PATH:
      if (settings[i].min > 0 && !*value)
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s: empty path", key);
          return FALSE;
        }
      g_free (*(char **) field);
      *(char **) field = g_canonicalize_filename (value, NULL);
      return TRUE;
    case SETTING_LISTEN:
      g_strfreev (*(char ***) field);
      *(char ***) field = g_strsplit (value, ",", -1);
      return check_listen (*(char ***) field, error);
    }
  g_return_val_if_reached (FALSE);
}

char *
cg_config_get (const CgConfig *c, const char *key)
{
  int i = find_setting (key);
  if (i < 0)
    return NULL;
  gconstpointer field = G_STRUCT_MEMBER_P (c, settings[i].field);
  switch (settings[i].type)
    {
    case SETTING_UINT:
      return g_strdup_printf ("%u", *(const guint *) field);
    case SETTING_SIZE:
      return g_strdup_printf ("%" G_GSIZE_FORMAT, *(const gsize *) field);
    case SETTING_BOOL:
      return g_strdup (*(const gboolean *) field ? "true" : "false");
    case SETTING_STRING:
    case SETTING_PATH:
      return g_strdup (*(char *const *) field);
    case SETTING_LISTEN:
      return *(char **const *) field ? g_strjoinv (",", *(char **const *) field) : NULL;
    }
  g_return_val_if_reached (NULL);
}

/* --help's list of the config file's keys, from the table. */
static char *
describe_keys (void)
{
  GString *text = g_string_new ("Settings can also be given in a config file, group [agent], "
                                "with the keys\n");
  gsize line = 0;
  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      const char *sep = i + 1 < G_N_ELEMENTS (settings) ? "," : ".";
      gsize len = strlen (settings[i].key) + strlen (sep);
      if (line > 0 && line + 1 + len > 76)
        {
          g_string_append_c (text, '\n');
          line = 0;
        }
      else if (line > 0)
        {
          g_string_append_c (text, ' ');
          line++;
        }
      g_string_append_printf (text, "%s%s", settings[i].key, sep);
      line += len;
    }
  g_string_append (text, "\nThe command line overrides the file.\n");
  return g_string_free (text, FALSE);
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
      if (find_setting (*k) < 0)
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "config %s: unknown key \"%s\"", path,
                       *k);
          return FALSE;
        }
      g_autofree char *value = g_key_file_get_string (kf, "agent", *k, &kerr);
      if (!value || !cg_config_set (c, *k, value, &kerr))
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
  g_autofree char *description = describe_keys ();
  g_option_context_set_description (ctx, description);
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
    if (overrides[i].value && !cg_config_set (c, overrides[i].key, overrides[i].value, error))
      return FALSE;

  if (!c->admin_socket)
    c->admin_socket = cg_admin_default_socket ();
  return TRUE;
}
