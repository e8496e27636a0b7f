/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the vault against a real gnome-keyring (tests/cg-test-env
 * provides one, unlocked) and real SQLite files. */
#include "config.h"

#include "agent/cg-record-seal.h"
#include "agent/cg-vault.h"
#include "common/cg-error.h"
#include "common/cg-json.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

static char *
fresh_state_dir (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("cg-vault-XXXXXX", &error);
  g_assert_no_error (error);
  return g_build_filename (tmp, "state", NULL);
}

static void
test_record_seal (void)
{
  g_autoptr (CgBuf) master = cg_buf_new (32);
  memset (master->data, 7, 32);
  g_autoptr (GError) error = NULL;
  const char secret[] = "{\"password\":\"hunter2\"}";

  g_autoptr (GBytes) blob = cg_record_seal (master, "sql", 3, (const guint8 *) secret,
                                            strlen (secret));
  gsize len;
  const guint8 *data = g_bytes_get_data (blob, &len);
  g_assert_null (memmem (data, len, "hunter2", 7));

  g_autoptr (CgBuf) plain = cg_record_open (master, "sql", 3, data, len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr ((char *) plain->data, ==, secret);

  /* Name and version are bound in; every tampered byte is caught. */
  g_assert_null (cg_record_open (master, "sql2", 3, data, len, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);
  g_assert_null (cg_record_open (master, "sql", 4, data, len, &error));
  g_clear_error (&error);
  g_autofree guint8 *copy = g_memdup2 (data, len);
  for (gsize i = 0; i < len; i++)
    {
      copy[i] ^= 0x01;
      CgBuf *p = cg_record_open (master, "sql", 3, copy, len, NULL);
      g_assert_null (p);
      copy[i] ^= 0x01;
    }
  g_assert_null (cg_record_open (master, "sql", 3, data, 10, &error));
}

static void
test_roundtrip_and_restart (void)
{
  g_autofree char *dir = fresh_state_dir ();
  g_autoptr (GError) error = NULL;

  CgVault *v = cg_vault_open (dir, &error);
  g_assert_no_error (error);
  g_assert_true (cg_vault_keys_ready (v, &error));
  json_auto_t *jwk = cg_vault_sealing_jwk (v, &error);
  g_autofree char *kid = g_strdup (json_string_value (json_object_get (jwk, "kid")));

  json_auto_t *props = json_pack ("{s:s}", "server", "db1");
  json_auto_t *secret = json_pack ("{s:s}", "password", "canary-vault-1");
  json_auto_t *meta = cg_vault_put (v, "sql", "sqlserver", props, secret, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_integer_value (json_object_get (meta, "version")), ==, 1);
  g_assert_null (json_object_get (meta, "secret"));

  json_auto_t *again = cg_vault_put (v, "sql", "sqlserver", props, secret, &error);
  g_assert_cmpint (json_integer_value (json_object_get (again, "version")), ==, 2);

  g_autofree char *jwe = cg_vault_encrypt (v, (const guint8 *) "v", 1, "ls", &error);
  g_assert_no_error (error);
  cg_vault_free (v);

  /* Reopened: same keys, records open. */
  v = cg_vault_open (dir, &error);
  g_assert_no_error (error);
  json_auto_t *jwk2 = cg_vault_sealing_jwk (v, &error);
  g_assert_cmpstr (json_string_value (json_object_get (jwk2, "kid")), ==, kid);
  json_auto_t *rec = cg_vault_resolve (v, "sql", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (json_object_get (rec, "secret"),
                                                       "password")),
                   ==, "canary-vault-1");
  g_autofree char *got_kid = NULL;
  g_autoptr (CgBuf) plain = cg_vault_decrypt (v, jwe, "ls", &got_kid, &error);
  g_assert_no_error (error);
  g_assert_cmpstr ((char *) plain->data, ==, "v");
  g_assert_cmpstr (got_kid, ==, kid);
  cg_vault_free (v);

  /* A record renamed in the database does not open. */
  g_autofree char *db_path = g_build_filename (dir, "state.db", NULL);
  sqlite3 *db;
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "UPDATE credentials SET name = 'moved'", NULL, NULL, NULL),
                   ==, SQLITE_OK);
  sqlite3_close (db);
  v = cg_vault_open (dir, &error);
  json_t *moved = cg_vault_resolve (v, "moved", &error);
  g_assert_null (moved);
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);

  /* Plaintext is nowhere in the files. */
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (db_path, &contents, &len, NULL));
  g_assert_null (memmem (contents, len, "canary-vault-1", 14));
  cg_vault_free (v);
}

