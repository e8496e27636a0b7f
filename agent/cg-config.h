/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CG_DEFAULT_PORT 8050
#define CG_DEFAULT_PRIORITY                                                                   \
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:"  \
  "+AES-128-GCM:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-COMP-ALL:%SERVER_PRECEDENCE"

/* The agent's settings: built-in defaults, then the GKeyFile ([agent]
 * group, same names as the long options with '-' as '_'), then the command
 * line, each overriding the one before. */
typedef struct
{
  char *config_file;
  guint port;
  char **listen;              /* NULL: every address */
  char *state_dir;
  char *admin_socket;
  char *priority;
  guint max_connections;        /* in all, over every listener (cg-conn-limit.h) */
  guint max_connections_per_ip; /* per client: IPv4 address or IPv6 /64 */
  guint idle_timeout;         /* seconds */
  gsize max_body;             /* bytes */
  guint threads;              /* 0: one per CPU */
  guint auth_failures;        /* failed logins per client per minute before 429 */
  char *audit_log;            /* optional file, in addition to stderr */
  gboolean web;               /* serve the browser page at / (default TRUE) */
  guint client_cert_days;     /* validity of an enrolled client's certificate */
  guint audit_auth_interval;  /* seconds: at most one failed-login line per client in each */
} CgConfig;

/* As long as the agent's own self-signed certificate: a year and a month,
 * so a yearly re-enrollment has a month of overlap. */
#define CG_CLIENT_CERT_DAYS 395

/* Fills @config from defaults, the config file and @argv.  Errors are one
 * line fit for stderr.  Returns FALSE with no error for --help/--version
 * (already printed). */
gboolean cg_config_parse (CgConfig *config, int argc, char **argv, GError **error);
void cg_config_clear (CgConfig *config);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CgConfig, cg_config_clear)

/* The settings, by the config file's key names (each is also what
 * cg_config_set and cg_config_get take): a NULL-terminated static list. */
const char *const *cg_config_keys (void);
/* One setting from its text, checked as the config file and the command
 * line check it (the error names the key, never quotes more than the
 * value given).  An unknown @key is CG_ERROR_INVALID "unknown setting". */
gboolean cg_config_set (CgConfig *config, const char *key, const char *value, GError **error);
/* A setting as text that cg_config_set takes back to the same value; NULL
 * for an unknown key or an unset list (transfer full). */
char *cg_config_get (const CgConfig *config, const char *key);

G_END_DECLS
