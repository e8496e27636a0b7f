/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-db.h"
#include "common/cg-error.h"

#include <errno.h>
#include <sys/stat.h>

#define SCHEMA_VERSION 3

static const char schema_v1[]
    = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE seal_keys (kid TEXT PRIMARY KEY, created TEXT NOT NULL,"
      "  current INTEGER NOT NULL DEFAULT 0, retired INTEGER NOT NULL DEFAULT 0);"
      "CREATE TABLE credentials (name TEXT PRIMARY KEY, type TEXT NOT NULL,"
      "  properties TEXT NOT NULL, version INTEGER NOT NULL, created TEXT NOT NULL,"
      "  updated TEXT NOT NULL, sealed BLOB NOT NULL);"
      "CREATE TABLE tokens (name TEXT PRIMARY KEY, hmac BLOB NOT NULL UNIQUE,"
      "  created TEXT NOT NULL, last_used TEXT);"
      "PRAGMA user_version = 1;";

/* Version 2: how often and when each sealing key last opened a value
 * (cg-vault-key-use.c), so that an admin sees which old keys are still in
 * use before retiring one. */
static const char schema_v2[]
    = "ALTER TABLE seal_keys ADD COLUMN opened INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE seal_keys ADD COLUMN last_opened TEXT;"
      "PRAGMA user_version = 2;";

/* Version 3: client certificates (cg-vault-clients.c): pending enrollment
 * codes (HMACs only) and every certificate the client CA signed. */
static const char schema_v3[]
    = "CREATE TABLE enroll_codes (name TEXT PRIMARY KEY, hmac BLOB NOT NULL UNIQUE,"
      "  created TEXT NOT NULL, expires TEXT NOT NULL, validity INTEGER NOT NULL);"
      "CREATE TABLE clients (serial TEXT PRIMARY KEY, name TEXT NOT NULL, spki TEXT NOT NULL,"
      "  enrolled TEXT NOT NULL, expires TEXT NOT NULL, revoked TEXT, revoked_reason TEXT,"
      "  last_used TEXT);"
      "CREATE INDEX clients_by_name ON clients (name);"
      "PRAGMA user_version = 3;";

static gboolean
migrate (sqlite3 *db, gpointer user_data, GError **error)
{
  int version = *(int *) user_data;
  return (version >= 1 || cg_db_exec (db, schema_v1, error))
         && (version >= 2 || cg_db_exec (db, schema_v2, error))
         && (version >= 3 || cg_db_exec (db, schema_v3, error));
}

void
cg_db_set_error (GError **error, sqlite3 *db, const char *what)
{
  int code = sqlite3_errcode (db);
  const char *reason = sqlite3_errmsg (db);
  if (code == SQLITE_FULL)
    reason = "the disk is full";
  else if (code == SQLITE_READONLY)
    reason = "the state database is read-only";
  else if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
    reason = "the state database is damaged";
  else if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
    reason = "the state database is busy (another process holds its write lock)";
  g_set_error (error, CG_ERROR, CG_ERROR_IO, "%s: %s", what, reason);
}

gboolean
cg_db_exec (sqlite3 *db, const char *sql, GError **error)
{
  if (sqlite3_exec (db, sql, NULL, NULL, NULL) != SQLITE_OK)
    {
      cg_db_set_error (error, db, "state database");
      return FALSE;
    }
  return TRUE;
}

gboolean
cg_db_transaction (sqlite3 *db, CgDbTxnFunc func, gpointer user_data, GError **error)
{
  g_return_val_if_fail (sqlite3_get_autocommit (db), FALSE);

  /* The busy timeout (cg_db_open) does the waiting for another writer;
   * what is still busy after it is an error, said as such. */
  if (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    {
      cg_db_set_error (error, db, "state database");
      return FALSE;
    }
  GError *local = NULL;
  gboolean ok = func (db, user_data, &local);
  if (ok && sqlite3_exec (db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    {
      cg_db_set_error (&local, db, "state database");
      ok = FALSE;
    }
  if (!ok)
    {
      /* A failed COMMIT may leave the transaction open (SQLITE_BUSY,
       * SQLITE_FULL): roll back whatever is still there.  SQLite may
       * have rolled back already on its own (an I/O error); then there is
       * nothing to do. */
      if (!sqlite3_get_autocommit (db))
        sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
      if (!local)
        g_set_error_literal (&local, CG_ERROR, CG_ERROR_FAILED,
                             "state database: a change failed and was undone");
      g_propagate_error (error, local);
    }
  else if (local)
    /* A body that succeeded with an error set: the error is dropped, the
     * change stands, as the body said. */
    g_clear_error (&local);
  return ok;
}

sqlite3_stmt *
cg_db_prepare (sqlite3 *db, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      cg_db_set_error (error, db, "state database");
      return NULL;
    }
  return stmt;
}

sqlite3 *
cg_db_open (const char *path, GError **error)
{
  sqlite3 *db = NULL;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW
              | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2 (path, &db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot open %s: %s", path,
                   db ? sqlite3_errmsg (db) : "out of memory");
      sqlite3_close (db);
      return NULL;
    }
  /* The file holds sealed records and token HMACs: nobody else's business
   * even so, whatever the umask.  SQLite gives new -wal and -shm files the
   * database file's mode; ones left by an earlier run are tightened too. */
  static const char *const suffixes[] = { "", "-wal", "-shm" };
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (path, suffixes[i], NULL);
      if (chmod (p, 0600) < 0 && errno != ENOENT)
        {
          int e = errno;
          g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot make %s private: %s", p,
                       g_strerror (e));
          goto fail;
        }
    }
  sqlite3_busy_timeout (db, 5000);
  sqlite3_extended_result_codes (db, 0);

  if (!cg_db_exec (db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                       "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;", error))
    goto fail;
  /* WAL is refused quietly on some file systems; say so rather than run
   * in a journal mode nobody tested. */
  sqlite3_stmt *mode = cg_db_prepare (db, "PRAGMA journal_mode", error);
  if (!mode)
    goto fail;
  gboolean wal = sqlite3_step (mode) == SQLITE_ROW
                 && g_ascii_strcasecmp ((const char *) sqlite3_column_text (mode, 0), "wal") == 0;
  sqlite3_finalize (mode);
  if (!wal)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO,
                   "%s: the file system does not allow SQLite's WAL mode", path);
      goto fail;
    }

  sqlite3_stmt *stmt = cg_db_prepare (db, "PRAGMA user_version", error);
  if (!stmt)
    goto fail;
  int version = sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int (stmt, 0) : -1;
  sqlite3_finalize (stmt);

  if (version >= 0 && version < SCHEMA_VERSION)
    {
      /* One transaction from whatever version the file has to the
       * current one: a crash leaves it as it was. */
      if (!cg_db_transaction (db, migrate, &version, error))
        goto fail;
    }
  else if (version != SCHEMA_VERSION)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO,
                   "%s has schema version %d; this agent knows version %d "
                   "(a newer credgate made it?)",
                   path, version, SCHEMA_VERSION);
      goto fail;
    }
  return db;

fail:
  sqlite3_close (db);
  return NULL;
}

char *
cg_db_meta_get (sqlite3 *db, const char *key, GError **error)
{
  sqlite3_stmt *stmt = cg_db_prepare (db, "SELECT value FROM meta WHERE key = ?", error);
  if (!stmt)
    return NULL;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  char *value = NULL;
  int r = sqlite3_step (stmt);
  if (r == SQLITE_ROW)
    value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  else if (r != SQLITE_DONE)
    cg_db_set_error (error, db, "state database");
  sqlite3_finalize (stmt);
  return value;
}

gboolean
cg_db_meta_set (sqlite3 *db, const char *key, const char *value, GError **error)
{
  sqlite3_stmt *stmt
      = cg_db_prepare (db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, value, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (stmt) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "state database");
  sqlite3_finalize (stmt);
  return ok;
}
