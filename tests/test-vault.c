/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the vault against a real gnome-keyring (tests/cg-test-env
 * provides one, unlocked, in a private D-Bus session) and real SQLite
 * files.  The keyring is locked and unlocked with tests/keyring-ctl. */
#include "config.h"

#include "tests/cg-test-util.h"

#include "agent/cg-keystore.h"
#include "agent/cg-record-seal.h"
#include "agent/cg-vault.h"
#include "common/cg-error.h"
#include "common/cg-json.h"

#include <glib/gstdio.h>
#include <libsecret/secret.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

/* ---- helpers ------------------------------------------------------------ */

static CgVault *
open_vault (const char *dir)
{
  g_autoptr (GError) error = NULL;
  CgVault *v = cg_vault_open (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (v);
  return v;
}

static char *
db_path (const char *dir)
{
  return g_build_filename (dir, "state.db", NULL);
}

/* Runs SQL on state.db through a connection of its own, as an attacker
 * or an admin with sqlite3 would. */
static void
db_exec (const char *dir, const char *sql)
{
  g_autofree char *path = db_path (dir);
  sqlite3 *db = NULL;
  char *msg = NULL;
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
  sqlite3_close (db);
}

static char *
db_instance (const char *dir)
{
  g_autofree char *path = db_path (dir);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT value FROM meta WHERE key = 'instance'", -1,
                                       &st, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  char *instance = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  sqlite3_close (db);
  return instance;
}

/* Our items in the keyring for one state directory (locked ones too);
 * @kind may be NULL for all. */
static guint
keyring_items (const char *instance, const char *kind)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) attrs = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (attrs, (char *) "instance", (char *) instance);
  if (kind)
    g_hash_table_insert (attrs, (char *) "kind", (char *) kind);
  GList *items = secret_password_searchv_sync (cg_secret_schema_get (), attrs, SECRET_SEARCH_ALL,
                                               NULL, &error);
  g_assert_no_error (error);
  guint n = g_list_length (items);
  g_list_free_full (items, g_object_unref);
  return n;
}

static void
keyring_clear (const char *instance, const char *kind)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) attrs = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (attrs, (char *) "instance", (char *) instance);
  if (kind)
    g_hash_table_insert (attrs, (char *) "kind", (char *) kind);
  g_assert_true (secret_password_clearv_sync (cg_secret_schema_get (), attrs, NULL, &error));
  g_assert_no_error (error);
}

static void
keyring_ctl (const char *command)
{
  const char *top = g_getenv ("top_builddir");
  g_autofree char *prog = top ? g_build_filename (top, "tests", "keyring-ctl", NULL)
                              : g_test_build_filename (G_TEST_BUILT, "keyring-ctl", NULL);
  const char *argv[] = { prog, command, NULL };
  g_autoptr (GError) error = NULL;
  int status = -1;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                               NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_no_error (error);
}

static char *
file_contents (const char *path, gsize *len)
{
  char *contents = NULL;
  *len = 0;
  if (!g_file_get_contents (path, &contents, len, NULL))
    return NULL;
  return contents;
}

static mode_t
file_mode (const char *path)
{
  struct stat st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

static void
assert_keys_error (CgVault *v, gint code, const char *state)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (cg_vault_keys_ready (v, &error));
  g_assert_error (error, CG_ERROR, code);
  g_assert_cmpstr (cg_vault_keys_state_name (v), ==, state);
}

static const char *
sealing_kid (CgVault *v, char **out)
{
  g_autoptr (GError) error = NULL;
  json_auto_t *jwk = cg_vault_sealing_jwk (v, &error);
  g_assert_no_error (error);
  *out = g_strdup (json_string_value (json_object_get (jwk, "kid")));
  g_assert_nonnull (*out);
  return *out;
}

static json_t *
put_string (CgVault *v, const char *name, const char *secret, GError **error)
{
  json_auto_t *props = json_object ();
  json_auto_t *s = json_string (secret);
  return cg_vault_put (v, name, "generic", props, s, error);
}

/* ---- record sealing ------------------------------------------------------ */

