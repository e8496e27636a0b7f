/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The admin socket's client half: check who made and who serves the
 * socket, send one request, read one answer. */
#include "config.h"

#include "ctl/cg-admin-call.h"
#include "admin/cg-admin-proto.h"
#include "common/cg-error.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The account the systemd unit runs the agent as (data/credgate.sysusers),
 * so that root's credgatectl talks to the packaged agent. */
#define CG_AGENT_USER "credgate"

static void
set_unreachable (GError **error, const char *socket_path, const char *reason)
{
  g_set_error (error, CG_ERROR, CG_ERROR_AGENT_UNREACHABLE,
               "cannot reach the agent at %s: %s (is credgate-agent running? "
               "is this the right --socket?)",
               socket_path, reason);
}

/* Still "unreachable" (exit 3), but not "is it running?". */
static void
set_denied (GError **error, const char *socket_path)
{
  g_set_error (error, CG_ERROR, CG_ERROR_AGENT_UNREACHABLE,
               "cannot reach the agent at %s: permission denied (the admin socket is for "
               "root and the agent's own user)",
               socket_path);
}

/* Root, ourselves, or the agent's own account. */
static gboolean
trusted_uid (uid_t uid)
{
  struct passwd pw, *found = NULL;
  char buf[2048];

  if (uid == 0 || uid == geteuid ())
    return TRUE;
  return getpwnam_r (CG_AGENT_USER, &pw, buf, sizeof buf, &found) == 0 && found
         && found->pw_uid == uid;
}

static gboolean
check_uid (const char *socket_path, const char *what, uid_t uid, GError **error)
{
  if (trusted_uid (uid))
    return TRUE;
  g_set_error (error, CG_ERROR, CG_ERROR_FORBIDDEN,
               "refusing to talk to %s: %s uid %u, not root, you or the agent's user "
               "'" CG_AGENT_USER "', so it may not be the agent; nothing was sent",
               socket_path, what, (unsigned) uid);
  return FALSE;
}

gboolean
cg_admin_check_socket (const char *socket_path, GError **error)
{
  struct stat st;
  if (lstat (socket_path, &st) < 0)
    {
      if (errno == EACCES)
        set_denied (error, socket_path);
      else
        set_unreachable (error, socket_path, g_strerror (errno));
      return FALSE;
    }
  if (!S_ISSOCK (st.st_mode))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                   "refusing to talk to %s: it is not a socket", socket_path);
      return FALSE;
    }
  return check_uid (socket_path, "it belongs to", st.st_uid, error);
}

json_t *
cg_admin_call (const char *socket_path, json_t *request, GError **error)
{
  return cg_admin_call_progress (socket_path, request, NULL, NULL, error);
}

json_t *
cg_admin_call_progress (const char *socket_path, json_t *request, CgAdminProgress progress,
                        gpointer data, GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (socket_path);
  g_autoptr (GError) local = NULL;

  if (!cg_admin_check_socket (socket_path, error))
    return NULL;
  g_autoptr (GSocketConnection) conn
      = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (addr), NULL, &local);
  if (!conn && g_error_matches (local, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    {
      set_denied (error, socket_path);
      return NULL;
    }
  if (!conn)
    {
      set_unreachable (error, socket_path, local->message);
      return NULL;
    }
  /* The file's owner says who made it; the peer's credentials say who
   * listens on it now (the file may have been swapped since). */
  g_autoptr (GCredentials) peer
      = g_socket_get_credentials (g_socket_connection_get_socket (conn), &local);
  if (!peer)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                   "refusing to talk to %s: cannot tell who listens on it: %s", socket_path,
                   local->message);
      return NULL;
    }
  if (!check_uid (socket_path, "the process listening on it runs as",
                  g_credentials_get_unix_user (peer, NULL), error))
    return NULL;

  char *text = cg_json_dump (request);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  gboolean sent = g_output_stream_write_all (out, text, strlen (text), NULL, NULL, &local)
                  && g_output_stream_write_all (out, "\n", 1, NULL, NULL, &local);
  cg_wipe_str (text);
  gsize len = 0;
  /* An agent that refuses us (another uid) answers at once and closes, maybe
   * before the request was written: its answer is still there to read.
   * Progress lines (only when asked for) come before it. */
  char *reply_text;
  GInputStream *raw_in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  g_autoptr (GInputStream) in = progress ? g_buffered_input_stream_new (raw_in)
                                         : g_object_ref (raw_in);
  for (;;)
    {
      reply_text = cg_admin_read_message (in, &len, NULL, sent ? &local : NULL);
      if (!progress || !reply_text)
        break;
      json_auto_t *line = cg_json_load_strict (reply_text, len, NULL);
      json_t *p = json_object_get (line, "progress");
      if (!p || json_object_size (line) != 1)
        break;
      progress (p, data);
      cg_wipe (reply_text, len);
      g_free (reply_text);
    }
  if (!sent && !reply_text)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot talk to the agent: %s", local->message);
      return NULL;
    }
  if (!reply_text)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "no answer from the agent: %s",
                   local->message);
      return NULL;
    }
  json_auto_t *reply = cg_json_load_strict (reply_text, len, &local);
  cg_wipe (reply_text, len);
  g_free (reply_text);
  if (!reply)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "malformed answer from the agent: %s",
                   local->message);
      return NULL;
    }

  json_t *err = json_object_get (reply, "error");
  if (err)
    {
      const char *code = json_string_value (json_object_get (err, "code"));
      const char *message = json_string_value (json_object_get (err, "message"));
      g_set_error_literal (error, CG_ERROR, cg_error_code_from_name (code),
                           message ? message : "the agent refused the request");
      return NULL;
    }
  json_t *result = json_object_get (reply, "result");
  if (!result)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_IO, "malformed answer from the agent");
      return NULL;
    }
  return json_incref (result);
}
