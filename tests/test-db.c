/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of agent/cg-db: the one transaction helper, against real
 * SQLite files: a body that fails half-way, a COMMIT that fails, a full
 * disk, a write lock held by another process. */
#include "config.h"

#include "agent/cg-db.h"
#include "common/cg-error.h"
#include "tests/cg-test-util.h"

#include <string.h>

typedef struct
{
  char *dir;
  char *path;
  sqlite3 *db;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  f->dir = cg_test_make_tmpdir ("cg-db");
  f->path = g_build_filename (f->dir, "state.db", NULL);
  f->db = cg_db_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->db);
  g_assert_true (cg_db_exec (f->db, "CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)", &error));
}

static void
teardown (Fixture *f, gconstpointer data)
{
  (void) data;
  sqlite3_close (f->db);
  cg_test_rm_rf (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

/* Rows of t, counted through a connection of its own (what another
 * process, or the agent after a restart, would see). */
static int
count_rows (Fixture *f)
{
  sqlite3 *other = NULL;
  sqlite3_stmt *st = NULL;
  g_assert_cmpint (sqlite3_open_v2 (f->path, &other, SQLITE_OPEN_READONLY, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (other, "SELECT count(*) FROM t", -1, &st, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  int n = sqlite3_column_int (st, 0);
  sqlite3_finalize (st);
  sqlite3_close (other);
  return n;
}

typedef struct
{
  int calls;
  int fail_after; /* rows written before the body fails; -1: never */
  gboolean forget_error;
} Body;

/* Writes three rows, failing after @fail_after of them. */
static gboolean
three_rows (sqlite3 *db, gpointer user_data, GError **error)
{
  Body *b = user_data;
  b->calls++;
  for (int i = 0; i < 3; i++)
    {
      if (i == b->fail_after)
        {
          if (!b->forget_error)
            g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "refused half-way");
          return FALSE;
        }
      g_autofree char *sql = g_strdup_printf ("INSERT INTO t (k) VALUES ('row%d')", i);
      if (!cg_db_exec (db, sql, error))
        return FALSE;
    }
  return TRUE;
}

static void
test_commit (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  Body b = { 0, -1, FALSE };
  g_assert_true (cg_db_transaction (f->db, three_rows, &b, &error));
  g_assert_no_error (error);
  g_assert_cmpint (b.calls, ==, 1);
  g_assert_cmpint (count_rows (f), ==, 3);
  g_assert_true (sqlite3_get_autocommit (f->db));
}

/* The body fails after two of its three writes: neither stays, the body's
 * own error comes back, and the connection is ready for the next one. */
static void
test_body_fails (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  Body b = { 0, 2, FALSE };
  g_assert_false (cg_db_transaction (f->db, three_rows, &b, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "refused half-way");
  g_assert_cmpint (count_rows (f), ==, 0);
  g_assert_true (sqlite3_get_autocommit (f->db));

  /* A body that fails without saying why still gives an error. */
  g_clear_error (&error);
  b = (Body) { 0, 1, TRUE };
  g_assert_false (cg_db_transaction (f->db, three_rows, &b, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_FAILED);
  g_assert_cmpint (count_rows (f), ==, 0);

  g_clear_error (&error);
  b = (Body) { 0, -1, FALSE };
  g_assert_true (cg_db_transaction (f->db, three_rows, &b, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_rows (f), ==, 3);
}

/* The body succeeds, the COMMIT fails: a deferred foreign key is checked
 * only at COMMIT, and SQLite then leaves the transaction open.  The helper
 * must roll it back, report the failure, and leave nothing written. */
static gboolean
orphan_child (sqlite3 *db, gpointer user_data, GError **error)
{
  (void) user_data;
  return cg_db_exec (db, "INSERT INTO t (k) VALUES ('kept?')", error)
         && cg_db_exec (db, "INSERT INTO child (parent) VALUES ('nobody')", error);
}

static void
test_commit_fails (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  g_assert_true (cg_db_exec (f->db,
                             "CREATE TABLE child (parent TEXT REFERENCES t (k) "
                             "DEFERRABLE INITIALLY DEFERRED)",
                             &error));
  g_assert_false (cg_db_transaction (f->db, orphan_child, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "state database"));
  g_assert_true (sqlite3_get_autocommit (f->db));
  g_assert_cmpint (count_rows (f), ==, 0);

  /* The next transaction works (it would fail with "cannot start a
   * transaction within a transaction" had the first stayed open). */
  g_clear_error (&error);
  Body b = { 0, -1, FALSE };
  g_assert_true (cg_db_transaction (f->db, three_rows, &b, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_rows (f), ==, 3);
}

/* A full disk (max_page_count caps the file where it stands) half-way
 * through a body that writes big rows: the error says the disk is full,
 * and the rows written before it are gone too. */
static gboolean
big_rows (sqlite3 *db, gpointer user_data, GError **error)
{
  int *written = user_data;
  for (int i = 0; i < 64; i++)
    {
      sqlite3_stmt *st = cg_db_prepare (db, "INSERT INTO t (k, v) VALUES (?, zeroblob(8192))",
                                        error);
      if (!st)
        return FALSE;
      g_autofree char *k = g_strdup_printf ("big%d", i);
      sqlite3_bind_text (st, 1, k, -1, SQLITE_STATIC);
      gboolean ok = sqlite3_step (st) == SQLITE_DONE;
      if (!ok)
        cg_db_set_error (error, db, "cannot store the row");
      sqlite3_finalize (st);
      if (!ok)
        return FALSE;
      (*written)++;
    }
  return TRUE;
}

static void
test_disk_full (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  Body b = { 0, -1, FALSE };
  g_assert_true (cg_db_transaction (f->db, three_rows, &b, &error));
  g_assert_true (cg_db_exec (f->db, "PRAGMA wal_checkpoint(TRUNCATE)", &error));
  sqlite3_stmt *st = cg_db_prepare (f->db, "PRAGMA page_count", &error);
  g_assert_nonnull (st);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  g_autofree char *cap = g_strdup_printf ("PRAGMA max_page_count = %d",
                                          sqlite3_column_int (st, 0) + 4);
  sqlite3_finalize (st);
  g_assert_true (cg_db_exec (f->db, cap, &error));

  int written = 0;
  g_assert_false (cg_db_transaction (f->db, big_rows, &written, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_assert_cmpstr (error->message, ==, "cannot store the row: the disk is full");
  g_assert_cmpint (written, >, 0);
  g_assert_cmpint (written, <, 64);
  g_assert_true (sqlite3_get_autocommit (f->db));
  g_assert_cmpint (count_rows (f), ==, 3);
}

/* Another process holds the write lock past the busy timeout: the body is
 * never run, the error says the database is busy; once the lock is gone
 * the same call goes through. */
static void
test_busy (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  sqlite3 *other = NULL;
  g_assert_cmpint (sqlite3_open (f->path, &other), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (other, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (f->db, 50);

  Body b = { 0, -1, FALSE };
  g_assert_false (cg_db_transaction (f->db, three_rows, &b, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "busy"));
  g_assert_cmpint (b.calls, ==, 0);
  g_assert_true (sqlite3_get_autocommit (f->db));

  g_assert_cmpint (sqlite3_exec (other, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (other);
  g_clear_error (&error);
  g_assert_true (cg_db_transaction (f->db, three_rows, &b, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_rows (f), ==, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/db/transaction/commit", test_commit);
  ADD ("/db/transaction/body-fails", test_body_fails);
  ADD ("/db/transaction/commit-fails", test_commit_fails);
  ADD ("/db/transaction/disk-full", test_disk_full);
  ADD ("/db/transaction/busy", test_busy);
#undef ADD
  return g_test_run ();
}
