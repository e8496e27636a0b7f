/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The contract of CgVaultStore (agent/cg-vault-store.h), against its
 * SQLite implementation on a real state database: the shared checks
 * (tests/cg-vault-store-contract.c, which the etcd store passes too) and
 * what only SQLite has (a full disk). */
#include "config.h"

#include "agent/cg-db.h"
#include "agent/cg-vault-store.h"
#include "common/cg-error.h"
#include "tests/cg-test-util.h"
#include "tests/cg-vault-store-contract.h"

#include <string.h>

typedef struct
{
  char *dir;
  sqlite3 *db;
  CgVaultStore *store;
  const CgVaultStoreOps *ops;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  f->dir = cg_test_make_tmpdir ("cg-vault-store");
  g_autofree char *path = g_build_filename (f->dir, "state.db", NULL);
  f->db = cg_db_open (path, &error);
  g_assert_no_error (error);
  f->store = cg_vault_store_sqlite_new (f->db);
  f->ops = f->store->ops;
}

static void
teardown (Fixture *f, gconstpointer data)
{
  (void) data;
  f->ops->free (f->store);
  sqlite3_close (f->db);
  cg_test_rm_rf (f->dir);
  g_free (f->dir);
}

static void
test_records (Fixture *f, gconstpointer data)
{
  (void) data;
  cg_test_store_contract_records (f->store);
}

static void
test_keys (Fixture *f, gconstpointer data)
{
  (void) data;
  cg_test_store_contract_keys (f->store);
}

static void
test_tokens (Fixture *f, gconstpointer data)
{
  (void) data;
  cg_test_store_contract_tokens (f->store);
}

static void
test_meta (Fixture *f, gconstpointer data)
{
  (void) data;
  cg_test_store_contract_meta (f->store);
}

static void
test_record_reseal (Fixture *f, gconstpointer data)
{
  (void) data;
  cg_test_store_contract_reseal (f->store);
}

static void
test_clients (Fixture *f, gconstpointer data)
{
  (void) data;
  cg_test_store_contract_clients (f->store);
}

/* A full disk during a put: the error says so, and the record is as it
 * was (version 1, its bytes), not half-replaced. */
static void
test_record_put_full (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  CgTestSeal s = { 0 };
  json_auto_t *m1 = f->ops->record_put (f->store, "db1", "sql", "{}", "2026-01-01T00:00:00Z",
                                        cg_test_store_seal_cb, &s, &error);
  g_assert_no_error (error);
  g_assert_true (cg_db_exec (f->db, "PRAGMA wal_checkpoint(TRUNCATE)", &error));
  sqlite3_stmt *st = cg_db_prepare (f->db, "PRAGMA page_count", &error);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  g_autofree char *cap = g_strdup_printf ("PRAGMA max_page_count = %d",
                                          sqlite3_column_int (st, 0));
  sqlite3_finalize (st);
  g_assert_true (cg_db_exec (f->db, cap, &error));

  g_autofree char *big = g_strnfill (64 * 1024, 'p');
  g_autofree char *props = g_strdup_printf ("{\"pad\":\"%s\"}", big);
  g_assert_null (f->ops->record_put (f->store, "db1", "sql", props, "2026-02-01T00:00:00Z",
                                     cg_test_store_seal_cb, &s, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "the disk is full"));
  g_clear_error (&error);

  g_autoptr (GBytes) sealed = NULL;
  json_auto_t *got = f->ops->record_get (f->store, "db1", &sealed, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_integer_value (json_object_get (got, "version")), ==, 1);
  gsize len;
  const char *bytes = g_bytes_get_data (sealed, &len);
  g_assert_cmpmem (bytes, len, "sealed-v1", 9);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/vault-store/records", test_records);
  ADD ("/vault-store/records/disk-full", test_record_put_full);
  ADD ("/vault-store/records/reseal", test_record_reseal);
  ADD ("/vault-store/keys", test_keys);
  ADD ("/vault-store/tokens", test_tokens);
  ADD ("/vault-store/meta", test_meta);
  ADD ("/vault-store/clients", test_clients);
#undef ADD
  return g_test_run ();
}
