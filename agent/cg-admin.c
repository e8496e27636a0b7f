/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-admin.h"
#include "admin/cg-admin-proto.h"
#include "agent/cg-admin-cert.h"
#include "agent/cg-admin-backup.h"
#include "agent/cg-admin-client.h"
#include "agent/cg-admin-cluster.h"
#include "agent/cg-api.h"
#include "agent/cg-audit.h"
#include "agent/cg-write-clock.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct CgAdmin
{
  CgAgent *agent;
  GSocketService *service;
  char *path;
};

typedef json_t *(*Command) (CgAgent *agent, json_t *args, const char *who, GError **error);
/* A long command that tells the client how far it got: @progress (NULL
 * when the client did not ask with "progress": true) takes
 * {"progress": …} lines before the one reply. */
typedef json_t *(*CommandProgress) (CgAgent *agent, json_t *args, const char *who,
                                    GOutputStream *progress, GError **error);

static void
write_line (GOutputStream *os, json_t *message)
{
  char *out = cg_json_dump (message);
  g_output_stream_write_all (os, out, strlen (out), NULL, NULL, NULL);
  g_output_stream_write_all (os, "\n", 1, NULL, NULL, NULL);
  cg_wipe_str (out);
}

/* Arguments: the request object minus "command", strictly checked. */
static gboolean
need_fields (json_t *args, const char *const *allowed, GError **error)
{
  return cg_json_check_fields (args, allowed, NULL, error);
}

static const char *
need_name (json_t *args, GError **error)
{
  const char *name;
  if (!cg_json_get_string (args, "name", TRUE, &name, error))
    return NULL;
  return name;
}

static json_t *
cmd_status (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", NULL };
  if (!need_fields (args, allowed, error))
    return NULL;
  json_t *status = cg_api_info (agent);
  json_auto_t *vault_status = cg_vault_status (agent->vault);
  json_object_update (status, vault_status);
  json_object_set_new (status, "pid", json_integer (getpid ()));
  json_object_set_new (status, "uptimeSeconds",
                       json_integer ((g_get_real_time () - agent->started) / G_USEC_PER_SEC));
  json_t *urls = json_array ();
  if (agent->urls)
    for (char **u = agent->urls; *u; u++)
      json_array_append_new (urls, json_string (*u));
  json_object_set_new (status, "listening", urls);
  return status;
}

static json_t *
cmd_token_create (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "name", NULL };
  const char *name;
  if (!need_fields (args, allowed, error) || !(name = need_name (args, error)))
    return NULL;
  char *token = cg_vault_token_create (agent->vault, name, error);
  cg_audit_log (who, "local", "token.create", name, token ? "ok" : (*error)->message);
  if (!token)
    return NULL;
  json_t *result = json_pack ("{s:s, s:s}", "name", name, "token", token);
  cg_wipe_str (token);
  return result;
}

static json_t *
cmd_token_list (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", NULL };
  if (!need_fields (args, allowed, error))
    return NULL;
  return cg_vault_token_list (agent->vault, error);
}

static json_t *
cmd_token_revoke (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "name", NULL };
  const char *name;
  if (!need_fields (args, allowed, error) || !(name = need_name (args, error)))
    return NULL;
  gboolean ok = cg_vault_token_revoke (agent->vault, name, error);
  cg_audit_log (who, "local", "token.revoke", name, ok ? "ok" : (*error)->message);
  return ok ? json_pack ("{s:s, s:b}", "name", name, "revoked", TRUE) : NULL;
}

static json_t *
cmd_credential_list (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", NULL };
  if (!need_fields (args, allowed, error))
    return NULL;
  return cg_vault_list (agent->vault, error);
}

static json_t *
cmd_credential_delete (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "name", NULL };
  const char *name;
  if (!need_fields (args, allowed, error) || !(name = need_name (args, error)))
    return NULL;
  gboolean ok = cg_vault_delete (agent->vault, name, error);
  cg_audit_log (who, "local", "credential.delete", name, ok ? "ok" : (*error)->message);
  return ok ? json_pack ("{s:s, s:b}", "name", name, "deleted", TRUE) : NULL;
}

