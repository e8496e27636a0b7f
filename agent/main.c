/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgate-agent: options, process hygiene, and the start/stop order.
 * Everything it does lives in libcgagent.a. */
#include "config.h"

#include "agent/cg-admin.h"
#include "agent/cg-agent.h"
#include "agent/cg-audit.h"
#include "agent/cg-cluster.h"
#include "agent/cg-escrow.h"
#include "agent/cg-server.h"
#include "agent/cg-tls.h"
#include "agent/cg-tls-store.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#include <glib-unix.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <sys/stat.h>

static gboolean
quit_cb (gpointer loop)
{
  g_message ("stopping: finishing requests in flight");
  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

/* SIGHUP: take up a certificate pair that was dropped into the state
 * directory (certmonger, an ACME client), checked like an install.  A bad
 * pair is logged and the served one stays. */
static gboolean
reload_cb (gpointer data)
{
  cg_tls_store_reload ();
  return G_SOURCE_CONTINUE;
}

/* Hourly: renew our own self-signed certificate 30 days before its end,
 * warn about an installed one that close to it. */
static gboolean
cert_timer_cb (gpointer data)
{
  cg_tls_store_maintain ();
  return G_SOURCE_CONTINUE;
}

/* Failed logins counted since their client's last line go out once its
 * interval is over. */
static gboolean
audit_timer_cb (gpointer data)
{
  cg_audit_auth_flush (FALSE);
  return G_SOURCE_CONTINUE;
}

static int
die (const GError *error)
{
  fprintf (stderr, "credgate-agent: %s\n", error->message);
  return 1;
}

/* Bind, load and serve until SIGTERM/SIGINT; 0, or 1 with @error.  Every
 * way out releases what was made (a refused start leaks nothing either). */
static int
serve (CgAgent *agent, GError **error)
{
  const CgConfig *config = agent->config;
  int status = 1;
  CgAdmin *admin = NULL;
  GMainLoop *loop = NULL;
  g_autoptr (CgCertPair) pair = NULL;

  /* Everything that can refuse to start without side effects comes first:
   * the port, the admin socket; only then keys and certificates. */
  CgServer *server = cg_server_bind (agent, error);
  if (!server || !cg_admin_claim_path (config->admin_socket, error))
    goto out;

  agent->started = g_get_real_time ();
  agent->throttle = cg_throttle_new (config->auth_failures);
  agent->vault = cg_vault_open (config->state_dir, error);
  if (!agent->vault)
    goto out;
  /* With STATE_DIR/cluster.json: the etcd store under the vault, before
   * anything serves.  Without it: exactly the single node. */
  {
    GError *local = NULL;
    agent->cluster = cg_cluster_open (agent, &local);
    if (local)
      {
        g_propagate_error (error, local);
        goto out;
      }
  }

  /* A locked or missing keyring is not fatal: the agent serves, answers
   * sealing calls with 503, and picks the keys up once it is unlocked. */
  {
    g_autoptr (GError) key_error = NULL;
    if (!cg_vault_keys_ready (agent->vault, &key_error))
      g_warning ("secret store: %s; sealing calls will answer 503 until it is available",
                 key_error->message);
    else
      cg_vault_escrow_check (agent->vault);
  }

  gboolean generated = FALSE;
  pair = cg_tls_store_start (config->state_dir, &generated, error);
  if (!pair)
    goto out;
  if (generated)
    g_message ("generated a self-signed certificate in %s/tls", config->state_dir);

  if (!cg_server_start (server, error))
    goto out;
  /* Before the admin socket serves: status reads them without a lock. */
  agent->urls = cg_server_get_urls (server);
  if (!(admin = cg_admin_start (agent, config->admin_socket, error)))
    goto out;
  for (char **u = agent->urls; *u; u++)
    printf ("listening on %s\n", *u);
  printf ("certificate %s\n", cg_cert_pair_get_spki_pin (pair));
  printf ("admin socket %s\n", config->admin_socket);

  loop = g_main_loop_new (NULL, FALSE);
  {
    guint sources[] = {
      g_unix_signal_add (SIGTERM, quit_cb, loop),
      g_unix_signal_add (SIGINT, quit_cb, loop),
      g_unix_signal_add (SIGHUP, reload_cb, agent),
      g_timeout_add_seconds (3600, cert_timer_cb, NULL),
      g_timeout_add_seconds (MAX (config->audit_auth_interval / 4, 1), audit_timer_cb, NULL),
    };
    g_main_loop_run (loop);
    for (gsize i = 0; i < G_N_ELEMENTS (sources); i++)
      g_source_remove (sources[i]);
  }
  status = 0;

out:
  if (admin)
    cg_admin_stop (admin);
  cg_server_stop (server);
  cg_tls_shutdown ();
  /* The worker first (it uses the vault), the vault (its store's applier
   * calls into the cluster), then the cluster. */
  cg_cluster_stop (agent->cluster);
  g_clear_pointer (&agent->vault, cg_vault_free);
  g_clear_pointer (&agent->cluster, cg_cluster_free);
  g_clear_pointer (&agent->throttle, cg_throttle_free);
  g_clear_pointer (&agent->urls, g_strfreev);
  g_clear_pointer (&loop, g_main_loop_unref);
  return status;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  /* Cleared on every way out, so a refusal to start leaks nothing (LSan). */
  g_auto (CgConfig) config = { 0 };
  CgAgent agent = { 0 };

  /* Before anything can hold a secret: no core dumps, no ptrace by other
   * processes of the same user, and nothing we create readable by others. */
  umask (077);
  if (!cg_harden_process (&error))
    return die (error);
  cg_json_use_wiping_allocator ();
  setvbuf (stdout, NULL, _IOLBF, 0);

  if (!cg_config_parse (&config, argc, argv, &error))
    {
      if (!error)
        return 0; /* --version */
      return die (error);
    }
  if (!cg_tls_check_priority (config.priority, &error))
    return die (error);
  if (config.audit_log && !cg_audit_open (config.audit_log, &error))
    return die (error);
  cg_audit_auth_set_interval (config.audit_auth_interval);
  if (!cg_mkdir_private (config.state_dir, 0700, &error))
    return die (error);

  agent.config = &config;
  int status = serve (&agent, &error);
  if (status != 0)
    die (error);
  /* The server has stopped: no failure can come after this count. */
  cg_audit_auth_flush (TRUE);
  cg_audit_close ();
  return status;
}
