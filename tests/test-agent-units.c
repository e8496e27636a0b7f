/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the agent's option parsing and login throttle. */
#include "config.h"

#include "agent/cg-config.h"
#include "agent/cg-throttle.h"
#include "common/cg-error.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static gboolean
parse (CgConfig *c, GError **error, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;
  g_ptr_array_add (args, "credgate-agent");
  va_start (ap, error);
  for (const char *a; (a = va_arg (ap, const char *));)
    g_ptr_array_add (args, (char *) a);
  va_end (ap);
  /* No system config file may leak into the test: name an empty one. */
  g_autofree char *empty = NULL;
  close (g_file_open_tmp ("cg-empty-XXXXXX", &empty, NULL));
  g_autofree char *opt = g_strdup_printf ("--config=%s", empty);
  g_ptr_array_add (args, opt);
  g_ptr_array_add (args, NULL);
  gboolean ok = cg_config_parse (c, args->len - 1, (char **) args->pdata, error);
  g_unlink (empty);
  return ok;
}

static void
test_defaults (void)
{
  CgConfig c;
  g_autoptr (GError) error = NULL;
  g_assert_true (parse (&c, &error, NULL));
  g_assert_cmpuint (c.port, ==, 8050);
  g_assert_null (c.listen);
  g_assert_cmpuint (c.max_body, ==, 64 * 1024);
  g_assert_nonnull (c.admin_socket);
  cg_config_clear (&c);
}

static void
test_file_and_override (void)
{
  CgConfig c;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("cg-conf-XXXXXX", &path, NULL);
  const char text[] = "[agent]\nport=9000\nlisten=127.0.0.1, ::1\nidle_timeout=5\n";
  g_assert_cmpint (write (fd, text, strlen (text)), ==, (gssize) strlen (text));
  close (fd);

  g_autofree char *opt = g_strdup_printf ("--config=%s", path);
  const char *argv1[] = { "credgate-agent", opt, "--port", "9443", NULL };
  g_assert_true (cg_config_parse (&c, 4, (char **) argv1, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.port, ==, 9443);  /* command line wins */
  g_assert_cmpuint (c.idle_timeout, ==, 5);
  g_assert_cmpstr (c.listen[0], ==, "127.0.0.1");
  g_assert_cmpstr (c.listen[1], ==, "::1");
  cg_config_clear (&c);
  g_unlink (path);
}

static void
test_errors (void)
{
  static const struct { const char *arg; const char *message; } cases[] = {
    { "--port=0", "port: \"0\"" },
    { "--port=70000", "port" },
    { "--listen=1.2.3", "not an IPv4 or IPv6 address" },
    { "--listen=", "listen" },
    { "--no-such-option", "Unknown option" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      CgConfig c;
      g_autoptr (GError) error = NULL;
      g_assert_false (parse (&c, &error, cases[i].arg, NULL));
      g_assert_nonnull (error);
      if (!strstr (error->message, cases[i].message))
        g_error ("%s: message \"%s\" lacks \"%s\"", cases[i].arg, error->message,
                 cases[i].message);
      cg_config_clear (&c);
    }
}

static void
test_throttle (void)
{
  CgThrottle *t = cg_throttle_new (3);
  g_assert_false (cg_throttle_is_blocked (t, "10.0.0.1"));
  g_assert_false (cg_throttle_fail (t, "10.0.0.1"));
  g_assert_false (cg_throttle_fail (t, "10.0.0.1"));
  g_assert_true (cg_throttle_fail (t, "10.0.0.1"));
  g_assert_true (cg_throttle_is_blocked (t, "10.0.0.1"));
  /* Another address is not affected. */
  g_assert_false (cg_throttle_is_blocked (t, "10.0.0.2"));
  cg_throttle_free (t);

  /* Bounded under a flood of distinct addresses. */
  t = cg_throttle_new (2);
  for (int i = 0; i < 70000; i++)
    {
      char addr[32];
      g_snprintf (addr, sizeof addr, "fd00::%x", i);
      cg_throttle_fail (t, addr);
    }
  cg_throttle_free (t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/agent/config/defaults", test_defaults);
  g_test_add_func ("/agent/config/file-and-override", test_file_and_override);
  g_test_add_func ("/agent/config/errors", test_errors);
  g_test_add_func ("/agent/throttle", test_throttle);
  return g_test_run ();
}