static json_t *
cmd_credential_resolve (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "name", NULL };
  const char *name;
  if (!need_fields (args, allowed, error) || !(name = need_name (args, error)))
    return NULL;
  json_t *record = cg_vault_resolve (agent->vault, name, error);
  /* Reading a secret is worth a line in the audit log too. */
  cg_audit_log (who, "local", "credential.resolve", name, record ? "ok" : (*error)->message);
  return record;
}

static json_t *
cmd_decrypt (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "encryptedCredential", "context", NULL };
  const char *jwe, *context;
  if (!need_fields (args, allowed, error)
      || !cg_json_get_string (args, "encryptedCredential", TRUE, &jwe, error)
      || !cg_json_get_string (args, "context", FALSE, &context, error))
    return NULL;
  g_autofree char *kid = NULL;
  g_autoptr (CgBuf) plain = cg_vault_decrypt (agent->vault, jwe, context, &kid, error);
  cg_audit_log (who, "local", "decrypt", kid, plain ? "ok" : (*error)->message);
  if (!plain)
    return NULL;
  /* A value made by another JOSE tool need not be text; JSON strings
   * must be, so such a value travels as base64. */
  if (g_utf8_validate ((const char *) plain->data, plain->len, NULL)
      && !memchr (plain->data, 0, plain->len))
    return json_pack ("{s:s%, s:s?}", "value", (const char *) plain->data, plain->len, "kid",
                      kid);
  char *b64 = g_base64_encode (plain->data, plain->len);
  json_t *result = json_pack ("{s:s, s:s?}", "valueBase64", b64, "kid", kid);
  cg_wipe_str (b64);
  return result;
}

static json_t *
cmd_key_list (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", NULL };
  if (!need_fields (args, allowed, error))
    return NULL;
  return cg_vault_key_list (agent->vault, error);
}

static json_t *
cmd_key_rotate (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", NULL };
  if (!need_fields (args, allowed, error))
    return NULL;
  g_autofree char *kid = cg_vault_key_rotate (agent->vault, error);
  cg_audit_log (who, "local", "key.rotate", kid, kid ? "ok" : (*error)->message);
  return kid ? json_pack ("{s:s}", "kid", kid) : NULL;
}

static void
rotate_progress (gint64 done, gint64 total, gpointer data)
{
  GOutputStream *os = data;
  json_auto_t *line = json_pack ("{s:{s:I, s:I}}", "progress", "done", (json_int_t) done,
                                 "total", (json_int_t) total);
  if (os)
    write_line (os, line);
}

static json_t *
cmd_key_rotate_all (CgAgent *agent, json_t *args, const char *who, GOutputStream *progress,
                    GError **error)
{
  static const char *const allowed[] = { "command", "progress", NULL };
  if (!need_fields (args, allowed, error))
    return NULL;
  json_t *result = cg_vault_key_rotate_all (agent->vault, rotate_progress, progress, error);
  cg_audit_log (who, "local", "key.rotate_all",
                result ? json_string_value (json_object_get (result, "master")) : NULL,
                result ? "ok" : (*error)->message);
  return result;
}

static json_t *
cmd_key_retire (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "name", "force", NULL };
  const char *kid;
  json_t *force = json_object_get (args, "force");
  if (!need_fields (args, allowed, error) || !(kid = need_name (args, error)))
    return NULL;
  if (force && !json_is_boolean (force))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "\"force\" is a boolean");
      return NULL;
    }
  gboolean ok = cg_vault_key_retire (agent->vault, kid, json_is_true (force), error);
  cg_audit_log (who, "local", "key.retire", kid, ok ? "ok" : (*error)->message);
  return ok ? json_pack ("{s:s, s:b}", "kid", kid, "retired", TRUE) : NULL;
}

/* Every command writes its "attempt" line to the audit log before it acts
 * (cg_admin_handle), and is refused with audit_unavailable when that line
 * cannot be written: the default, so a command added here cannot forget
 * it.  Only commands that change nothing and hand out no secret (metadata,
 * public certificates) are marked READS and answer without a line, so that
 * an admin can still look at an agent whose audit disk is full. */