static void
test_validation (void)
{
  g_autofree char *dir = fresh_state_dir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CgVault) v = cg_vault_open (dir, &error);
  json_auto_t *props = json_object ();
  json_auto_t *ok_secret = json_string ("s");
  json_auto_t *num = json_integer (1);
  json_auto_t *bad_obj = json_pack ("{s:i}", "pin", 1);

  static const char *bad_names[] = { "", "a/b", "..", "sp ace", NULL };
  for (const char **n = bad_names; *n; n++)
    {
      g_assert_null (cg_vault_put (v, *n, "t", props, ok_secret, &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      g_clear_error (&error);
    }
  g_assert_null (cg_vault_put (v, "a", "", props, ok_secret, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (cg_vault_put (v, "a", "t", props, num, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (cg_vault_put (v, "a", "t", props, bad_obj, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (cg_vault_get (v, "absent", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (cg_vault_delete (v, "absent", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
}

static void
test_tokens (void)
{
  g_autofree char *dir = fresh_state_dir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CgVault) v = cg_vault_open (dir, &error);

  g_autofree char *t = cg_vault_token_create (v, "ci", &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (t, "cgt_"));
  g_autofree char *who = cg_vault_token_check (v, t);
  g_assert_cmpstr (who, ==, "ci");
  g_assert_null (cg_vault_token_check (v, "cgt_nope"));
  g_assert_null (cg_vault_token_check (v, ""));
  g_autofree char *t2 = cg_vault_token_create (v, "ci", &error);
  g_assert_null (t2);
  g_assert_error (error, CG_ERROR, CG_ERROR_EXISTS);
  g_clear_error (&error);

  json_auto_t *list = cg_vault_token_list (v, &error);
  g_assert_cmpuint (json_array_size (list), ==, 1);
  g_autofree char *dump = cg_json_dump (list);
  g_assert_null (strstr (dump, t + 4));

  g_assert_true (cg_vault_token_revoke (v, "ci", &error));
  g_assert_null (cg_vault_token_check (v, t));

  g_autofree char *keyfile = g_build_filename (dir, "token.key", NULL);
  struct stat st;
  g_assert_cmpint (g_stat (keyfile, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* A token key readable by others stops the vault from opening. */
  g_chmod (keyfile, 0644);
  CgVault *v2 = cg_vault_open (dir, &error);
  g_assert_null (v2);
  g_assert_nonnull (strstr (error->message, "chmod 600"));
}

static void
put_many (gpointer data, gpointer user_data)
{
  CgVault *v = user_data;
  json_auto_t *props = json_object ();
  json_auto_t *secret = json_string ("x");
  for (int i = 0; i < 25; i++)
    {
      g_autofree char *name = g_strdup_printf ("t%d-%d", GPOINTER_TO_INT (data), i);
      json_auto_t *m = cg_vault_put (v, name, "t", props, secret, NULL);
      g_assert_nonnull (m);
    }
}

static void
test_concurrent_puts (void)
{
  g_autofree char *dir = fresh_state_dir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CgVault) v = cg_vault_open (dir, &error);
  GThreadPool *pool = g_thread_pool_new (put_many, v, 8, TRUE, NULL);
  for (int t = 1; t <= 8; t++)
    g_thread_pool_push (pool, GINT_TO_POINTER (t), NULL);
  g_thread_pool_free (pool, FALSE, TRUE);
  json_auto_t *list = cg_vault_list (v, &error);
  g_assert_cmpuint (json_array_size (list), ==, 200);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/agent/record-seal", test_record_seal);
  g_test_add_func ("/agent/vault/roundtrip-restart", test_roundtrip_and_restart);
  g_test_add_func ("/agent/vault/validation", test_validation);
  g_test_add_func ("/agent/vault/tokens", test_tokens);
  g_test_add_func ("/agent/vault/concurrent-puts", test_concurrent_puts);
  return g_test_run ();
}
