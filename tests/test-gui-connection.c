/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "common/cg-error.h"
#include "gui/cg-connection.h"
#include "protocol/cg-client.h"
#include "protocol/cg-known-agents.h"

#define PIN_A "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PIN_B "sha256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB="
#define PIN_C "sha256:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC="

static void
test_first_contact (void)
{
  g_autoptr (CgConnection) c = cg_connection_new ();
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_DISCONNECTED);
  g_assert_true (cg_connection_start (c, "gw1", 8050));
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_PROBING);
  g_assert_cmpstr (cg_connection_get_host (c), ==, "gw1");
  g_assert_cmpuint (cg_connection_get_port (c), ==, 8050);

  g_assert_true (cg_connection_probe_done (c, PIN_A, NULL, NULL));
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_AWAITING_TRUST);
  g_assert_false (cg_connection_get_pin_needs_saving (c));
  g_assert_true (cg_connection_trust (c));
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_AUTHENTICATING);
  g_assert_true (cg_connection_get_pin_needs_saving (c));
  g_assert_cmpstr (cg_connection_get_pin (c), ==, PIN_A);
  g_assert_true (cg_connection_auth_done (c, NULL));
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_CONNECTED);
}

static void
test_first_contact_cancelled (void)
{
  g_autoptr (CgConnection) c = cg_connection_new ();
  cg_connection_start (c, "gw1", 8050);
  cg_connection_probe_done (c, PIN_A, NULL, NULL);
  g_assert_true (cg_connection_cancel (c));
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_DISCONNECTED);
  g_assert_null (cg_connection_get_pin (c));
  /* A trust that arrives late changes nothing. */
  g_assert_false (cg_connection_trust (c));
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_DISCONNECTED);
}

static void
test_known_pin (void)
{
  g_autoptr (CgConnection) c = cg_connection_new ();
  cg_connection_start (c, "gw1", 8050);
  g_assert_true (cg_connection_probe_done (c, PIN_A, PIN_A, NULL));
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_AUTHENTICATING);
  g_assert_false (cg_connection_get_pin_needs_saving (c));
}

static void
test_changed_key (void)
{
  g_autoptr (CgConnection) c = cg_connection_new ();
  cg_connection_start (c, "gw1", 8050);
  g_assert_true (cg_connection_probe_done (c, PIN_B, PIN_A, PIN_C));
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_KEY_CHANGED);
  g_assert_cmpstr (cg_connection_get_pin (c), ==, PIN_B);
  g_assert_cmpstr (cg_connection_get_known_pin (c), ==, PIN_A);
  /* Nothing is authenticated while the warning stands. */
  g_assert_false (cg_connection_auth_done (c, NULL));
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_KEY_CHANGED);
  g_assert_true (cg_connection_cancel (c));
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_DISCONNECTED);

  /* Replacing the key is an explicit choice and saves the new pin. */
  cg_connection_start (c, "gw1", 8050);
  cg_connection_probe_done (c, PIN_B, PIN_A, NULL);
  g_assert_true (cg_connection_trust (c));
  g_assert_true (cg_connection_get_pin_needs_saving (c));
  g_assert_cmpstr (cg_connection_get_pin (c), ==, PIN_B);
}

static void
test_staged_pin (void)
{
  g_autoptr (CgConnection) c = cg_connection_new ();
  cg_connection_start (c, "gw1", 8050);
  /* The agent published PIN_B as its next certificate earlier: accepted
   * without a prompt, and remembered. */
  g_assert_true (cg_connection_probe_done (c, PIN_B, PIN_A, PIN_B));
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_AUTHENTICATING);
  g_assert_true (cg_connection_get_pin_needs_saving (c));
}

static void
test_invalid_events (void)
{
  g_autoptr (CgConnection) c = cg_connection_new ();
  g_assert_false (cg_connection_probe_done (c, PIN_A, NULL, NULL));
  g_assert_false (cg_connection_trust (c));
  g_assert_false (cg_connection_auth_done (c, NULL));
  g_assert_false (cg_connection_cancel (c));
  g_assert_false (cg_connection_start (c, "", 8050));
  g_assert_false (cg_connection_start (c, "gw1", 0));
  g_assert_false (cg_connection_start (c, "gw1", 70000));
  g_assert_true (cg_connection_start (c, "gw1", 8050));
  /* A second click while probing is ignored. */
  g_assert_false (cg_connection_start (c, "gw2", 8050));
  g_assert_cmpstr (cg_connection_get_host (c), ==, "gw1");
  g_assert_false (cg_connection_probe_done (c, "", NULL, NULL));
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_PROBING);
}