static void
test_record_seal (void)
{
  g_autoptr (CgBuf) master = cg_buf_new (32);
  memset (master->data, 7, 32);
  g_autoptr (GError) error = NULL;
  const char secret[] = "{\"password\":\"hunter2\"}";

  g_autoptr (GBytes) blob = cg_record_seal (master, "0", "sql", 3, (const guint8 *) secret,
                                            strlen (secret));
  gsize len;
  const guint8 *data = g_bytes_get_data (blob, &len);
  g_assert_cmpuint (len, ==, 1 + 12 + strlen (secret) + 16);
  g_assert_cmpuint (data[0], ==, 1);
  g_assert_null (memmem (data, len, "hunter2", 7));

  g_autoptr (CgBuf) plain = cg_record_open (master, "0", "sql", 3, data, len, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (plain->data, plain->len, secret, strlen (secret));

  /* A fresh nonce each time. */
  g_autoptr (GBytes) blob2 = cg_record_seal (master, "0", "sql", 3, (const guint8 *) secret,
                                             strlen (secret));
  g_assert_false (g_bytes_equal (blob, blob2));

  /* Name and version are bound in; every tampered byte is caught. */
  g_assert_null (cg_record_open (master, "0", "sql2", 3, data, len, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);
  g_assert_null (cg_record_open (master, "0", "sql", 4, data, len, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);
  /* "sq" + version "13" must not read as "sql" + "3" or the like. */
  g_assert_null (cg_record_open (master, "0", "sq", 13, data, len, NULL));
  g_autofree guint8 *copy = g_memdup2 (data, len);
  for (gsize i = 0; i < len; i++)
    {
      copy[i] ^= 0x01;
      g_assert_null (cg_record_open (master, "0", "sql", 3, copy, len, NULL));
      copy[i] ^= 0x01;
    }
  g_assert_null (cg_record_open (master, "0", "sql", 3, data, 10, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
}

/* A 0x01 blob as every agent wrote before master key ids (made once with
 * python3-cryptography's AESGCM: key 32 x 0x07, nonce 01..0c, AD
 * "credgate-record-v1" NUL "sql" NUL "3") opens as master key "0", and
 * under no other id. */
static void
test_record_seal_v1_vector (void)
{
  static const char hex[] = "010102030405060708090a0b0cc05e98ff19999543975a2024b7cfd62ea080"
                            "23029036ecf0e210026957f422d68aff5d383dbb";
  g_autoptr (CgBuf) master = cg_buf_new (32);
  memset (master->data, 7, 32);
  guint8 blob[sizeof hex / 2];
  for (gsize i = 0; i < sizeof blob; i++)
    blob[i] = (g_ascii_xdigit_value (hex[2 * i]) << 4) | g_ascii_xdigit_value (hex[2 * i + 1]);
  g_autoptr (GError) error = NULL;
  g_autofree char *mkid = cg_record_master_id (blob, sizeof blob);
  g_assert_cmpstr (mkid, ==, "0");
  g_autoptr (CgBuf) plain = cg_record_open (master, "0", "sql", 3, blob, sizeof blob, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (plain->data, plain->len, "{\"password\":\"hunter2\"}", 22);
  g_assert_null (cg_record_open (master, "A1", "sql", 3, blob, sizeof blob, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
}

/* Format 0x02 names its master key id, which is bound into the AD: the
 * blob opens only as that id; with the id bytes swapped for another (of
 * the same or another length, or "0" as a 0x01 blob), under either key, it
 * does not open. */
static void
test_record_seal_v2 (void)
{
  g_autoptr (CgBuf) k1 = cg_buf_new (32);
  g_autoptr (CgBuf) k2 = cg_buf_new (32);
  memset (k1->data, 1, 32);
  memset (k2->data, 2, 32);
  g_autoptr (GError) error = NULL;
  g_autofree char *id1 = cg_record_master_id_new ();
  g_autofree char *id2 = cg_record_master_id_new ();
  g_assert_true (cg_record_master_id_valid (id1));
  g_assert_cmpstr (id1, !=, id2);
  g_assert_cmpstr (id1, !=, "0");
  g_assert_cmpstr (cg_record_master_keyring_kid ("0"), ==, "");
  g_assert_cmpstr (cg_record_master_keyring_kid (id1), ==, id1);
  g_assert_false (cg_record_master_id_valid (""));
  g_assert_false (cg_record_master_id_valid ("a b"));
  g_assert_false (cg_record_master_id_valid ("a/b"));

  g_autoptr (GBytes) blob = cg_record_seal (k1, id1, "db", 2, (const guint8 *) "\"pw\"", 4);
  gsize len;
  const guint8 *data = g_bytes_get_data (blob, &len);
  g_assert_cmpuint (data[0], ==, 2);
  g_assert_cmpuint (data[1], ==, strlen (id1));
  g_assert_cmpmem (data + 2, data[1], id1, strlen (id1));
  g_assert_cmpuint (len, ==, 2 + strlen (id1) + 12 + 4 + 16);
  g_autofree char *named = cg_record_master_id (data, len);
  g_assert_cmpstr (named, ==, id1);

  g_autoptr (CgBuf) plain = cg_record_open (k1, id1, "db", 2, data, len, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (plain->data, plain->len, "\"pw\"", 4);
  /* The wrong key, or the right key asked for another id. */
  g_assert_null (cg_record_open (k2, id1, "db", 2, data, len, NULL));
  g_assert_null (cg_record_open (k1, id2, "db", 2, data, len, NULL));
  g_assert_null (cg_record_open (k1, "0", "db", 2, data, len, NULL));

  /* The id swapped in the blob (same length): neither key opens it. */
  g_autofree guint8 *swapped = g_memdup2 (data, len);
  memcpy (swapped + 2, id2, strlen (id2));
  g_free (named);
  named = cg_record_master_id (swapped, len);
  g_assert_cmpstr (named, ==, id2);
  g_assert_null (cg_record_open (k1, id2, "db", 2, swapped, len, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);
  g_assert_null (cg_record_open (k2, id2, "db", 2, swapped, len, NULL));

  /* Re-framed as a 0x01 blob (id dropped): does not open as "0" either. */
  gsize head = 2 + strlen (id1);
  g_autofree guint8 *v1 = g_malloc (len - head + 1);
  v1[0] = 1;
  memcpy (v1 + 1, data + head, len - head);
  g_assert_null (cg_record_open (k1, "0", "db", 2, v1, len - head + 1, NULL));

  /* Malformed headers: a zero or overlong id length, a bad id, "0" in
   * format 2, a truncated blob. */
  g_autofree guint8 *bad = g_memdup2 (data, len);
  bad[1] = 0;
  g_assert_null (cg_record_master_id (bad, len));
  bad[1] = 200;
  g_assert_null (cg_record_master_id (bad, len));
  bad[1] = data[1];
  bad[2] = '/';
  g_assert_null (cg_record_master_id (bad, len));
  guint8 zero[2 + 1 + 12 + 16] = { 2, 1, '0' };
  g_assert_null (cg_record_master_id (zero, sizeof zero));
  g_assert_null (cg_record_master_id (data, head + 12 + 15));
  g_assert_null (cg_record_open (k1, id1, "db", 2, data, head + 12 + 15, NULL));
}

/* ---- keys --------------------------------------------------------------- */

static void
test_first_open (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
  g_autoptr (GError) error = NULL;
  g_autoptr (CgVault) v = open_vault (dir);

  g_assert_cmpint (file_mode (dir), ==, 0700);
  g_autofree char *path = db_path (dir);
  g_assert_cmpint (file_mode (path), ==, 0600);

  /* Opening alone makes no keys; the first key-needing call does. */
  g_autofree char *instance = db_instance (dir);
  g_assert_cmpuint (strlen (instance), ==, 32);
  g_assert_cmpuint (keyring_items (instance, NULL), ==, 0);

  g_assert_true (cg_vault_keys_ready (v, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (cg_vault_keys_state_name (v), ==, "ready");
  g_assert_cmpuint (keyring_items (instance, "master"), ==, 1);
  g_assert_cmpuint (keyring_items (instance, "seal"), ==, 1);
  /* The client CA's key is made with them (issue 12). */
  g_assert_cmpuint (keyring_items (instance, "clientca"), ==, 1);

  g_autofree char *kid = NULL;
  sealing_kid (v, &kid);
  json_auto_t *status = cg_vault_status (v);
  g_assert_cmpstr (json_string_value (json_object_get (status, "keys")), ==, "ready");
  g_assert_cmpstr (json_string_value (json_object_get (status, "kid")), ==, kid);
  g_assert_cmpstr (json_string_value (json_object_get (status, "stateDir")), ==, dir);
  /* The old snake_case name, kept for one release. */
  g_assert_cmpstr (json_string_value (json_object_get (status, "state_dir")), ==, dir);
  g_assert_cmpint (json_integer_value (json_object_get (status, "credentials")), ==, 0);
  g_assert_cmpint (json_integer_value (json_object_get (status, "tokens")), ==, 0);

  /* A state directory made by someone else's tooling with a loose mode is
   * tightened; a file in its place is refused. */
  g_autofree char *loose = cg_test_fresh_state_dir ("cg-vault");
  g_assert_cmpint (g_mkdir (loose, 0755), ==, 0);
  CgVault *v2 = open_vault (loose);
  g_assert_cmpint (file_mode (loose), ==, 0700);
  cg_vault_free (v2);
  g_autofree char *not_dir = cg_test_fresh_state_dir ("cg-vault");
  g_assert_true (g_file_set_contents (not_dir, "", 0, NULL));
  g_assert_null (cg_vault_open (not_dir, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_clear_error (&error);

  /* The kid in the keyring attributes is the public JWK's. */
  g_autoptr (GHashTable) attrs = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (attrs, (char *) "instance", instance);
  g_hash_table_insert (attrs, (char *) "kind", (char *) "seal");
  g_hash_table_insert (attrs, (char *) "kid", kid);
  GList *items = secret_password_searchv_sync (cg_secret_schema_get (), attrs, SECRET_SEARCH_ALL,
                                               NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_length (items), ==, 1);
  g_list_free_full (items, g_object_unref);
}

static void
test_records (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
  g_autoptr (GError) error = NULL;
  g_autoptr (CgVault) v = open_vault (dir);

  json_auto_t *props = json_pack ("{s:s, s:i}", "server", "db1", "port", 1433);
  json_auto_t *secret = json_pack ("{s:s, s:s}", "password", "canary-vault-obj",
                                   "key", "second-canary-value");
  json_auto_t *meta = cg_vault_put (v, "sql", "sqlserver", props, secret, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (meta, "name")), ==, "sql");
  g_assert_cmpstr (json_string_value (json_object_get (meta, "type")), ==, "sqlserver");
  g_assert_true (json_equal (json_object_get (meta, "properties"), props));
  g_assert_cmpint (json_integer_value (json_object_get (meta, "version")), ==, 1);
  g_assert_null (json_object_get (meta, "secret"));
  const char *created = json_string_value (json_object_get (meta, "created"));
  g_assert_true (g_regex_match_simple ("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$", created, 0,
                                       0));

  json_auto_t *got = cg_vault_get (v, "sql", &error);
  g_assert_no_error (error);
  g_assert_true (json_equal (got, meta));

  json_auto_t *plain_secret = json_string ("canary-vault-str");
  json_auto_t *empty = json_object ();
  json_auto_t *m2 = cg_vault_put (v, "api", "rest.key-1", empty, plain_secret, &error);
  g_assert_no_error (error);

  json_auto_t *list = cg_vault_list (v, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_size (list), ==, 2);
  g_assert_cmpstr (json_string_value (json_object_get (json_array_get (list, 0), "name")), ==,
                   "api");
  g_autofree char *dump = cg_json_dump (list);
  g_assert_null (strstr (dump, "canary"));
  g_assert_null (strstr (dump, "secret"));

  json_auto_t *rec = cg_vault_resolve (v, "sql", &error);
  g_assert_no_error (error);
  g_assert_true (json_equal (json_object_get (rec, "secret"), secret));
  json_auto_t *rec2 = cg_vault_resolve (v, "api", &error);
  g_assert_no_error (error);
  g_assert_true (json_equal (json_object_get (rec2, "secret"), plain_secret));

  /* Replace: version 2, created kept, new secret. */
  json_auto_t *secret2 = json_pack ("{s:s}", "password", "canary-vault-new");
  json_auto_t *again = cg_vault_put (v, "sql", "sqlserver", props, secret2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_integer_value (json_object_get (again, "version")), ==, 2);
  g_assert_cmpstr (json_string_value (json_object_get (again, "created")), ==, created);
  json_auto_t *rec3 = cg_vault_resolve (v, "sql", &error);
  g_assert_no_error (error);
  g_assert_true (json_equal (json_object_get (rec3, "secret"), secret2));
  g_assert_cmpint (json_integer_value (json_object_get (rec3, "version")), ==, 2);

  /* No plaintext in the database, its WAL or its shared memory, read while
   * the vault is open (the WAL holds the latest pages then). */
  static const char *const suffixes[] = { "", "-wal", "-shm" };
  gboolean saw_wal = FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *path = g_strconcat (dir, "/state.db", suffixes[i], NULL);
      gsize len;
      g_autofree char *bytes = file_contents (path, &len);
      if (!bytes)
        continue;
      if (i == 1)
        saw_wal = len > 0;
      g_assert_cmpint (file_mode (path), ==, 0600);
      g_assert_null (memmem (bytes, len, "canary-vault", 12));
      g_assert_null (memmem (bytes, len, "second-canary", 13));
      /* ...but the metadata is there, so the test reads the right bytes. */
      if (i == 1)
        g_assert_nonnull (memmem (bytes, len, "sqlserver", 9));
    }
  g_assert_true (saw_wal);

  /* Delete. */
  g_assert_true (cg_vault_delete (v, "sql", &error));
  g_assert_no_error (error);
  g_assert_null (cg_vault_get (v, "sql", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (cg_vault_resolve (v, "sql", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (cg_vault_delete (v, "sql", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  json_auto_t *list2 = cg_vault_list (v, &error);
  g_assert_cmpuint (json_array_size (list2), ==, 1);

  /* A new record under the old name starts again at version 1. */
  json_auto_t *m3 = put_string (v, "sql", "x", &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_integer_value (json_object_get (m3, "version")), ==, 1);
}

static void
test_restart (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
  g_autoptr (GError) error = NULL;

  CgVault *v = open_vault (dir);
  g_autofree char *kid = NULL;
  sealing_kid (v, &kid);
  json_auto_t *meta = put_string (v, "sql", "canary-restart", &error);
  g_assert_no_error (error);
  g_autofree char *jwe = cg_vault_encrypt (v, (const guint8 *) "v", 1, "ls", &error);
  g_assert_no_error (error);
  g_autofree char *token = cg_vault_token_create (v, "ci", &error);
  g_assert_no_error (error);
  cg_vault_free (v);

  g_autofree char *instance = db_instance (dir);
  /* master, seal and the client CA. */
  g_assert_cmpuint (keyring_items (instance, NULL), ==, 3);

  /* Reopened: same keys, records and values open, tokens still valid, no
   * new keyring items. */
  v = open_vault (dir);
  g_autofree char *kid2 = NULL;
  g_assert_cmpstr (sealing_kid (v, &kid2), ==, kid);
  json_auto_t *rec = cg_vault_resolve (v, "sql", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (rec, "secret")), ==, "canary-restart");
  g_autofree char *got_kid = NULL;
  g_autoptr (CgBuf) plain = cg_vault_decrypt (v, jwe, "ls", &got_kid, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (plain->data, plain->len, "v", 1);
  g_assert_cmpstr (got_kid, ==, kid);
  g_autofree char *who = cg_vault_token_check (v, token);
  g_assert_cmpstr (who, ==, "ci");
  g_assert_cmpuint (keyring_items (instance, NULL), ==, 3);
  cg_vault_free (v);
}

static void
test_moved_record (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
  g_autoptr (GError) error = NULL;
  g_autoptr (CgVault) v = open_vault (dir);
  json_auto_t *a = put_string (v, "a", "secret-a", &error);
  json_auto_t *b = put_string (v, "b", "secret-b", &error);
  g_assert_no_error (error);

  /* Renamed, version changed, or another record's blob swapped in: none
   * opens, and each failure is the same opaque one. */
  db_exec (dir, "UPDATE credentials SET name = 'moved' WHERE name = 'a'");
  json_t *moved = cg_vault_resolve (v, "moved", &error);
  g_assert_null (moved);
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);

  db_exec (dir, "UPDATE credentials SET version = 2 WHERE name = 'b'");
  g_assert_null (cg_vault_resolve (v, "b", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);

  json_auto_t *c = put_string (v, "c", "secret-c", &error);
  json_auto_t *d = put_string (v, "d", "secret-d", &error);
  g_assert_no_error (error);
  db_exec (dir, "UPDATE credentials SET sealed = (SELECT sealed FROM credentials WHERE name = 'c')"
                " WHERE name = 'd'");
  g_assert_null (cg_vault_resolve (v, "d", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);
  json_auto_t *rc = cg_vault_resolve (v, "c", &error);
  g_assert_no_error (error);
}

/* Locked before any key exists: nothing is created, and unlocking is
 * enough for the same vault to make its keys. */
static void
test_locked_fresh (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
  g_autoptr (GError) error = NULL;

  keyring_ctl ("lock");
  g_autoptr (CgVault) v = open_vault (dir);
  g_autofree char *instance = db_instance (dir);

  g_assert_false (cg_vault_keys_ready (v, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_LOCKED);
  g_assert_cmpstr (error->message, ==, "the secret store is locked");
  g_clear_error (&error);
  g_assert_cmpstr (cg_vault_keys_state_name (v), ==, "locked");
  g_assert_null (put_string (v, "a", "x", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_null (cg_vault_encrypt (v, (const guint8 *) "v", 1, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_null (cg_vault_sealing_jwk (v, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_LOCKED);
  g_clear_error (&error);
  json_auto_t *status = cg_vault_status (v);
  g_assert_cmpstr (json_string_value (json_object_get (status, "keys")), ==, "locked");
  g_assert_true (json_is_null (json_object_get (status, "kid")));

  /* Tokens and listing need no keyring. */
  g_autofree char *token = cg_vault_token_create (v, "while-locked", &error);
  g_assert_no_error (error);
  g_autofree char *who = cg_vault_token_check (v, token);
  g_assert_cmpstr (who, ==, "while-locked");
  json_auto_t *list = cg_vault_list (v, &error);
  g_assert_no_error (error);

  keyring_ctl ("unlock");
  g_assert_cmpuint (keyring_items (instance, NULL), ==, 0);

  /* The same vault, no reopen, no main loop needed; the client CA is made
   * with the other keys, only now. */
  g_assert_true (cg_vault_keys_ready (v, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (keyring_items (instance, NULL), ==, 3);
  json_auto_t *meta = put_string (v, "a", "x", &error);
  g_assert_no_error (error);
}

/* Does the vault reach the wanted state (keys ready, or LOCKED) within a
 * few seconds, iterating the main context that delivers the keyring's
 * signals (the agent's main loop does that)?  Under ASan or valgrind the
 * signals come late, so a single look would be a race. */
static gboolean
becomes (CgVault *v, gboolean want_ready)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (GError) error = NULL;
      while (g_main_context_iteration (NULL, FALSE))
        ;
      gboolean ready = cg_vault_keys_ready (v, &error);
      if (!ready)
        g_assert_error (error, CG_ERROR, CG_ERROR_LOCKED);
      if (ready == want_ready)
        return TRUE;
      g_usleep (10000);
    }
  return FALSE;
}

/* Locked while keys are loaded: they are dropped from memory (an admin who
 * locks the keyring means "stop"), noticed from the collection's signals,
 * and the same vault recovers on unlock. */
static void
test_locked_after_load (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
  g_autoptr (GError) error = NULL;
  g_autoptr (CgVault) v = open_vault (dir);
  g_autofree char *kid = NULL;
  sealing_kid (v, &kid);
  json_auto_t *meta = put_string (v, "a", "secret-a", &error);
  g_assert_no_error (error);

  /* While nothing changes, the keys are served with no D-Bus traffic: the
   * keystore's generation stays put across many calls. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  guint generation = cg_keystore_generation ();
  for (int i = 0; i < 100; i++)
    g_assert_true (cg_vault_keys_ready (v, NULL));
  g_assert_cmpuint (cg_keystore_generation (), ==, generation);

  keyring_ctl ("lock");
  /* A lookup of a locked item says so at once: no prompt, no "not found". */
  g_autofree char *instance = db_instance (dir);
  g_assert_null (cg_keystore_lookup (instance, "master", "", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_null (cg_keystore_lookup (instance, "seal", kid, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_true (becomes (v, FALSE));
  g_assert_cmpstr (cg_vault_keys_state_name (v), ==, "locked");
  g_assert_null (cg_vault_resolve (v, "a", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_LOCKED);
  g_clear_error (&error);
  json_auto_t *status = cg_vault_status (v);
  g_assert_cmpstr (json_string_value (json_object_get (status, "keys")), ==, "locked");

  keyring_ctl ("unlock");
  g_assert_true (becomes (v, TRUE));
  g_autofree char *kid2 = NULL;
  g_assert_cmpstr (sealing_kid (v, &kid2), ==, kid);
  json_auto_t *rec = cg_vault_resolve (v, "a", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (rec, "secret")), ==, "secret-a");
}

/* Keys recorded in the database but gone from an unlocked keyring:
 * reported, never re-created (that would orphan every sealed value). */
static void
test_keys_missing (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
  g_autoptr (GError) error = NULL;
  CgVault *v = open_vault (dir);
  json_auto_t *meta = put_string (v, "a", "secret-a", &error);
  g_assert_no_error (error);
  cg_vault_free (v);
  g_autofree char *instance = db_instance (dir);

  keyring_clear (instance, "seal");
  v = open_vault (dir);
  assert_keys_error (v, CG_ERROR_KEYS_MISSING, "keys_missing");
  g_assert_cmpuint (keyring_items (instance, "seal"), ==, 0);
  cg_vault_free (v);

  keyring_clear (instance, NULL);
  v = open_vault (dir);
  assert_keys_error (v, CG_ERROR_KEYS_MISSING, "keys_missing");
  g_assert_null (put_string (v, "b", "x", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING);
  g_clear_error (&error);
  g_assert_null (cg_vault_resolve (v, "a", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING);
  g_clear_error (&error);
  g_assert_cmpuint (keyring_items (instance, NULL), ==, 0);
  /* Metadata still lists. */
  json_auto_t *list = cg_vault_list (v, &error);
  g_assert_cmpuint (json_array_size (list), ==, 1);
  cg_vault_free (v);
}

/* No Secret Service at all.  libsecret keeps its service per process, so
 * this runs in a child that never met the real one. */
static void
test_no_secret_service (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
      g_autoptr (GError) error = NULL;
      g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus", TRUE);
      g_autoptr (CgVault) v = open_vault (dir);
      assert_keys_error (v, CG_ERROR_UNAVAILABLE, "unavailable");
      g_assert_null (put_string (v, "a", "x", &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_UNAVAILABLE);
      g_clear_error (&error);
      g_autofree char *token = cg_vault_token_create (v, "ci", &error);
      g_assert_no_error (error);
      json_auto_t *status = cg_vault_status (v);
      g_assert_cmpstr (json_string_value (json_object_get (status, "keys")), ==, "unavailable");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* ---- input checks ------------------------------------------------------- */

static void
test_validation (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
  g_autoptr (GError) error = NULL;
  g_autoptr (CgVault) v = open_vault (dir);
  json_auto_t *props = json_object ();
  json_auto_t *ok_secret = json_string ("s");
  g_autofree char *long_name = g_strnfill (129, 'n');
  g_autofree char *max_name = g_strnfill (128, 'n');
  g_autofree char *long_type = g_strnfill (65, 't');
  g_autofree char *max_type = g_strnfill (64, 't');

  const char *bad_names[] = { "", "a/b", "..", "sp ace", "ü", "a\nb", long_name, NULL };
  for (const char **n = bad_names; *n; n++)
    {
      g_assert_null (cg_vault_put (v, *n, "t", props, ok_secret, &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      g_clear_error (&error);
      g_assert_null (cg_vault_get (v, *n, &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      g_clear_error (&error);
      g_assert_null (cg_vault_resolve (v, *n, &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      g_clear_error (&error);
      g_assert_false (cg_vault_delete (v, *n, &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      g_clear_error (&error);
      g_assert_null (cg_vault_token_create (v, *n, &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      g_clear_error (&error);
      g_assert_false (cg_vault_token_revoke (v, *n, &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      g_clear_error (&error);
    }

  const char *bad_types[] = { "", "a b", "a/b", "tÿpe", long_type, NULL };
  for (const char **t = bad_types; *t; t++)
    {
      g_assert_null (cg_vault_put (v, "a", *t, props, ok_secret, &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "\"type\""));
      g_clear_error (&error);
    }
  g_assert_null (cg_vault_put (v, "a", NULL, props, ok_secret, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);

  json_t *bad_secrets[] = {
    json_integer (1), json_null (), json_true (), json_array (), json_object (),
    json_pack ("{s:i}", "pin", 1), json_pack ("{s:s, s:{}}", "a", "b", "c"),
    json_pack ("[s]", "x"),
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad_secrets); i++)
    {
      g_assert_null (cg_vault_put (v, "a", "t", props, bad_secrets[i], &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "\"secret\""));
      g_clear_error (&error);
      json_decref (bad_secrets[i]);
    }
  g_assert_null (cg_vault_put (v, "a", "t", NULL, ok_secret, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);
  json_auto_t *arr = json_array ();
  g_assert_null (cg_vault_put (v, "a", "t", arr, ok_secret, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "\"properties\""));
  g_clear_error (&error);

  /* Properties are bounded. */
  g_autofree char *big = g_strnfill (64 * 1024, 'p');
  json_auto_t *big_props = json_pack ("{s:s}", "blob", big);
  g_assert_null (cg_vault_put (v, "a", "t", big_props, ok_secret, &error));
  g_assert_nonnull (error);
  g_assert_true (error->code == CG_ERROR_TOO_LARGE || error->code == CG_ERROR_INVALID);
  g_clear_error (&error);

  /* Nothing above was stored; the limits themselves are fine. */
  json_auto_t *list = cg_vault_list (v, &error);
  g_assert_cmpuint (json_array_size (list), ==, 0);
  json_auto_t *m = cg_vault_put (v, max_name, max_type, props, ok_secret, &error);
  g_assert_no_error (error);
  json_auto_t *utf8 = json_pack ("{s:s}", "password", "pässwörd \"quoted\"");
  json_auto_t *m2 = cg_vault_put (v, "utf8", "t", props, utf8, &error);
  g_assert_no_error (error);
  json_auto_t *rec = cg_vault_resolve (v, "utf8", &error);
  g_assert_true (json_equal (json_object_get (rec, "secret"), utf8));

  g_assert_null (cg_vault_get (v, "absent", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (cg_vault_delete (v, "absent", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
}

/* A write the database refuses (here a trigger; in life a full disk)
 * leaves the previous state whole and the connection usable. */
static void
test_storage_failure (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
  g_autoptr (GError) error = NULL;
  g_autoptr (CgVault) v = open_vault (dir);
  json_auto_t *m1 = put_string (v, "a", "first", &error);
  g_assert_no_error (error);

  db_exec (dir, "CREATE TRIGGER fail BEFORE INSERT ON credentials"
                " BEGIN SELECT RAISE(ABORT, 'simulated failure'); END;");
  g_assert_null (put_string (v, "a", "second", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_clear_error (&error);
  g_assert_null (put_string (v, "b", "x", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_clear_error (&error);

  json_auto_t *rec = cg_vault_resolve (v, "a", &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_integer_value (json_object_get (rec, "version")), ==, 1);
  g_assert_cmpstr (json_string_value (json_object_get (rec, "secret")), ==, "first");
  json_auto_t *list = cg_vault_list (v, &error);
  g_assert_cmpuint (json_array_size (list), ==, 1);

  db_exec (dir, "DROP TRIGGER fail");
  json_auto_t *m2 = put_string (v, "a", "second", &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_integer_value (json_object_get (m2, "version")), ==, 2);
}

/* ---- tokens ------------------------------------------------------------- */

static void
test_tokens (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
  g_autoptr (GError) error = NULL;
  g_autoptr (CgVault) v = open_vault (dir);

  g_autofree char *t = cg_vault_token_create (v, "ci", &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (t, "cgt_"));
  g_assert_cmpuint (strlen (t), ==, 4 + 43);
  g_assert_true (g_regex_match_simple ("^cgt_[A-Za-z0-9_-]{43}$", t, 0, 0));
  g_autofree char *other = cg_vault_token_create (v, "other", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (t, !=, other);

  g_autofree char *who = cg_vault_token_check (v, t);
  g_assert_cmpstr (who, ==, "ci");
  g_autofree char *who2 = cg_vault_token_check (v, other);
  g_assert_cmpstr (who2, ==, "other");

  /* Wrong and malformed tokens. */
  g_autofree char *wrong = g_strdup (t);
  wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
  g_autofree char *longer = g_strconcat (t, "A", NULL);
  g_autofree char *shorter = g_strndup (t, strlen (t) - 1);
  g_autofree char *prefix = g_strdup (t);
  prefix[0] = 'x';
  g_autofree char *huge = g_strnfill (100000, 'A');
  const char *bad[] = { "", "cgt_", "cgt_nope", wrong, longer, shorter, prefix, huge, t + 4,
                        "Bearer x", NULL };
  for (const char **b = bad; *b; b++)
    g_assert_null (cg_vault_token_check (v, *b));

  g_autofree char *t2 = cg_vault_token_create (v, "ci", &error);
  g_assert_null (t2);
  g_assert_error (error, CG_ERROR, CG_ERROR_EXISTS);
  g_clear_error (&error);

  json_auto_t *list = cg_vault_token_list (v, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_size (list), ==, 2);
  json_t *first = json_array_get (list, 0);
  g_assert_cmpstr (json_string_value (json_object_get (first, "name")), ==, "ci");
  g_assert_nonnull (json_string_value (json_object_get (first, "created")));
  g_assert_nonnull (json_string_value (json_object_get (first, "last_used")));
  g_autofree char *dump = cg_json_dump (list);
  g_assert_null (strstr (dump, t + 4));
  g_assert_null (strstr (dump, "hmac"));

  /* Only the HMAC is on disk. */
  g_autofree char *path = db_path (dir);
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *p = g_strconcat (path, i ? "-wal" : "", NULL);
      gsize len;
      g_autofree char *bytes = file_contents (p, &len);
      if (bytes)
        g_assert_null (memmem (bytes, len, t + 4, 20));
    }

  /* Revocation takes effect on the next check. */
  g_assert_true (cg_vault_token_revoke (v, "ci", &error));
  g_assert_no_error (error);
  g_assert_null (cg_vault_token_check (v, t));
  g_assert_false (cg_vault_token_revoke (v, "ci", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_autofree char *who3 = cg_vault_token_check (v, other);
  g_assert_cmpstr (who3, ==, "other");

  /* The name can be reused; the old token stays dead. */
  g_autofree char *t3 = cg_vault_token_create (v, "ci", &error);
  g_assert_no_error (error);
  g_assert_null (cg_vault_token_check (v, t));
}

static void
test_token_key_file (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
  g_autoptr (GError) error = NULL;
  CgVault *v = open_vault (dir);
  g_autofree char *token = cg_vault_token_create (v, "ci", &error);
  g_assert_no_error (error);
  cg_vault_free (v);

  g_autofree char *keyfile = g_build_filename (dir, "token.key", NULL);
  g_assert_cmpint (file_mode (keyfile), ==, 0600);
  gsize len;
  g_autofree char *key = file_contents (keyfile, &len);
  g_assert_cmpuint (len, ==, 32);

  /* A token key readable by others stops the vault from opening, and
   * says how to fix it. */
  g_chmod (keyfile, 0640);
  g_assert_null (cg_vault_open (dir, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "chmod 600"));
  g_clear_error (&error);
  g_chmod (keyfile, 0600);

  /* One of the wrong size is refused, not replaced. */
  g_assert_true (g_file_set_contents (keyfile, "short", 5, NULL));
  g_chmod (keyfile, 0600);
  g_assert_null (cg_vault_open (dir, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "token.key"));
  g_clear_error (&error);

  /* Restored: the token is valid again. */
  g_assert_true (g_file_set_contents (keyfile, key, len, NULL));
  g_chmod (keyfile, 0600);
  v = open_vault (dir);
  g_autofree char *who = cg_vault_token_check (v, token);
  g_assert_cmpstr (who, ==, "ci");
  cg_vault_free (v);
}

/* ---- EncryptedCredential ------------------------------------------------ */

static void
test_encrypt (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
  g_autoptr (GError) error = NULL;
  g_autoptr (CgVault) v = open_vault (dir);
  g_autofree char *kid = NULL;
  sealing_kid (v, &kid);
  const char value[] = "Server=db;Password=canary-jwe";

  g_autofree char *jwe = cg_vault_encrypt (v, (const guint8 *) value, strlen (value), "ls-1",
                                           &error);
  g_assert_no_error (error);
  g_assert_null (strstr (jwe, "canary"));
  g_autofree char *got_kid = NULL;
  g_autoptr (CgBuf) plain = cg_vault_decrypt (v, jwe, "ls-1", &got_kid, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (plain->data, plain->len, value, strlen (value));
  g_assert_cmpstr (got_kid, ==, kid);

  /* Another ctx: one opaque failure. */
  g_autofree char *kid2 = NULL;
  g_assert_null (cg_vault_decrypt (v, jwe, "ls-2", &kid2, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_assert_null (kid2);
  g_clear_error (&error);

  /* Bound to ls-1 and no ctx named: refused, and rewrap alike. */
  g_assert_null (cg_vault_decrypt (v, jwe, NULL, &kid2, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_assert_null (kid2);
  g_clear_error (&error);
  g_assert_null (cg_vault_rewrap (v, jwe, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);
  g_assert_null (cg_vault_rewrap (v, jwe, "ls-2", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);
  g_autofree char *rewrapped = cg_vault_rewrap (v, jwe, "ls-1", &error);
  g_assert_no_error (error);
  g_autoptr (CgBuf) plain3 = cg_vault_decrypt (v, rewrapped, "ls-1", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (plain3->data, plain3->len, value, strlen (value));

  /* No ctx: opens only when none is named. */
  g_autofree char *bare = cg_vault_encrypt (v, (const guint8 *) "x", 1, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (CgBuf) plain2 = cg_vault_decrypt (v, bare, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (plain2->data, plain2->len, "x", 1);
  g_assert_null (cg_vault_decrypt (v, bare, "ls-1", NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);
  g_assert_null (cg_vault_rewrap (v, bare, "ls-1", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);

  /* Tampered ciphertext. */
  g_autofree char *tampered = g_strdup (jwe);
  char *last_dot = strrchr (tampered, '.');
  char *c = last_dot - 2;
  *c = *c == 'A' ? 'B' : 'A';
  g_assert_null (cg_vault_decrypt (v, tampered, "ls-1", NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* Sealed to a key this agent does not hold. */
  g_autoptr (CgSealKey) foreign = cg_seal_key_generate (&error);
  g_assert_no_error (error);
  g_autofree char *alien = cg_jwe_seal (foreign, "ls-1", (const guint8 *) "x", 1, &error);
  g_assert_no_error (error);
  g_assert_null (cg_vault_decrypt (v, alien, "ls-1", NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);

  /* Garbage. */
  g_assert_null (cg_vault_decrypt (v, "not.a.jwe", NULL, NULL, &error));
  g_assert_nonnull (error);
}

/* ---- threads ------------------------------------------------------------ */

#define N_THREADS 8
#define N_PUTS 50

static void
put_many (gpointer data, gpointer user_data)
{
  CgVault *v = user_data;
  json_auto_t *props = json_object ();
  for (int i = 0; i < N_PUTS; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *name = g_strdup_printf ("t%d-%d", GPOINTER_TO_INT (data), i);
      json_auto_t *secret = json_string (name);
      json_auto_t *m = cg_vault_put (v, name, "t", props, secret, &error);
      g_assert_no_error (error);
      g_assert_nonnull (m);
      /* Replaces of one shared name race too; versions must not repeat. */
      json_auto_t *shared = cg_vault_put (v, "shared", "t", props, secret, &error);
      g_assert_no_error (error);
    }
}

static void
test_concurrent_puts (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cg-vault");
  g_autoptr (GError) error = NULL;
  g_autoptr (CgVault) v = open_vault (dir);
  GThreadPool *pool = g_thread_pool_new (put_many, v, N_THREADS, TRUE, NULL);
  for (int t = 1; t <= N_THREADS; t++)
    g_thread_pool_push (pool, GINT_TO_POINTER (t), NULL);
  g_thread_pool_free (pool, FALSE, TRUE);

  json_auto_t *list = cg_vault_list (v, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_size (list), ==, N_THREADS * N_PUTS + 1);
  for (int t = 1; t <= N_THREADS; t++)
    for (int i = 0; i < N_PUTS; i += 7)
      {
        g_autofree char *name = g_strdup_printf ("t%d-%d", t, i);
        json_auto_t *rec = cg_vault_resolve (v, name, &error);
        g_assert_no_error (error);
        g_assert_cmpstr (json_string_value (json_object_get (rec, "secret")), ==, name);
      }
  json_auto_t *shared = cg_vault_resolve (v, "shared", &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_integer_value (json_object_get (shared, "version")), ==,
                   N_THREADS * N_PUTS);
}

int
main (int argc, char **argv)
{
  /* The files' modes must come from the vault, not from a kind umask. */
  umask (022);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/agent/vault/record-seal", test_record_seal);
  g_test_add_func ("/agent/vault/record-seal/v1-vector", test_record_seal_v1_vector);
  g_test_add_func ("/agent/vault/record-seal/v2-master-id", test_record_seal_v2);
  g_test_add_func ("/agent/vault/first-open", test_first_open);
  g_test_add_func ("/agent/vault/records", test_records);
  g_test_add_func ("/agent/vault/restart", test_restart);
  g_test_add_func ("/agent/vault/moved-record", test_moved_record);
  g_test_add_func ("/agent/vault/locked-fresh", test_locked_fresh);
  g_test_add_func ("/agent/vault/locked-after-load", test_locked_after_load);
  g_test_add_func ("/agent/vault/keys-missing", test_keys_missing);
  g_test_add_func ("/agent/vault/no-secret-service", test_no_secret_service);
  g_test_add_func ("/agent/vault/validation", test_validation);
  g_test_add_func ("/agent/vault/storage-failure", test_storage_failure);
  g_test_add_func ("/agent/vault/tokens", test_tokens);
  g_test_add_func ("/agent/vault/token-key-file", test_token_key_file);
  g_test_add_func ("/agent/vault/encrypt", test_encrypt);
  g_test_add_func ("/agent/vault/concurrent-puts", test_concurrent_puts);
  return g_test_run ();
}
