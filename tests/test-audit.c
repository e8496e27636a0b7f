/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit log (agent/cg-audit.c): failed logins are counted per client
 * group and summarised in a bounded number of lines that carry the whole
 * count; a line that cannot be written refuses the change. */
#include "config.h"

#include "tests/cg-test-util.h"

#include "agent/cg-audit.h"
#include "common/cg-error.h"

#include <glib/gstdio.h>
#include <jansson.h>
#include <string.h>

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->dir = cg_test_make_tmpdir ("cg-audit");
  f->path = g_build_filename (f->dir, "audit.log", NULL);
  g_assert_true (cg_audit_open (f->path, &error));
  g_assert_no_error (error);
  cg_audit_auth_set_interval (3600);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  cg_audit_close ();
  cg_test_rm_rf (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

/* The "auth" lines of the log: how many, and the counts they carry per
 * client group (in @sums, when given). */
static guint
auth_lines (Fixture *f, GHashTable *sums)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (f->path, &text, NULL, &error));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = 0;
  for (char **l = lines; *l && **l; l++)
    {
      json_error_t jerr;
      json_t *line = json_loads (*l, 0, &jerr);
      g_assert_nonnull (line);
      if (g_strcmp0 (json_string_value (json_object_get (line, "audit")), "auth") == 0)
        {
          json_int_t count = json_integer_value (json_object_get (line, "count"));
          g_assert_cmpint (count, ==,
                           json_integer_value (json_object_get (line, "noToken"))
                               + json_integer_value (json_object_get (line, "badToken"))
                               + json_integer_value (json_object_get (line, "badClientCertificate"))
                               + json_integer_value (json_object_get (line, "badEnrollmentCode")));
          g_assert_cmpint (count, >, 0);
          g_assert_nonnull (json_string_value (json_object_get (line, "since")));
          if (sums)
            {
              const char *group = json_string_value (json_object_get (line, "client"));
              gpointer old = g_hash_table_lookup (sums, group);
              g_hash_table_insert (sums, g_strdup (group),
                                   GSIZE_TO_POINTER (GPOINTER_TO_SIZE (old) + count));
            }
          n++;
        }
      json_decref (line);
    }
  return n;
}

static gsize
sum_of (GHashTable *sums, const char *group)
{
  return GPOINTER_TO_SIZE (g_hash_table_lookup (sums, group));
}

/* 1,000 failures from one client: the first is a line at once, the other
 * 999 one line at the end, with the kinds counted apart. */
static void
test_one_client (Fixture *f, gconstpointer data)
{
  g_autoptr (GHashTable) sums = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < 1000; i++)
    cg_audit_auth_failure ("198.51.100.7", i % 5 != 0 ? CG_AUTH_BAD_TOKEN : CG_AUTH_NO_TOKEN);
  g_assert_cmpuint (auth_lines (f, NULL), ==, 1);
  cg_audit_auth_flush (FALSE); /* the interval (an hour) is not over */
  g_assert_cmpuint (auth_lines (f, NULL), ==, 1);
  cg_audit_auth_flush (TRUE);
  g_assert_cmpuint (auth_lines (f, sums), ==, 2);
  g_assert_cmpuint (sum_of (sums, "198.51.100.7"), ==, 1000);

  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (f->path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"noToken\":199"));
  g_assert_nonnull (strstr (text, "\"badToken\":800"));
}

/* IPv6 clients of one /64 are one client, as for the throttle. */
static void
test_ipv6_grouped (Fixture *f, gconstpointer data)
{
  g_autoptr (GHashTable) sums = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < 500; i++)
    {
      g_autofree char *a = g_strdup_printf ("2001:db8:7:8:%x:%x::1", i, i * 7);
      cg_audit_auth_failure (a, i % 2 ? CG_AUTH_BAD_CLIENT_CERT : CG_AUTH_BAD_ENROLLMENT_CODE);
    }
  cg_audit_auth_failure ("2001:db8:7:9::1", CG_AUTH_BAD_TOKEN);
  cg_audit_auth_flush (TRUE);
  g_assert_cmpuint (auth_lines (f, sums), ==, 3);
  g_assert_cmpuint (sum_of (sums, "2001:db8:7:8::/64"), ==, 500);
  g_assert_cmpuint (sum_of (sums, "2001:db8:7:9::/64"), ==, 1);
}

/* A flood of distinct addresses: past 256 groups they share "*", so the
 * lines stay bounded and still add up to every failure. */
static void
test_many_clients (Fixture *f, gconstpointer data)
{
  g_autoptr (GHashTable) sums = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < 5000; i++)
      {
        g_autofree char *a = g_strdup_printf ("10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        cg_audit_auth_failure (a, CG_AUTH_NO_TOKEN);
      }
  cg_audit_auth_flush (TRUE);
  guint n = auth_lines (f, sums);
  g_assert_cmpuint (n, <=, 2 * 257);
  gsize total = 0;
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, sums);
  while (g_hash_table_iter_next (&iter, &key, &value))
    total += GPOINTER_TO_SIZE (value);
  g_assert_cmpuint (total, ==, 15000);
  g_assert_cmpuint (sum_of (sums, "*"), >=, 15000 - 3 * 256);
  g_assert_cmpuint (g_hash_table_size (sums), ==, 257);
}

/* Once a client's interval is over, the timer writes its count. */
static void
test_interval (Fixture *f, gconstpointer data)
{
  g_autoptr (GHashTable) sums = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  cg_audit_auth_set_interval (1);
  for (int i = 0; i < 50; i++)
    cg_audit_auth_failure ("203.0.113.5", CG_AUTH_BAD_TOKEN);
  cg_audit_auth_flush (FALSE);
  g_assert_cmpuint (auth_lines (f, NULL), ==, 1);
  g_usleep (1100 * 1000);
  cg_audit_auth_flush (FALSE);
  g_assert_cmpuint (auth_lines (f, sums), ==, 2);
  g_assert_cmpuint (sum_of (sums, "203.0.113.5"), ==, 50);
  /* Nothing left to write: no more lines. */
  g_usleep (1100 * 1000);
  cg_audit_auth_flush (FALSE);
  cg_audit_auth_flush (TRUE);
  g_assert_cmpuint (auth_lines (f, NULL), ==, 2);
}

/* A line that cannot be written: the change is refused. */
static void
test_before_refuses (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (cg_audit_open ("/dev/full", &error));
  /* The refusal is logged as a warning, which a test would take as fatal. */
  GLogLevelFlags fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  g_assert_false (cg_audit_before ("admin:uid=0", "local", "token.create", "t", &error));
  g_log_set_always_fatal (fatal);
  g_assert_error (error, CG_ERROR, CG_ERROR_AUDIT_UNAVAILABLE);
  g_assert_cmpstr (cg_error_code_name (error->code), ==, "audit_unavailable");
  g_assert_cmpuint (cg_error_http_status (error->code), ==, 503);
  cg_audit_close ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/audit/auth/one-client", Fixture, NULL, setup, test_one_client, teardown);
  g_test_add ("/audit/auth/ipv6-grouped", Fixture, NULL, setup, test_ipv6_grouped, teardown);
  g_test_add ("/audit/auth/many-clients", Fixture, NULL, setup, test_many_clients, teardown);
  g_test_add ("/audit/auth/interval", Fixture, NULL, setup, test_interval, teardown);
  g_test_add_func ("/audit/before-refuses", test_before_refuses);
  return g_test_run ();
}
