/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* STATE_DIR/state.db: WAL, synchronous=FULL (a commit is on disk before
 * the reply that reports it), schema version in PRAGMA user_version.  The
 * caller serialises access (one connection, one mutex). */
sqlite3 *cg_db_open (const char *path, GError **error);

/* A CG_ERROR from the connection's last error; a full disk or a read-only
 * file says so in words. */
void cg_db_set_error (GError **error, sqlite3 *db, const char *what);

gboolean cg_db_exec (sqlite3 *db, const char *sql, GError **error);

/* The body of a transaction: TRUE when every write it made should stand,
 * FALSE with @error set when none should. */
typedef gboolean (*CgDbTxnFunc) (sqlite3 *db, gpointer user_data, GError **error);

/* Runs @func inside BEGIN IMMEDIATE ... COMMIT: the one place that opens,
 * commits and rolls back a write transaction.  IMMEDIATE takes the write
 * lock first, so a read-then-write body never fails half-way on a lock;
 * waiting for another process's lock (the busy timeout set by cg_db_open)
 * happens here, and a timeout is a CG_ERROR_IO "busy".  When @func fails,
 * or the COMMIT does (full disk, read-only file), everything @func wrote is
 * rolled back and @error says why: the database is exactly as before.
 * A failing @func must set @error; one that does not gets a generic one.
 * Not nestable: @db must be outside any transaction. */
gboolean cg_db_transaction (sqlite3 *db, CgDbTxnFunc func, gpointer user_data, GError **error);

sqlite3_stmt *cg_db_prepare (sqlite3 *db, const char *sql, GError **error);

/* meta(key, value); get returns NULL when absent (transfer full). */
char *cg_db_meta_get (sqlite3 *db, const char *key, GError **error);
gboolean cg_db_meta_set (sqlite3 *db, const char *key, const char *value, GError **error);

G_END_DECLS