static void
test_failures (void)
{
  struct
  {
    GQuark domain;
    int code;
    CgConnectionProblem problem;
    const char *word; /* something the sentence must say */
  } cases[] = {
    /* Only the client's domains say what went wrong; another is shown as
     * it is. */
    { G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, CG_CONNECTION_PROBLEM_OTHER, "detail" },
    { CG_ERROR, CG_ERROR_UNAUTHORIZED, CG_CONNECTION_PROBLEM_TOKEN_REJECTED, "token" },
    { CG_ERROR, CG_ERROR_FORBIDDEN, CG_CONNECTION_PROBLEM_CERTIFICATE_REFUSED, "certificate" },
    { CG_ERROR, CG_ERROR_LOCKED, CG_CONNECTION_PROBLEM_STORE_LOCKED, "locked" },
    { CG_ERROR, CG_ERROR_UNAVAILABLE, CG_CONNECTION_PROBLEM_STORE_LOCKED, "locked" },
    { CG_ERROR, CG_ERROR_KEYS_MISSING, CG_CONNECTION_PROBLEM_STORE_LOCKED, "locked" },
    { CG_ERROR, CG_ERROR_CLUSTER_UNAVAILABLE, CG_CONNECTION_PROBLEM_CLUSTER_UNAVAILABLE,
      "Nothing was changed" },
    { CG_ERROR, CG_ERROR_INVALID, CG_CONNECTION_PROBLEM_OTHER, "detail" },
    { CG_CLIENT_ERROR, CG_CLIENT_ERROR_UNREACHABLE, CG_CONNECTION_PROBLEM_UNREACHABLE, "reached" },
    { CG_CLIENT_ERROR, CG_CLIENT_ERROR_TLS, CG_CONNECTION_PROBLEM_TLS, "secure" },
    { CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH, CG_CONNECTION_PROBLEM_CERTIFICATE_CHANGED,
      "changed" },
    { CG_CLIENT_ERROR, CG_CLIENT_ERROR_BUSY, CG_CONNECTION_PROBLEM_THROTTLED, "attempts" },
    { CG_CLIENT_ERROR, CG_CLIENT_ERROR_PROTOCOL, CG_CONNECTION_PROBLEM_OTHER, "detail" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (CgConnection) c = cg_connection_new ();
      g_autoptr (GError) error = g_error_new (cases[i].domain, cases[i].code, "detail");
      g_assert_cmpint (cg_connection_classify_error (error), ==, cases[i].problem);
      cg_connection_start (c, "gw1", 8050);
      cg_connection_probe_done (c, PIN_A, PIN_A, NULL);
      g_assert_true (cg_connection_auth_done (c, error));
      g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_FAILED);
      g_assert_cmpint (cg_connection_get_problem (c), ==, cases[i].problem);
      g_assert_nonnull (strstr (cg_connection_get_message (c), cases[i].word));
      /* From FAILED one may try again. */
      g_assert_true (cg_connection_start (c, "gw1", 8050));
      g_assert_null (cg_connection_get_message (c));
    }
  g_assert_cmpint (cg_connection_classify_error (NULL), ==, CG_CONNECTION_PROBLEM_NONE);
}

static void
test_disconnect (void)
{
  g_autoptr (CgConnection) c = cg_connection_new ();
  cg_connection_start (c, "gw1", 8050);
  cg_connection_probe_done (c, PIN_A, PIN_A, NULL);
  cg_connection_auth_done (c, NULL);
  cg_connection_disconnect (c);
  g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_DISCONNECTED);
  g_assert_null (cg_connection_get_pin (c));
  g_assert_cmpstr (cg_connection_state_name (CG_CONNECTION_KEY_CHANGED), ==, "key-changed");
}

