/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the agent's option parsing, client grouping, connection
 * limits and login throttle. */
#include "config.h"

#include "admin/cg-admin-proto.h"
#include "agent/cg-config.h"
#include "agent/cg-conn-limit.h"
#include "agent/cg-peer.h"
#include "agent/cg-throttle.h"
#include "common/cg-error.h"

#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
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

/* A config file holding @text (transfer full: the path; unlink it). */
static char *
write_config (const char *text)
{
  char *path = NULL;
  int fd = g_file_open_tmp ("cg-conf-XXXXXX", &path, NULL);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, text, strlen (text)), ==, (gssize) strlen (text));
  close (fd);
  return path;
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
  g_autofree char *path
      = write_config ("[agent]\nport=9000\nlisten=127.0.0.1, ::1\nidle_timeout=5\n");

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

/* Every key of the table: a value other than the default, set, read back
 * as the same text, set again from that text to the same value; then the
 * same key in a config file gives the same field.  Keys the table does not
 * hold, and values out of range, are refused with the messages the agent
 * has always given. */
static void
test_keys_roundtrip (void)
{
  static const struct { const char *key, *value, *low, *high; } cases[] = {
    { "port", "9443", "0", "65536" },
    { "listen", "127.0.0.1,::1", "", "1.2.3" },
    { "state_dir", "/var/lib/credgate-test", "", NULL },
    { "admin_socket", "/run/credgate-test/admin.sock", NULL, NULL },
    { "priority", "NORMAL:-VERS-TLS1.2", NULL, NULL },
    { "max_connections", "1000", "0", "100001" },
    { "max_connections_per_ip", "7", "0", "100001" },
    { "idle_timeout", "3600", "0", "3601" },
    { "max_body", "1024", "1023", "16777217" },
    { "threads", "4", "-1", "257" },
    { "auth_failures", "1", "0", "100001" },
    { "audit_log", "/var/log/credgate-audit.log", NULL, NULL },
    { "web", "false", "no", "1" },
    { "client_cert_days", "3650", "0", "3651" },
    { "audit_auth_interval", "1", "0", "3601" },
  };
  const char *const *keys = cg_config_keys ();
  g_assert_cmpuint (g_strv_length ((char **) keys), ==, G_N_ELEMENTS (cases));
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].key);
      g_assert_cmpstr (keys[i], ==, cases[i].key);
      g_auto (CgConfig) c = { 0 };
      g_autoptr (GError) error = NULL;
      g_assert_true (parse (&c, &error, NULL));
      g_autofree char *before = cg_config_get (&c, cases[i].key);
      g_assert_cmpstr (before, !=, cases[i].value);
      g_assert_true (cg_config_set (&c, cases[i].key, cases[i].value, &error));
      g_assert_no_error (error);
      g_autofree char *text = cg_config_get (&c, cases[i].key);
      g_assert_cmpstr (text, ==, cases[i].value);
      g_assert_true (cg_config_set (&c, cases[i].key, text, &error));
      g_autofree char *again = cg_config_get (&c, cases[i].key);
      g_assert_cmpstr (again, ==, text);

      /* The same through a config file. */
      g_autofree char *line = g_strdup_printf ("[agent]\n%s=%s\n", cases[i].key, cases[i].value);
      g_autofree char *path = write_config (line);
      g_autofree char *opt = g_strdup_printf ("--config=%s", path);
      const char *argv[] = { "credgate-agent", opt, NULL };
      g_auto (CgConfig) f = { 0 };
      g_assert_true (cg_config_parse (&f, 2, (char **) argv, &error));
      g_assert_no_error (error);
      g_autofree char *from_file = cg_config_get (&f, cases[i].key);
      g_assert_cmpstr (from_file, ==, cases[i].value);
      g_unlink (path);

      /* Out of range, both ends, where the key has a range. */
      const char *bad[] = { cases[i].low, cases[i].high };
      for (gsize j = 0; j < G_N_ELEMENTS (bad); j++)
        {
          if (!bad[j])
            continue;
          g_autoptr (GError) refused = NULL;
          g_assert_false (cg_config_set (&c, cases[i].key, bad[j], &refused));
          g_assert_error (refused, CG_ERROR, CG_ERROR_INVALID);
          g_assert_true (g_str_has_prefix (refused->message, cases[i].key));
        }
    }

  /* The exact words of the refusals, as before the table. */
  static const struct { const char *key, *value, *message; } words[] = {
    { "port", "0", "port: \"0\" is not a number from 1 to 65535" },
    { "max_body", "99", "max_body: \"99\" is not a number from 1024 to 16777216" },
    { "web", "yes", "web: \"yes\" is not true or false" },
    { "state_dir", "", "state_dir: empty path" },
    { "listen", "1.2.3", "listen: \"1.2.3\" is not an IPv4 or IPv6 address" },
    { "listen", "", "listen: no address given" },
    { "colour", "blue", "unknown setting \"colour\"" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (words); i++)
    {
      g_auto (CgConfig) c = { 0 };
      g_autoptr (GError) error = NULL;
      g_assert_false (cg_config_set (&c, words[i].key, words[i].value, &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      g_assert_cmpstr (error->message, ==, words[i].message);
    }
  g_assert_null (cg_config_get (&(CgConfig) { 0 }, "colour"));

  /* An unknown key in a file: refused, naming the file and the key. */
  g_autofree char *path = write_config ("[agent]\nport=8050\ncolour=blue\n");
  g_autofree char *opt = g_strdup_printf ("--config=%s", path);
  const char *argv[] = { "credgate-agent", opt, NULL };
  g_auto (CgConfig) c = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_false (cg_config_parse (&c, 2, (char **) argv, &error));
  g_autofree char *expected = g_strdup_printf ("config %s: unknown key \"colour\"", path);
  g_assert_cmpstr (error->message, ==, expected);
  g_unlink (path);
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

  /* Bounded under a flood of distinct clients (one /64 each). */
  t = cg_throttle_new (2);
  for (int i = 0; i < 70000; i++)
    {
      char addr[48];
      g_snprintf (addr, sizeof addr, "fd00:%x:%x::1", i >> 16, i & 0xffff);
      cg_throttle_fail (t, addr);
    }
  cg_throttle_free (t);
}

static void
test_peer_group (void)
{
  static const struct { const char *addr; const char *group; } cases[] = {
    { "192.0.2.7", "192.0.2.7" },
    { "::ffff:192.0.2.7", "192.0.2.7" },
    { "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64" },
    { "2001:db8:1:2::9", "2001:db8:1:2::/64" },
    { "::1", "::/64" },
    { "fe80::1", "fe80::/64" },
    { "unknown", "unknown" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      char group[CG_PEER_GROUP_LEN];
      cg_peer_group_from_string (cases[i].addr, group);
      g_assert_cmpstr (group, ==, cases[i].group);
    }

  struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
  inet_pton (AF_INET6, "2001:db8:0:7:a:b:c:d", &s6.sin6_addr);
  char group[CG_PEER_GROUP_LEN];
  g_assert_true (cg_peer_group_from_sockaddr ((struct sockaddr *) &s6, group));
  g_assert_cmpstr (group, ==, "2001:db8:0:7::/64");
  struct sockaddr_in s4 = { .sin_family = AF_INET };
  inet_pton (AF_INET, "198.51.100.1", &s4.sin_addr);
  g_assert_true (cg_peer_group_from_sockaddr ((struct sockaddr *) &s4, group));
  g_assert_cmpstr (group, ==, "198.51.100.1");
  struct sockaddr su = { .sa_family = AF_UNIX };
  g_assert_false (cg_peer_group_from_sockaddr (&su, group));
}

/* Addresses in one IPv6 /64 are one client; the next /64 is another.  So
 * is an IPv4 client seen on a dual-stack socket and on an IPv4 one. */
static void
test_throttle_ipv6_prefix (void)
{
  static const char *const same[][3] = {
    { "2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:fffe" },
    { "192.0.2.1", "::ffff:192.0.2.1", "192.0.2.1" },
  };
  static const char *const others[] = { "2001:db8:1:3::1", "2001:db8:1::1", "192.0.2.2" };
  CgThrottle *t = cg_throttle_new (3);
  for (gsize i = 0; i < G_N_ELEMENTS (same); i++)
    for (gsize j = 0; j < 3; j++)
      g_assert_cmpint (cg_throttle_fail (t, same[i][j]), ==, j == 2);
  g_assert_true (cg_throttle_is_blocked (t, "2001:db8:1:2:abcd::7"));
  for (gsize i = 0; i < G_N_ELEMENTS (others); i++)
    g_assert_false (cg_throttle_is_blocked (t, others[i]));
  cg_throttle_free (t);
}

/* A full table drops its oldest entry that is not blocked; a blocked
 * client stays blocked however many new clients arrive. */
static void
test_throttle_full (void)
{
  const guint max = 64;
  CgThrottle *t = cg_throttle_new_full (3, max);
  /* "old" has 2 failures (one short of blocked), "bad" is blocked. */
  cg_throttle_fail (t, "10.1.0.1");
  cg_throttle_fail (t, "10.1.0.1");
  for (int i = 0; i < 3; i++)
    cg_throttle_fail (t, "10.6.6.6");
  g_assert_true (cg_throttle_is_blocked (t, "10.6.6.6"));
  /* Fill the table, then ten times over. */
  for (guint i = 0; i < 10 * max; i++)
    {
      char addr[48];
      g_snprintf (addr, sizeof addr, "2001:db8:%x::1", i);
      cg_throttle_fail (t, addr);
    }
  g_assert_true (cg_throttle_is_blocked (t, "10.6.6.6"));
  /* "old" was dropped, oldest first: it starts again from nothing. */
  g_assert_false (cg_throttle_fail (t, "10.1.0.1"));
  g_assert_false (cg_throttle_fail (t, "10.1.0.1"));
  g_assert_true (cg_throttle_fail (t, "10.1.0.1"));
  /* The newest of the flood survived, the oldest did not. */
  char newest[48], oldest[48];
  g_snprintf (newest, sizeof newest, "2001:db8:%x::1", 10 * max - 1);
  g_snprintf (oldest, sizeof oldest, "2001:db8:%x::1", 0);
  g_assert_false (cg_throttle_fail (t, newest)); /* 2 of 3: it was kept */
  g_assert_true (cg_throttle_fail (t, newest));
  g_assert_false (cg_throttle_fail (t, oldest));
  g_assert_false (cg_throttle_fail (t, oldest)); /* 2 of 3: it had been dropped */
  cg_throttle_free (t);

  /* A table of nothing but blocked clients gives up its oldest block. */
  t = cg_throttle_new_full (1, 4);
  const char *const addrs[] = { "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5" };
  for (gsize i = 0; i < G_N_ELEMENTS (addrs); i++)
    g_assert_true (cg_throttle_fail (t, addrs[i]));
  g_assert_false (cg_throttle_is_blocked (t, "10.0.0.1"));
  for (gsize i = 1; i < G_N_ELEMENTS (addrs); i++)
    g_assert_true (cg_throttle_is_blocked (t, addrs[i]));
  cg_throttle_free (t);
}

/* A socket address from text, as accept() gives it. */
static struct sockaddr_storage
peer (const char *addr)
{
  struct sockaddr_storage ss = { 0 };
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
  struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
  if (inet_pton (AF_INET6, addr, &s6->sin6_addr) == 1)
    s6->sin6_family = AF_INET6;
  else if (inet_pton (AF_INET, addr, &s4->sin_addr) == 1)
    s4->sin_family = AF_INET;
  else
    g_assert_not_reached ();
  return ss;
}

static CgConnSlot *
acquire (CgConnLimit *l, const char *addr)
{
  struct sockaddr_storage ss = peer (addr);
  return cg_conn_limit_acquire (l, (struct sockaddr *) &ss);
}

/* The limits hold over every connection at once, per client: an IPv4
 * address (also when seen as ::ffff:a.b.c.d) or an IPv6 /64. */
static void
test_conn_limit (void)
{
  CgConnLimit *l = cg_conn_limit_new (5, 2);
  g_autoptr (GPtrArray) held = g_ptr_array_new ();
  const char *const two_each[] = { "192.0.2.1", "::ffff:192.0.2.1", /* one client */
                                   "2001:db8:1:2::1", "2001:db8:1:2:ffff::9" /* one /64 */ };
  for (gsize i = 0; i < G_N_ELEMENTS (two_each); i++)
    {
      CgConnSlot *s = acquire (l, two_each[i]);
      g_assert_nonnull (s);
      g_ptr_array_add (held, s);
    }
  g_assert_null (acquire (l, "192.0.2.1"));
  g_assert_null (acquire (l, "2001:db8:1:2::77"));
  CgConnSlot *fifth = acquire (l, "2001:db8:1:3::1"); /* the next /64 */
  g_assert_nonnull (fifth);
  /* The agent is full: nobody else, however new. */
  g_assert_null (acquire (l, "198.51.100.1"));
  struct sockaddr_storage ss = peer ("192.0.2.1");
  guint mine;
  g_assert_cmpuint (cg_conn_limit_count (l, (struct sockaddr *) &ss, &mine), ==, 5);
  g_assert_cmpuint (mine, ==, 2);

  /* A place given back is free for anyone. */
  cg_conn_limit_release (l, fifth);
  CgConnSlot *s = acquire (l, "198.51.100.1");
  g_assert_nonnull (s);
  g_assert_null (acquire (l, "198.51.100.2"));
  cg_conn_limit_release (l, s);
  cg_conn_limit_release (l, NULL);
  for (guint i = 0; i < held->len; i++)
    cg_conn_limit_release (l, held->pdata[i]);
  g_assert_cmpuint (cg_conn_limit_count (l, (struct sockaddr *) &ss, &mine), ==, 0);
  g_assert_cmpuint (mine, ==, 0);
  /* Every client back to nothing: a full per-client share again. */
  g_assert_nonnull ((s = acquire (l, "192.0.2.1")));
  cg_conn_limit_release (l, s);
  cg_conn_limit_free (l);
}

/* Many threads taking and giving back places: the count never passes the
 * limit and ends at zero. */
static gpointer
churn_thread (gpointer data)
{
  CgConnLimit *l = data;
  char addr[48];
  for (int i = 0; i < 20000; i++)
    {
      g_snprintf (addr, sizeof addr, "10.0.0.%d", i % 7);
      CgConnSlot *s = acquire (l, addr);
      if (s)
        {
          struct sockaddr_storage ss = peer (addr);
          guint mine;
          guint all = cg_conn_limit_count (l, (struct sockaddr *) &ss, &mine);
          g_assert_cmpuint (all, <=, 10);
          g_assert_cmpuint (mine, <=, 3);
          cg_conn_limit_release (l, s);
        }
    }
  return NULL;
}

static void
test_conn_limit_threads (void)
{
  CgConnLimit *l = cg_conn_limit_new (10, 3);
  GThread *threads[8];
  for (gsize i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("churn", churn_thread, l);
  for (gsize i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  struct sockaddr_storage ss = peer ("10.0.0.1");
  g_assert_cmpuint (cg_conn_limit_count (l, (struct sockaddr *) &ss, NULL), ==, 0);
  cg_conn_limit_free (l);
}

/* The admin socket's framing: progress lines and the answer can arrive in
 * one read; from a buffered stream each call takes one message and leaves
 * the rest; from a plain stream what follows the first newline is dropped
 * (one request per connection). */
static void
test_admin_read_messages (void)
{
  static const char text[] = "{\"progress\":{\"done\":1}}\n{\"result\":{}}\n";
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  g_autoptr (GInputStream) mem = g_memory_input_stream_new_from_data (text, strlen (text), NULL);
  g_autoptr (GInputStream) in = g_buffered_input_stream_new (mem);
  g_autofree char *first = cg_admin_read_message (in, &len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, "{\"progress\":{\"done\":1}}");
  g_assert_cmpuint (len, ==, strlen (first));
  g_autofree char *second = cg_admin_read_message (in, &len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second, ==, "{\"result\":{}}");
  g_assert_null (cg_admin_read_message (in, &len, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);

  g_autoptr (GInputStream) plain = g_memory_input_stream_new_from_data (text, strlen (text), NULL);
  g_autofree char *only = cg_admin_read_message (plain, &len, NULL, &error);
  g_assert_cmpstr (only, ==, "{\"progress\":{\"done\":1}}");
  g_assert_null (cg_admin_read_message (plain, &len, NULL, &error));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/agent/config/defaults", test_defaults);
  g_test_add_func ("/agent/config/file-and-override", test_file_and_override);
  g_test_add_func ("/agent/config/errors", test_errors);
  g_test_add_func ("/agent/config/keys-roundtrip", test_keys_roundtrip);
  g_test_add_func ("/agent/throttle", test_throttle);
  g_test_add_func ("/agent/throttle/ipv6-prefix", test_throttle_ipv6_prefix);
  g_test_add_func ("/agent/throttle/full", test_throttle_full);
  g_test_add_func ("/agent/peer-group", test_peer_group);
  g_test_add_func ("/agent/conn-limit", test_conn_limit);
  g_test_add_func ("/admin/proto/read-messages", test_admin_read_messages);
  g_test_add_func ("/agent/conn-limit/threads", test_conn_limit_threads);
  return g_test_run ();
}