#define READS TRUE

static const struct
{
  const char *name;
  Command run;
  gboolean reads_only;
  CommandProgress run_progress; /* instead of run */
} commands[] = {
  { "status", cmd_status, READS },
  { "token.create", cmd_token_create },
  { "token.list", cmd_token_list, READS },
  { "token.revoke", cmd_token_revoke },
  { "credential.list", cmd_credential_list, READS },
  { "credential.delete", cmd_credential_delete },
  { "credential.resolve", cmd_credential_resolve },
  { "decrypt", cmd_decrypt },
  { "key.list", cmd_key_list, READS },
  { "key.rotate", cmd_key_rotate },
  { "key.rotate_all", NULL, FALSE, cmd_key_rotate_all },
  { "key.retire", cmd_key_retire },
  { "cert.show", cg_admin_cmd_cert_show, READS },
  { "cert.check", cg_admin_cmd_cert_check, READS },
  { "cert.install", cg_admin_cmd_cert_install },
  { "cert.generate", cg_admin_cmd_cert_generate },
  { "cert.export", cg_admin_cmd_cert_export, READS },
  { "cert.activate", cg_admin_cmd_cert_activate },
  { "backup", cg_admin_cmd_backup },
  { "restore", cg_admin_cmd_restore },
  { "escrow.add", cg_admin_cmd_escrow_add },
  { "escrow.status", cg_admin_cmd_escrow_status, READS },
  { "client.enroll", cg_admin_cmd_client_enroll },
  { "client.list", cg_admin_cmd_client_list, READS },
  { "client.revoke", cg_admin_cmd_client_revoke },
  { "cluster.init", cg_admin_cmd_cluster_init },
  { "cluster.join", cg_admin_cmd_cluster_join },
  { "cluster.invite", cg_admin_cmd_cluster_invite },
  { "cluster.status", cg_admin_cmd_cluster_status, READS },
  { "cluster.remove", cg_admin_cmd_cluster_remove },
};

static json_t *
error_reply (const GError *error)
{
  gint code = error->domain == CG_ERROR ? error->code : CG_ERROR_FAILED;
  return json_pack ("{s:{s:s, s:s}}", "error", "code", cg_error_code_name (code), "message",
                    error->message);
}

/* @progress: the connection, for a command that writes progress lines
 * (NULL: none are written). */
