/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-admin-proto.h"
#include "common/cg-error.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#include <string.h>

char *
cg_admin_read_message (GInputStream *in, gsize *len, GCancellable *cancel, GError **error)
{
  /* One buffer of the maximum size, never reallocated: it may hold a
   * secret, and a grown copy would be left behind unwiped.  The kernel
   * backs only the pages we write, so a large cap costs nothing until a
   * large message comes; wiping covers only what was read. */
  gsize cap = CG_ADMIN_MAX_MESSAGE;
  char *buf = g_malloc (cap + 1);
  gsize used = 0, raw = 0;

  for (;;)
    {
      if (used == cap)
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_TOO_LARGE, "admin message too large");
          goto fail;
        }
      gssize n = g_input_stream_read (in, buf + used, cap - used, cancel, error);
      if (n < 0)
        goto fail;
      if (n == 0)
        break;
      char *nl = memchr (buf + used, '\n', n);
      used += n;
      raw = used;
      if (nl)
        {
          used = nl - buf;
          /* Nothing may follow the newline; whatever did is wiped now. */
          cg_wipe (nl, raw - used);
          break;
        }
    }
  if (used == 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "empty admin message");
      goto fail;
    }
  buf[used] = '\0';
  *len = used;
  return buf;

fail:
  cg_wipe (buf, MAX (raw, used));
  g_free (buf);
  return NULL;
}

json_t *
cg_admin_call (const char *socket_path, json_t *request, GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (socket_path);
  g_autoptr (GError) local = NULL;

  g_autoptr (GSocketConnection) conn
      = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (addr), NULL, &local);
  if (!conn && g_error_matches (local, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    {
      /* Still "unreachable" (exit 3), but not "is it running?". */
      g_set_error (error, CG_ERROR, CG_ERROR_UNAVAILABLE,
                   "cannot reach the agent at %s: permission denied (the admin socket is for "
                   "root and the agent's own user)",
                   socket_path);
      return NULL;
    }
  if (!conn)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_UNAVAILABLE,
                   "cannot reach the agent at %s: %s (is credgate-agent running? "
                   "is this the right --socket?)",
                   socket_path, local->message);
      return NULL;
    }

  char *text = cg_json_dump (request);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  gboolean sent = g_output_stream_write_all (out, text, strlen (text), NULL, NULL, &local)
                  && g_output_stream_write_all (out, "\n", 1, NULL, NULL, &local);
  cg_wipe_str (text);
  gsize len = 0;
  /* An agent that refuses us (another uid) answers at once and closes, maybe
   * before the request was written: its answer is still there to read. */
  char *reply_text = cg_admin_read_message (g_io_stream_get_input_stream (G_IO_STREAM (conn)),
                                            &len, NULL, sent ? &local : NULL);
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
