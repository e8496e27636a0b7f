/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The desktop app's client (gui/cg-manager-client.c) over a list of
 * agents, run by tests/test-client-failover.sh against real agents:
 *   test-gui-failover list|encrypt|put=NAME HOST:PORT=PIN [HOST:PORT=PIN…] < token
 * The first is the agent, the others its fallbacks.  Lists the credentials
 * (GET /v1/credentials), seals a value (POST /v1/encrypt) or stores NAME
 * (PUT /v1/credentials/NAME, a fixed test secret), through the GTask
 * worker and the main loop as the window does, and prints "answered
 * HOST:PORT SIGNALS" (the "answered" signals seen) or "error DOMAIN CODE:
 * MESSAGE [API CODE]" (the API's code name for CG_ERROR), exit 0 either
 * way. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/cg-error.h"
#include "gui/cg-manager-client.h"
#include "protocol/cg-client.h"
#include "protocol/cg-known-agents.h"

typedef struct
{
  GMainLoop *loop;
  json_t *reply;
  GError *error;
  guint answered;
} State;

static void
answered_cb (CgManagerClient *client, const char *address, State *st)
{
  st->answered++;
}

static void
done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  State *st = data;
  st->reply = cg_manager_client_call_finish (CG_MANAGER_CLIENT (source), result, &st->error);
  g_main_loop_quit (st->loop);
}

int
main (int argc, char **argv)
{
  const char *put = g_str_has_prefix (argv[1] ? argv[1] : "", "put=") ? argv[1] + 4 : NULL;
  if (argc < 3 || (!g_str_equal (argv[1], "list") && !g_str_equal (argv[1], "encrypt") && !put))
    {
      fprintf (stderr, "usage: test-gui-failover list|encrypt|put=NAME HOST:PORT=PIN… < token\n");
      return 2;
    }
  cg_client_global_init ();
  char token[256] = { 0 };
  if (!fgets (token, sizeof token, stdin))
    return 2;
  g_strstrip (token);

  g_autoptr (CgManagerClient) client = cg_manager_client_new ();
  g_autoptr (GStrvBuilder) addresses = g_strv_builder_new ();
  g_autoptr (GStrvBuilder) pins = g_strv_builder_new ();
  for (int i = 2; i < argc; i++)
    {
      g_auto (GStrv) parts = g_strsplit (argv[i], "=", 2);
      g_autofree char *host = NULL;
      guint port;
      if (!parts[1] || !cg_agent_address_parse (parts[0], &host, &port, NULL))
        return 2;
      if (i == 2)
        cg_manager_client_set_agent (client, host, port, parts[1]);
      else
        {
          g_strv_builder_add (addresses, parts[0]);
          g_strv_builder_add (pins, parts[1]);
        }
    }
  g_auto (GStrv) a = g_strv_builder_end (addresses);
  g_auto (GStrv) p = g_strv_builder_end (pins);
  cg_manager_client_set_fallbacks (client, (const char *const *) a, (const char *const *) p);
  cg_manager_client_set_token (client, token);

  State st = { g_main_loop_new (NULL, FALSE) };
  g_signal_connect (client, "answered", G_CALLBACK (answered_cb), &st);
  if (g_str_equal (argv[1], "list"))
    cg_manager_client_list_async (client, NULL, done_cb, &st);
  else if (put)
    {
      json_auto_t *body = json_pack ("{s:s, s:{}, s:s}", "type", "mysql", "properties", "secret",
                                     "gui-put-value");
      cg_manager_client_put_async (client, put, body, NULL, done_cb, &st);
    }
  else
    cg_manager_client_encrypt_async (client, "gui-value", NULL, NULL, done_cb, &st);
  g_main_loop_run (st.loop);
  if (st.reply)
    printf ("answered %s %u\n", cg_manager_client_get_answered (client), st.answered);
  else
    printf ("error %s %d: %s [%s]\n", st.error->domain == CG_ERROR ? "CG_ERROR" : "CG_CLIENT_ERROR",
            st.error->code, st.error->message,
            st.error->domain == CG_ERROR ? cg_error_code_name (st.error->code) : "-");
  json_decref (st.reply);
  g_clear_error (&st.error);
  g_main_loop_unref (st.loop);
  return 0;
}