static void
test_format_pin (void)
{
  g_autofree char *s = cg_connection_format_pin ("sha256:abcdEFGH12");
  g_autofree char *empty = cg_connection_format_pin (NULL);
  g_assert_cmpstr (s, ==, "SHA-256 abcd EFGH 12");
  g_assert_cmpstr (empty, ==, "");
}

/* The known-agents file as the window reads it, from a real file: a
 * malformed or unreadable one never turns into "never seen, trust it?". */
static CgConnection *
probe_with_file (const char *path, const char *pin)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgKnownAgents) known = cg_known_agents_load (path, &error);
  CgConnection *c = cg_connection_new ();
  g_assert_true (cg_connection_start (c, "gw1", 8050));
  g_assert_true (cg_connection_probe_done_known (c, pin, known, error));
  return c;
}

static void
test_known_agents_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cg-gui-known-XXXXXX", NULL);
  g_autofree char *good = g_build_filename (dir, "good", NULL);
  g_autofree char *malformed = g_build_filename (dir, "malformed", NULL);
  g_autofree char *unreadable = g_build_filename (dir, "unreadable", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  g_assert_true (g_file_set_contents (good, "gw1:8050 " PIN_A "\n", -1, NULL));
  g_assert_true (g_file_set_contents (malformed, "gw1:8050 " PIN_A "\ngw2:8050 not-a-pin\n", -1,
                                      NULL));
  /* A directory where the file should be: unreadable even for root. */
  g_assert_cmpint (g_mkdir (unreadable, 0700), ==, 0);

  /* Readable: the recorded pin connects, another is a changed key. */
  g_autoptr (CgConnection) ok = probe_with_file (good, PIN_A);
  g_assert_cmpint (cg_connection_get_state (ok), ==, CG_CONNECTION_AUTHENTICATING);
  g_autoptr (CgConnection) changed = probe_with_file (good, PIN_B);
  g_assert_cmpint (cg_connection_get_state (changed), ==, CG_CONNECTION_KEY_CHANGED);
  /* No file yet: first contact. */
  g_autoptr (CgConnection) first = probe_with_file (missing, PIN_A);
  g_assert_cmpint (cg_connection_get_state (first), ==, CG_CONNECTION_AWAITING_TRUST);

  const char *const broken[] = { malformed, unreadable };
  for (guint i = 0; i < G_N_ELEMENTS (broken); i++)
    for (guint j = 0; j < 2; j++)
      {
        /* The same key or a changed one: either way refused, with why. */
        g_autoptr (CgConnection) c = probe_with_file (broken[i], j ? PIN_B : PIN_A);
        g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_FAILED);
        g_assert_cmpint (cg_connection_get_problem (c), ==, CG_CONNECTION_PROBLEM_KNOWN_AGENTS);
        const char *message = cg_connection_get_message (c);
        g_assert_nonnull (message);
        if (!strstr (message, broken[i]) || !strstr (message, "Nothing was sent"))
          g_error ("the message for %s: %s", broken[i], message);
        /* No way to "Trust and connect" from here. */
        g_assert_false (cg_connection_trust (c));
        g_assert_false (cg_connection_get_pin_needs_saving (c));
        g_assert_cmpint (cg_connection_get_state (c), ==, CG_CONNECTION_FAILED);
      }

  g_unlink (good);
  g_unlink (malformed);
  g_rmdir (unreadable);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C");
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gui/connection/first-contact", test_first_contact);
  g_test_add_func ("/gui/connection/first-contact-cancelled", test_first_contact_cancelled);
  g_test_add_func ("/gui/connection/known-pin", test_known_pin);
  g_test_add_func ("/gui/connection/changed-key", test_changed_key);
  g_test_add_func ("/gui/connection/staged-pin", test_staged_pin);
  g_test_add_func ("/gui/connection/invalid-events", test_invalid_events);
  g_test_add_func ("/gui/connection/failures", test_failures);
  g_test_add_func ("/gui/connection/disconnect", test_disconnect);
  g_test_add_func ("/gui/connection/format-pin", test_format_pin);
  g_test_add_func ("/gui/connection/known-agents-file", test_known_agents_file);
  return g_test_run ();
}
