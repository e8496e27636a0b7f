/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of common/: atomic private files, capped reads, strict JSON,
 * error names, secret buffers; and protocol/cg-names. */
#include "config.h"

#include "tests/cg-test-util.h"

#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"
#include "common/cg-time.h"
#include "protocol/cg-names.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static void
test_write_atomic_mode (void)
{
  g_autofree char *dir = cg_test_make_tmpdir ("cg-common");
  g_autofree char *path = g_build_filename (dir, "secret", NULL);
  g_autoptr (GError) error = NULL;
  struct stat st;

  g_assert_true (cg_file_write_atomic (path, "one", 3, 0600, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* Replacing keeps the mode asked for and leaves no temporary behind. */
  g_assert_true (cg_file_write_atomic (path, "two!", 4, 0600, &error));
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "two!");
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  int n = 0;
  while (g_dir_read_name (d))
    n++;
  g_assert_cmpint (n, ==, 1);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_write_atomic_failure_keeps_old (void)
{
  g_autofree char *dir = cg_test_make_tmpdir ("cg-common");
  g_autofree char *path = g_build_filename (dir, "missing-dir", "file", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_false (cg_file_write_atomic (path, "x", 1, 0600, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "missing-dir"));
  g_rmdir (dir);
}

static void
test_read_capped (void)
{
  g_autofree char *dir = cg_test_make_tmpdir ("cg-common");
  g_autofree char *path = g_build_filename (dir, "f", NULL);
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  g_assert_true (g_file_set_contents (path, "0123456789", 10, NULL));
  g_assert_true (cg_file_read_capped (path, 10, &contents, &len, &error));
  g_assert_cmpuint (len, ==, 10);
  g_assert_cmpstr (contents, ==, "0123456789");
  g_free (contents);

  g_assert_false (cg_file_read_capped (path, 9, &contents, &len, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_TOO_LARGE);
  g_clear_error (&error);

  g_autofree char *missing = g_build_filename (dir, "nope", NULL);
  g_assert_false (cg_file_read_capped (missing, 9, &contents, &len, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_json_strict (void)
{
  g_autoptr (GError) error = NULL;
  static const char *const allowed[] = { "a", "b", NULL };
  const char *bad = NULL;

  json_t *v = cg_json_load_strict ("{\"a\":1,\"a\":2}", 13, &error);
  g_assert_null (v);
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "line 1"));
  g_clear_error (&error);

  v = cg_json_load_strict ("{\"a\":1}\n{}", 11, &error);
  g_assert_null (v);
  g_clear_error (&error);

  /* A parse error says where, never what: the text may be a secret. */
  static const char *const truncated[] = {
    "{\"password\": \"hunter2-secret",
    "{\"password\": hunter2-secret}",
    "{\"d\":\n \"hunter2-secret\" \"x\"}",
    "[\"hunter2-secret\", hunter2-secret]",
    "{\"a\": \"hunter2-secret\xff\"}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (truncated); i++)
    {
      v = cg_json_load_strict (truncated[i], strlen (truncated[i]), &error);
      g_assert_null (v);
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "invalid JSON at line "));
      if (strstr (error->message, "hunter"))
        g_error ("the parse error quotes the input: %s", error->message);
      g_clear_error (&error);
    }

  v = cg_json_load_strict ("{\"a\":1,\"c\":2}", 13, &error);
  g_assert_nonnull (v);
  g_assert_false (cg_json_check_fields (v, allowed, &bad, &error));
  g_assert_cmpstr (bad, ==, "c");
  g_clear_error (&error);
  json_decref (v);

  v = cg_json_load_strict ("[1]", 3, &error);
  g_assert_false (cg_json_check_fields (v, allowed, &bad, &error));
  g_assert_null (bad);
  json_decref (v);
}

static void
test_error_names (void)
{
  g_assert_cmpstr (cg_error_code_name (CG_ERROR_LOCKED), ==, "secret_store_locked");
  g_assert_cmpuint (cg_error_http_status (CG_ERROR_LOCKED), ==, 503);
  g_assert_cmpuint (cg_error_http_status (CG_ERROR_TOO_LARGE), ==, 413);
  g_assert_cmpint (cg_error_code_from_name ("secret_store_unavailable"), ==, CG_ERROR_UNAVAILABLE);
  g_assert_cmpint (cg_error_code_from_name ("no_such"), ==, CG_ERROR_FAILED);
  /* "Cannot reach the agent" is a code of its own, not the secret store's. */
  g_assert_cmpstr (cg_error_code_name (CG_ERROR_AGENT_UNREACHABLE), ==, "agent_unreachable");
  g_assert_cmpint (cg_error_code_from_name ("agent_unreachable"), ==,
                   CG_ERROR_AGENT_UNREACHABLE);
  g_assert_cmpint (CG_ERROR_AGENT_UNREACHABLE, !=, CG_ERROR_UNAVAILABLE);
  /* The cluster's etcd is not the secret store either. */
  g_assert_cmpstr (cg_error_code_name (CG_ERROR_CLUSTER_UNAVAILABLE), ==, "cluster_unavailable");
  g_assert_cmpuint (cg_error_http_status (CG_ERROR_CLUSTER_UNAVAILABLE), ==, 503);
  g_assert_cmpint (cg_error_code_from_name ("cluster_unavailable"), ==,
                   CG_ERROR_CLUSTER_UNAVAILABLE);
}

static void
test_time (void)
{
  g_autofree char *a = cg_time_rfc3339 (1796183598);
  g_autofree char *b = cg_time_human (1796183598);
  g_autofree char *hi = cg_time_rfc3339 (G_MAXINT64);
  g_autofree char *lo = cg_time_human (G_MININT64);
  g_autofree char *now = cg_time_now_rfc3339 ();
  g_assert_cmpstr (a, ==, "2026-12-02T03:53:18Z");
  g_assert_cmpstr (b, ==, "2026-12-02 03:53:18 UTC");
  g_assert_cmpstr (hi, ==, "9999-12-31T23:59:59Z");
  g_assert_cmpstr (lo, ==, "1000-01-01 00:00:00 UTC");
  g_assert_cmpuint (strlen (now), ==, 20);
  g_assert_true (g_str_has_suffix (now, "Z"));
}

static void
test_buf (void)
{
  g_autoptr (CgBuf) b = cg_buf_new_copy ("secret", 6);
  g_assert_cmpuint (b->len, ==, 6);
  g_assert_cmpstr ((char *) b->data, ==, "secret");
  g_assert_true (cg_equal_ct ("abc", "abc", 3));
  g_assert_false (cg_equal_ct ("abc", "abd", 3));
}

static void
test_names (void)
{
  g_assert_true (cg_name_is_valid ("sql-prod_1.eu"));
  g_assert_false (cg_name_is_valid (""));
  g_assert_false (cg_name_is_valid (NULL));
  g_assert_false (cg_name_is_valid ("."));
  g_assert_false (cg_name_is_valid (".."));
  g_assert_false (cg_name_is_valid ("a/b"));
  g_assert_false (cg_name_is_valid ("a b"));
  g_assert_false (cg_name_is_valid ("é"));
  char long_name[130];
  memset (long_name, 'n', 128);
  long_name[128] = '\0';
  g_assert_true (cg_name_is_valid (long_name));
  long_name[128] = 'n';
  long_name[129] = '\0';
  g_assert_false (cg_name_is_valid (long_name));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cg_json_use_wiping_allocator ();
  g_test_add_func ("/common/file/write-atomic-mode", test_write_atomic_mode);
  g_test_add_func ("/common/file/write-atomic-failure", test_write_atomic_failure_keeps_old);
  g_test_add_func ("/common/file/read-capped", test_read_capped);
  g_test_add_func ("/common/json/strict", test_json_strict);
  g_test_add_func ("/common/error/names", test_error_names);
  g_test_add_func ("/common/secure/buf", test_buf);
  g_test_add_func ("/common/time", test_time);
  g_test_add_func ("/protocol/names", test_names);
  return g_test_run ();
}
