/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "protocol/cg-known-agents.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "protocol/cg-client.h"

#define PIN_A "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PIN_B "sha256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB="
#define PIN_C "sha256:C+/CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC="

static void
test_address (void)
{
  static const struct
  {
    const char *in, *host;
    guint port;
    const char *formatted;
  } good[] = {
    { "agent1", "agent1", 8050, "agent1:8050" },
    { "Agent1.Corp:1234", "agent1.corp", 1234, "agent1.corp:1234" },
    { "127.0.0.1:9", "127.0.0.1", 9, "127.0.0.1:9" },
    { "[::1]:8443", "::1", 8443, "[::1]:8443" },
    { "[fe80::1%eth0]", "fe80::1%eth0", 8050, "[fe80::1%eth0]:8050" },
  };
  static const char *const bad[] = { "", "::1", "h:0", "h:65536", "h:x", "[::1]x", "[]:1",
                                     "[host]:1", "a b", "h:", "h/x" };
  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autofree char *host = NULL, *f = NULL;
      guint port = 0;
      g_autoptr (GError) error = NULL;
      g_assert_true (cg_agent_address_parse (good[i].in, &host, &port, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (host, ==, good[i].host);
      g_assert_cmpuint (port, ==, good[i].port);
      f = cg_agent_address_format (host, port);
      g_assert_cmpstr (f, ==, good[i].formatted);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *host = NULL;
      guint port;
      g_autoptr (GError) error = NULL;
      g_test_message ("bad: %s", bad[i]);
      g_assert_false (cg_agent_address_parse (bad[i], &host, &port, &error));
      g_assert_nonnull (error);
    }
}

static void
test_pin_valid (void)
{
  g_assert_true (cg_pin_is_valid (PIN_A));
  g_assert_true (cg_pin_is_valid (PIN_C));
  g_assert_false (cg_pin_is_valid ("sha256:AAAA"));
  g_assert_false (cg_pin_is_valid ("sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
  g_assert_false (cg_pin_is_valid ("sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-="));
  g_assert_false (cg_pin_is_valid ("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
  g_assert_false (cg_pin_is_valid (NULL));
}

static const char sample[] = "# credgate known agents\n"
                             "agent1:8050 " PIN_A "\n"
                             "\n"
                             "[::1]:9000 " PIN_B " next:" PIN_C "\n";

static void
test_parse_check (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgKnownAgents) k = cg_known_agents_parse ("known", sample, &error);
  g_assert_no_error (error);

  const CgKnownAgent *a = cg_known_agents_lookup (k, "[::1]:9000");
  g_assert_nonnull (a);
  g_assert_cmpstr (a->pin, ==, PIN_B);
  g_assert_cmpstr (a->next_pin, ==, PIN_C);
  g_assert_null (cg_known_agents_lookup (k, "agent2:8050"));

  g_assert_cmpint (cg_known_agents_check (k, "agent1:8050", PIN_A), ==, CG_PIN_MATCH);
  g_assert_cmpint (cg_known_agents_check (k, "agent1:8050", PIN_B), ==, CG_PIN_CHANGED);
  g_assert_cmpint (cg_known_agents_check (k, "[::1]:9000", PIN_C), ==, CG_PIN_MATCH_NEXT);
  g_assert_cmpint (cg_known_agents_check (k, "agent1:8051", PIN_A), ==, CG_PIN_UNKNOWN);

  /* Untouched, the text comes back as it was: comments and blank lines too. */
  g_autofree char *same = cg_known_agents_to_string (k);
  g_assert_cmpstr (same, ==, sample);

  /* Replace in place (the staged key is now current), add at the end. */
  cg_known_agents_set (k, "[::1]:9000", PIN_C, NULL);
  cg_known_agents_set (k, "agent2:8050", PIN_A, PIN_A);
  g_autofree char *text = cg_known_agents_to_string (k);
  g_assert_cmpstr (text, ==,
                   "# credgate known agents\n"
                   "agent1:8050 " PIN_A "\n"
                   "\n"
                   "[::1]:9000 " PIN_C "\n"
                   "agent2:8050 " PIN_A "\n");
}

static void
test_malformed (void)
{
  static const char *const bad[] = {
    "agent1:8050\n",
    "agent1:8050 sha256:short\n",
    "agent1:8050 " PIN_A " " PIN_B "\n",
    "agent1:8050 " PIN_A " next:bad\n",
    "::1 " PIN_A "\n",
    "a " PIN_A " next:" PIN_B " extra\n",
    "a " PIN_A " via:b via:c\n",
    "a " PIN_A " via:b next:" PIN_B "\n",
    "a " PIN_A " via:[::1\n",
    "a " PIN_A " via:\n",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *text = g_strconcat ("# ok\n", bad[i], NULL);
      g_assert_null (cg_known_agents_parse ("known", text, &error));
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, "known, line 2"));
    }
}

static void
test_save_load (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("cg-known-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (tmp, "credgate", "known_agents", NULL);

  g_autoptr (CgKnownAgents) k = cg_known_agents_load (path, &error);
  g_assert_no_error (error);
  g_assert_null (cg_known_agents_lookup (k, "agent1:8050"));
  cg_known_agents_set (k, "agent1:8050", PIN_A, PIN_B);
  g_assert_true (cg_known_agents_save (k, &error));
  g_assert_no_error (error);

  struct stat st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, 0700);

  g_autoptr (CgKnownAgents) again = cg_known_agents_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (cg_known_agents_check (again, "agent1:8050", PIN_B), ==, CG_PIN_MATCH_NEXT);

  g_unlink (path);
  g_rmdir (dir);
  g_rmdir (tmp);
}

/* via:HOST:PORT (canonical: lower case, the default port) after the
 * optional next: pin; it survives a round trip and a pin update. */
static void
test_via (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgKnownAgents) k
      = cg_known_agents_parse ("known",
                               "gw1:8050 " PIN_A "\n"
                               "gw2:8050 " PIN_B " via:GW1\n"
                               "gw3:9000 " PIN_C " next:" PIN_A " via:gw1:8050\n",
                               &error);
  g_assert_no_error (error);
  g_assert_null (cg_known_agents_lookup (k, "gw1:8050")->via);
  g_assert_cmpstr (cg_known_agents_lookup (k, "gw2:8050")->via, ==, "gw1:8050");
  g_assert_cmpstr (cg_known_agents_lookup (k, "gw3:9000")->via, ==, "gw1:8050");
  g_assert_cmpstr (cg_known_agents_lookup (k, "gw3:9000")->next_pin, ==, PIN_A);
  cg_known_agents_set (k, "gw2:8050", PIN_C, NULL);
  g_autofree char *text = cg_known_agents_to_string (k);
  g_assert_cmpstr (text, ==,
                   "gw1:8050 " PIN_A "\n"
                   "gw2:8050 " PIN_C " via:gw1:8050\n"
                   "gw3:9000 " PIN_C " next:" PIN_A " via:gw1:8050\n");
}

/* The other nodes of a /v1/info "cluster" field are added with via; the
 * agent itself, malformed entries and addresses already known (whatever
 * pin the list gives them) are left alone. */
static void
test_learn_cluster (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgKnownAgents) k
      = cg_known_agents_parse ("known",
                               "gw1:8050 " PIN_A "\n"
                               "gw4:8050 " PIN_A "\n",
                               &error);
  json_auto_t *info = json_pack (
      "{s:s, s:{s:s, s:s, s:[{s:s, s:s, s:s, s:b}, {s:s, s:s, s:s, s:b}, {s:s, s:s, s:s, s:b},"
      " {s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:i, s:s}, {s:s, s:s, s:s}]}}",
      "version", "x", "cluster", "id", "c1", "node", "gw1", "nodes",
      "name", "gw1", "address", "gw1:8050", "pin", PIN_A, "alive", TRUE,
      "name", "gw2", "address", "GW2", "pin", PIN_B, "alive", TRUE,
      "name", "gw3", "address", "[::1]:9003", "pin", PIN_C, "alive", FALSE,
      "name", "gw4", "address", "gw4:8050", "pin", PIN_B,
      "name", "bad1", "address", "gw5:8050", "pin", "sha256:short",
      "name", "bad2", "address", 7, "pin", PIN_B,
      "name", "bad3", "address", "a:b:c", "pin", PIN_B);
  g_autoptr (GPtrArray) added = cg_known_agents_learn_cluster (k, "gw1:8050", info);
  g_assert_cmpuint (added->len, ==, 2);
  g_assert_cmpstr (added->pdata[0], ==, "gw2:8050");
  g_assert_cmpstr (added->pdata[1], ==, "[::1]:9003");
  g_autofree char *text = cg_known_agents_to_string (k);
  g_assert_cmpstr (text, ==,
                   "gw1:8050 " PIN_A "\n"
                   "gw4:8050 " PIN_A "\n"
                   "gw2:8050 " PIN_B " via:gw1:8050\n"
                   "[::1]:9003 " PIN_C " via:gw1:8050\n");
  /* Learned pins are then checked like any other. */
  g_assert_cmpint (cg_known_agents_check (k, "gw2:8050", PIN_C), ==, CG_PIN_CHANGED);
  g_assert_cmpint (cg_known_agents_check (k, "gw4:8050", PIN_B), ==, CG_PIN_CHANGED);

  /* Again: nothing new.  No cluster field: nothing. */
  g_autoptr (GPtrArray) again = cg_known_agents_learn_cluster (k, "gw1:8050", info);
  g_assert_cmpuint (again->len, ==, 0);
  json_auto_t *single = json_pack ("{s:s}", "version", "x");
  g_autoptr (GPtrArray) none = cg_known_agents_learn_cluster (k, "gw1:8050", single);
  g_assert_cmpuint (none->len, ==, 0);
}

static void
test_changed_message (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgKnownAgents) k = cg_known_agents_parse ("/x/known_agents", sample, &error);
  cg_known_agents_set_changed_error (k, "agent1:8050", PIN_B, &error);
  g_assert_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH);
  g_assert_nonnull (strstr (error->message, "CHANGED"));
  g_assert_nonnull (strstr (error->message, "known " PIN_A));
  g_assert_nonnull (strstr (error->message, "offered " PIN_B));
  g_assert_nonnull (strstr (error->message, "line 2 of /x/known_agents"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/known-agents/address", test_address);
  g_test_add_func ("/known-agents/pin-valid", test_pin_valid);
  g_test_add_func ("/known-agents/parse-check-set", test_parse_check);
  g_test_add_func ("/known-agents/malformed", test_malformed);
  g_test_add_func ("/known-agents/save-load", test_save_load);
  g_test_add_func ("/known-agents/changed-message", test_changed_message);
  g_test_add_func ("/known-agents/via", test_via);
  g_test_add_func ("/known-agents/learn-cluster", test_learn_cluster);
  return g_test_run ();
}