static json_t *
handle (CgAgent *agent, json_t *request, const char *who, GOutputStream *progress)
{
  g_autoptr (GError) error = NULL;
  const char *name = NULL;

  if (!json_is_object (request) || !cg_json_get_string (request, "command", TRUE, &name, &error))
    {
      if (!error)
        g_set_error_literal (&error, CG_ERROR, CG_ERROR_INVALID, "the request must be an object");
      return error_reply (error);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      {
        /* The line names the record a command is about (token,
         * credential, kid) when the request does; the command's own line
         * after it says how it went. */
        const char *target = json_string_value (json_object_get (request, "name"));
        if (!commands[i].reads_only && !cg_audit_before (who, "local", name, target, &error))
          return error_reply (error);
        json_t *ask = json_object_get (request, "progress");
        if (ask && !json_is_boolean (ask))
          {
            g_set_error_literal (&error, CG_ERROR, CG_ERROR_INVALID,
                                 "\"progress\" is a boolean");
            return error_reply (error);
          }
        json_t *result
            = commands[i].run_progress
                  ? commands[i].run_progress (agent, request, who,
                                              json_is_true (ask) ? progress : NULL, &error)
                  : commands[i].run (agent, request, who, &error);
        if (!result)
          return error_reply (error);
        return json_pack ("{s:o}", "result", result);
      }
  g_set_error (&error, CG_ERROR, CG_ERROR_INVALID, "unknown command \"%s\"", name);
  return error_reply (error);
}

json_t *
cg_admin_handle (CgAgent *agent, json_t *request, const char *who)
{
  return handle (agent, request, who, NULL);
}

static gboolean
run_cb (GThreadedSocketService *service, GSocketConnection *conn, GObject *source, gpointer data)
{
  CgAdmin *admin = data;
  g_autoptr (GError) error = NULL;
  json_auto_t *reply = NULL;
  g_autofree char *who = NULL;
  gint64 arrived = g_get_monotonic_time ();

  /* Only root or the agent's own user may talk to it; the 0600 socket
   * says the same, this holds even if the mode is changed. */
  g_autoptr (GCredentials) creds
      = g_socket_get_credentials (g_socket_connection_get_socket (conn), &error);
  uid_t uid = creds ? g_credentials_get_unix_user (creds, NULL) : (uid_t) -1;
  if (!creds || (uid != 0 && uid != geteuid ()))
    {
      g_warning ("admin socket: refused a client with uid %d", (int) uid);
      /* One line that says why, before anything of the request is read. */
      g_autoptr (GError) refused = g_error_new (
          CG_ERROR, CG_ERROR_FORBIDDEN,
          "the admin socket answers only root and the agent's own user (uid %u); uid %d "
          "was refused and nothing was done",
          (unsigned) geteuid (), (int) uid);
      json_auto_t *no = error_reply (refused);
      write_line (g_io_stream_get_output_stream (G_IO_STREAM (conn)), no);
      return TRUE;
    }
  who = g_strdup_printf ("admin:uid=%u", (unsigned) uid);

  gsize len = 0;
  char *text = cg_admin_read_message (g_io_stream_get_input_stream (G_IO_STREAM (conn)), &len,
                                      NULL, &error);
  if (!text)
    reply = error_reply (error);
  else
    {
      json_auto_t *request = cg_json_load_strict (text, len, &error);
      cg_wipe (text, len);
      g_free (text);
      GOutputStream *os = g_io_stream_get_output_stream (G_IO_STREAM (conn));
      /* A cluster write's 5 s count from here (cg-write-clock.h). */
      cg_write_clock_start (arrived);
      reply = request ? handle (admin->agent, request, who, os) : error_reply (error);
      cg_write_clock_stop ();
    }

  write_line (g_io_stream_get_output_stream (G_IO_STREAM (conn)), reply);
  return TRUE;
}

/* A socket file left by an agent that died is removed; one that answers
 * belongs to a running agent and is an error. */
gboolean
cg_admin_claim_path (const char *path, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (path);
  g_autoptr (GSocketConnection) conn
      = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (addr), NULL, NULL);
  if (conn)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_EXISTS,
                   "another agent is already serving the admin socket %s", path);
      return FALSE;
    }
  struct stat st;
  if (lstat (path, &st) == 0 && !S_ISSOCK (st.st_mode))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_EXISTS,
                   "%s exists and is not a socket; refusing to replace it", path);
      return FALSE;
    }
  unlink (path);
  return TRUE;
}

CgAdmin *
cg_admin_start (CgAgent *agent, const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GError) local = NULL;

  if (!cg_mkdir_private (dir, 0700, error) || !cg_admin_claim_path (path, error))
    return NULL;

  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (path);
  GSocketService *service = g_threaded_socket_service_new (4);
  mode_t old = umask (0177);
  gboolean ok = g_socket_listener_add_address (G_SOCKET_LISTENER (service), addr,
                                               G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                               NULL, NULL, &local);
  umask (old);
  if (!ok || chmod (path, 0600) < 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot create the admin socket %s: %s", path,
                   local ? local->message : g_strerror (errno));
      g_object_unref (service);
      return NULL;
    }

  CgAdmin *admin = g_new0 (CgAdmin, 1);
  admin->agent = agent;
  admin->service = service;
  admin->path = g_strdup (path);
  g_signal_connect (service, "run", G_CALLBACK (run_cb), admin);
  g_socket_service_start (service);
  return admin;
}

void
cg_admin_stop (CgAdmin *admin)
{
  if (!admin)
    return;
  g_socket_service_stop (admin->service);
  g_socket_listener_close (G_SOCKET_LISTENER (admin->service));
  g_object_unref (admin->service);
  unlink (admin->path);
  g_free (admin->path);
  g_free (admin);
}
