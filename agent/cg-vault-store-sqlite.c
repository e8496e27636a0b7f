/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CgVaultStore on STATE_DIR/state.db: every write one statement or one
 * cg_db_transaction, committed before it returns. */
#include "config.h"

#include "agent/cg-vault-store.h"
#include "agent/cg-db.h"
#include "common/cg-error.h"

#include <string.h>

typedef struct
{
  CgVaultStore parent;
  sqlite3 *db; /* borrowed */
} SqliteStore;

static sqlite3 *
db_of (CgVaultStore *s)
{
  return ((SqliteStore *) s)->db;
}

/* ---- records ------------------------------------------------------------ */

#define SELECT_META "SELECT name, type, properties, version, created, updated"

/* Metadata of the row the statement is on: name, type, properties,
 * version, created, updated in columns 0..5. */
static json_t *
row_metadata (sqlite3_stmt *st)
{
  json_t *props = json_loads ((const char *) sqlite3_column_text (st, 2), 0, NULL);
  return json_pack ("{s:s, s:s, s:o, s:I, s:s, s:s}", "name", sqlite3_column_text (st, 0),
                    "type", sqlite3_column_text (st, 1), "properties",
                    props ? props : json_object (), "version",
                    (json_int_t) sqlite3_column_int64 (st, 3), "created",
                    sqlite3_column_text (st, 4), "updated", sqlite3_column_text (st, 5));
}

static json_t *
record_get (CgVaultStore *s, const char *name, GBytes **sealed, GError **error)
{
  sqlite3 *db = db_of (s);
  sqlite3_stmt *st
      = cg_db_prepare (db, SELECT_META ", sealed FROM credentials WHERE name = ?", error);
  if (!st)
    return NULL;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
  json_t *meta = NULL;
  int r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      meta = row_metadata (st);
      if (sealed)
        *sealed = g_bytes_new (sqlite3_column_blob (st, 6), sqlite3_column_bytes (st, 6));
    }
  else if (r == SQLITE_DONE)
    g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no credential named \"%s\"", name);
  else
    cg_db_set_error (error, db, "cannot read the credential");
  sqlite3_finalize (st);
  return meta;
}

/* Every row of @sql as built by @row, or NULL with @what in the error. */
static json_t *
select_all (sqlite3 *db, const char *sql, json_t *(*row) (sqlite3_stmt *), const char *what,
            GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (db, sql, error);
  if (!st)
    return NULL;
  json_t *list = json_array ();
  int r;
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    json_array_append_new (list, row (st));
  if (r != SQLITE_DONE)
    {
      g_clear_pointer (&list, json_decref);
      cg_db_set_error (error, db, what);
    }
  sqlite3_finalize (st);
  return list;
}

static json_t *
record_list (CgVaultStore *s, GError **error)
{
  return select_all (db_of (s), SELECT_META " FROM credentials ORDER BY name", row_metadata,
                     "cannot list credentials", error);
}

typedef struct
{
  const char *name, *type, *props_text, *now;
  CgVaultSealFunc seal;
  gpointer seal_data;
  char *created; /* the first version's, when the name existed */
  gint64 version;
} PutTxn;

/* The version is read and bumped inside the write transaction, so two
 * replaces of one name never seal under the same version. */
static gboolean
put_txn (sqlite3 *db, gpointer user_data, GError **error)
{
  PutTxn *p = user_data;
  sqlite3_stmt *st
      = cg_db_prepare (db, "SELECT version, created FROM credentials WHERE name = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, p->name, -1, SQLITE_STATIC);
  int r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      p->version = sqlite3_column_int64 (st, 0) + 1;
      p->created = g_strdup ((const char *) sqlite3_column_text (st, 1));
    }
  else if (r != SQLITE_DONE)
    cg_db_set_error (error, db, "cannot read the credential");
  sqlite3_finalize (st);
  if (r != SQLITE_ROW && r != SQLITE_DONE)
    return FALSE;

  g_autoptr (GBytes) sealed = p->seal (p->version, p->seal_data);
  st = cg_db_prepare (db,
                      "INSERT OR REPLACE INTO credentials (name, type, properties, version, "
                      "created, updated, sealed) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, p->name, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, p->type, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, p->props_text, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 4, p->version);
  sqlite3_bind_text (st, 5, p->created ? p->created : p->now, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 6, p->now, -1, SQLITE_STATIC);
  sqlite3_bind_blob (st, 7, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed),
                     SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot store the credential");
  sqlite3_finalize (st);
  return ok;
}

static json_t *
record_put (CgVaultStore *s, const char *name, const char *type, const char *props_text,
            const char *now, CgVaultSealFunc seal, gpointer seal_data, GError **error)
{
  PutTxn p = { name, type, props_text, now, seal, seal_data, NULL, 1 };
  gboolean ok = cg_db_transaction (db_of (s), put_txn, &p, error);
  g_autofree char *created = g_steal_pointer (&p.created);
  if (!ok)
    return NULL;
  json_t *props = json_loads (props_text, 0, NULL);
  return json_pack ("{s:s, s:s, s:o, s:I, s:s, s:s}", "name", name, "type", type, "properties",
                    props ? props : json_object (), "version", (json_int_t) p.version,
                    "created", created ? created : now, "updated", now);
}

/* One statement that changes @name's row: 1 done, 0 failed (@what in
 * the error), -1 no such row (no error set). */
static int
change_by_name (sqlite3 *db, const char *sql, const char *name, const char *what,
                GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (db, sql, error);
  if (!st)
    return 0;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
  int r = 1;
  if (sqlite3_step (st) != SQLITE_DONE)
    {
      cg_db_set_error (error, db, what);
      r = 0;
    }
  else if (sqlite3_changes (db) == 0)
    r = -1;
  sqlite3_finalize (st);
  return r;
}

static gboolean
record_delete (CgVaultStore *s, const char *name, GError **error)
{
  int r = change_by_name (db_of (s), "DELETE FROM credentials WHERE name = ?", name,
                          "cannot delete the credential", error);
  if (r < 0)
    g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no credential named \"%s\"", name);
  return r > 0;
}

typedef struct
{
  const char *name;
  gint64 version;
  CgVaultResealFunc reseal;
  gpointer data;
} ResealTxn;

/* Read, re-seal and write inside one transaction: a PUT between the read
 * and the write is impossible here (the etcd store compares the
 * revision instead). */
static gboolean
reseal_txn (sqlite3 *db, gpointer user_data, GError **error)
{
  ResealTxn *p = user_data;
  sqlite3_stmt *st
      = cg_db_prepare (db, "SELECT version, sealed FROM credentials WHERE name = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, p->name, -1, SQLITE_STATIC);
  int r = sqlite3_step (st);
  g_autoptr (GBytes) old = NULL;
  gint64 version = 0;
  if (r == SQLITE_ROW)
    {
      version = sqlite3_column_int64 (st, 0);
      old = g_bytes_new (sqlite3_column_blob (st, 1), sqlite3_column_bytes (st, 1));
    }
  else if (r == SQLITE_DONE)
    g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no credential named \"%s\"", p->name);
  else
    cg_db_set_error (error, db, "cannot read the credential");
  sqlite3_finalize (st);
  if (!old)
    return FALSE;
  if (version != p->version)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                   "credential \"%s\" changed meanwhile (version %" G_GINT64_FORMAT ")",
                   p->name, version);
      return FALSE;
    }

  g_autoptr (GBytes) sealed = p->reseal (old, version, p->data, error);
  if (!sealed)
    return FALSE;
  st = cg_db_prepare (db, "UPDATE credentials SET sealed = ? WHERE name = ? AND version = ?",
                      error);
  if (!st)
    return FALSE;
  sqlite3_bind_blob (st, 1, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed),
                     SQLITE_STATIC);
  sqlite3_bind_text (st, 2, p->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 3, version);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot store the credential");
  sqlite3_finalize (st);
  return ok;
}

static gboolean
record_reseal (CgVaultStore *s, const char *name, gint64 version, CgVaultResealFunc reseal,
               gpointer data, GError **error)
{
  ResealTxn p = { name, version, reseal, data };
  return cg_db_transaction (db_of (s), reseal_txn, &p, error);
}

/* ---- sealing keys --------------------------------------------------------- */

static json_t *
key_row (sqlite3_stmt *st)
{
  return json_pack ("{s:s, s:s, s:b, s:b, s:I, s:s?}", "kid", sqlite3_column_text (st, 0),
                    "created", sqlite3_column_text (st, 1), "current",
                    sqlite3_column_int (st, 2), "retired", sqlite3_column_int (st, 3),
                    "opened", (json_int_t) sqlite3_column_int64 (st, 4), "lastOpened",
                    sqlite3_column_text (st, 5));
}

static json_t *
key_list (CgVaultStore *s, GError **error)
{
  return select_all (db_of (s),
                     "SELECT kid, created, current, retired, opened, last_opened "
                     "FROM seal_keys ORDER BY created, kid",
                     key_row, "cannot list the sealing keys", error);
}

typedef struct
{
  const char *kid, *now;
  gboolean first;
} AddKeyTxn;

static gboolean
add_key_txn (sqlite3 *db, gpointer user_data, GError **error)
{
  AddKeyTxn *a = user_data;
  if (!cg_db_exec (db, "UPDATE seal_keys SET current = 0", error))
    return FALSE;
  sqlite3_stmt *st
      = cg_db_prepare (db, "INSERT INTO seal_keys (kid, created, current) VALUES (?, ?, 1)", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, a->kid, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, a->now, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db,
                     a->first ? "cannot record the new keys" : "cannot record the new key");
  sqlite3_finalize (st);
  return ok && (!a->first || cg_db_meta_set (db, "keys_created", "1", error));
}

static gboolean
key_add_current (CgVaultStore *s, const char *kid, const char *now, gboolean first,
                 GError **error)
{
  AddKeyTxn a = { kid, now, first };
  return cg_db_transaction (db_of (s), add_key_txn, &a, error);
}

static gboolean
key_retire (CgVaultStore *s, const char *kid, GError **error)
{
  int r = change_by_name (db_of (s), "UPDATE seal_keys SET retired = 1 WHERE kid = ?", kid,
                          "cannot retire the key", error);
  if (r < 0)
    g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no sealing key %s", kid);
  return r > 0;
}

static gboolean
key_note_use (CgVaultStore *s, const char *kid, gint64 count, const char *last,
              GError **error)
{
  sqlite3 *db = db_of (s);
  sqlite3_stmt *st = cg_db_prepare (
      db, "UPDATE seal_keys SET opened = opened + ?, last_opened = ? WHERE kid = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64 (st, 1, count);
  sqlite3_bind_text (st, 2, last, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, kid, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot record the use of a key");
  sqlite3_finalize (st);
  return ok;
}

/* ---- tokens --------------------------------------------------------------- */

static gboolean
token_add (CgVaultStore *s, const char *name, const guint8 *hmac, const char *now,
           GError **error)
{
  sqlite3 *db = db_of (s);
  sqlite3_stmt *st
      = cg_db_prepare (db, "INSERT INTO tokens (name, hmac, created) VALUES (?, ?, ?)", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_blob (st, 2, hmac, 32, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, now, -1, SQLITE_STATIC);
  int r = sqlite3_step (st);
  if (r == SQLITE_CONSTRAINT)
    g_set_error (error, CG_ERROR, CG_ERROR_EXISTS, "a token named \"%s\" already exists", name);
  else if (r != SQLITE_DONE)
    cg_db_set_error (error, db, "cannot store the token");
  sqlite3_finalize (st);
  return r == SQLITE_DONE;
}

static char *
token_find (CgVaultStore *s, const guint8 *hmac, char **last_used, GError **error)
{
  sqlite3 *db = db_of (s);
  sqlite3_stmt *st
      = cg_db_prepare (db, "SELECT name, last_used FROM tokens WHERE hmac = ?", error);
  if (!st)
    return NULL;
  sqlite3_bind_blob (st, 1, hmac, 32, SQLITE_STATIC);
  char *name = NULL;
  int r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      name = g_strdup ((const char *) sqlite3_column_text (st, 0));
      if (last_used)
        *last_used = g_strdup ((const char *) sqlite3_column_text (st, 1));
    }
  else if (r != SQLITE_DONE)
    cg_db_set_error (error, db, "cannot read the tokens");
  sqlite3_finalize (st);
  return name;
}

static gboolean
token_touch (CgVaultStore *s, const char *name, const char *when, GError **error)
{
  sqlite3 *db = db_of (s);
  sqlite3_stmt *st = cg_db_prepare (db, "UPDATE tokens SET last_used = ? WHERE name = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, when, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, name, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot record the token's use");
  sqlite3_finalize (st);
  return ok;
}

static json_t *
token_row (sqlite3_stmt *st)
{
  return json_pack ("{s:s, s:s, s:s?}", "name", sqlite3_column_text (st, 0), "created",
                    sqlite3_column_text (st, 1), "last_used", sqlite3_column_text (st, 2));
}

static json_t *
token_list (CgVaultStore *s, GError **error)
{
  return select_all (db_of (s), "SELECT name, created, last_used FROM tokens ORDER BY name",
                     token_row, "cannot list tokens", error);
}

static gboolean
token_delete (CgVaultStore *s, const char *name, GError **error)
{
  int r = change_by_name (db_of (s), "DELETE FROM tokens WHERE name = ?", name,
                          "cannot revoke the token", error);
  if (r < 0)
    g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no token named \"%s\"", name);
  return r > 0;
}

/* ---- client certificates --------------------------------------------------- */

static gboolean
client_code_add (CgVaultStore *s, const char *name, const guint8 *hmac, const char *created,
                 const char *expires, gint64 validity_s, GError **error)
{
  sqlite3 *db = db_of (s);
  /* One pending code per name: a new one replaces the last. */
  sqlite3_stmt *st = cg_db_prepare (db,
                                    "INSERT OR REPLACE INTO enroll_codes (name, hmac, created, "
                                    "expires, validity) VALUES (?, ?, ?, ?, ?)",
                                    error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_blob (st, 2, hmac, 32, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, created, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 4, expires, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 5, validity_s);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot store the enrollment code");
  sqlite3_finalize (st);
  return ok;
}

static char *
client_code_find (CgVaultStore *s, const guint8 *hmac, const char *now, gint64 *validity_s,
                  GError **error)
{
  sqlite3 *db = db_of (s);
  sqlite3_stmt *st
      = cg_db_prepare (db, "SELECT name, expires, validity FROM enroll_codes WHERE hmac = ?", error);
  if (!st)
    return NULL;
  sqlite3_bind_blob (st, 1, hmac, 32, SQLITE_STATIC);
  char *name = NULL;
  gboolean expired = FALSE;
  int r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      expired = strcmp ((const char *) sqlite3_column_text (st, 1), now) <= 0;
      if (!expired)
        {
          name = g_strdup ((const char *) sqlite3_column_text (st, 0));
          if (validity_s)
            *validity_s = sqlite3_column_int64 (st, 2);
        }
    }
  else if (r != SQLITE_DONE)
    cg_db_set_error (error, db, "cannot read the enrollment codes");
  sqlite3_finalize (st);
  if (expired)
    {
      /* Dropped on the way; a failure here only leaves it for later. */
      st = cg_db_prepare (db, "DELETE FROM enroll_codes WHERE hmac = ?", NULL);
      if (st)
        {
          sqlite3_bind_blob (st, 1, hmac, 32, SQLITE_STATIC);
          sqlite3_step (st);
          sqlite3_finalize (st);
        }
    }
  return name;
}

/* Inside a transaction: @name's live certificates revoked at @now for
 * @reason; *changed (nullable) gets how many. */
static gboolean
revoke_name (sqlite3 *db, const char *name, const char *now, const char *reason, int *changed,
             GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (db,
                                    "UPDATE clients SET revoked = ?, revoked_reason = ? "
                                    "WHERE name = ? AND revoked IS NULL",
                                    error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, now, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, reason, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, name, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  sqlite3_finalize (st);
  if (!ok)
    cg_db_set_error (error, db, "cannot revoke the client certificate");
  else if (changed)
    *changed += sqlite3_changes (db);
  return ok;
}

typedef struct
{
  const guint8 *hmac;
  const char *name, *serial, *spki, *now, *expires;
} EnrollTxn;

static gboolean
enroll_txn (sqlite3 *db, gpointer user_data, GError **error)
{
  EnrollTxn *e = user_data;
  sqlite3_stmt *st
      = cg_db_prepare (db, "DELETE FROM enroll_codes WHERE hmac = ? AND name = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_blob (st, 1, e->hmac, 32, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, e->name, -1, SQLITE_STATIC);
  int r = sqlite3_step (st);
  gboolean ok = r == SQLITE_DONE && sqlite3_changes (db) == 1;
  if (r != SQLITE_DONE)
    cg_db_set_error (error, db, "cannot use the enrollment code");
  else if (!ok)
    g_set_error_literal (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                         "the enrollment code is gone (used or replaced)");
  sqlite3_finalize (st);
  if (!ok || !revoke_name (db, e->name, e->now, "superseded", NULL, error))
    return FALSE;
  st = cg_db_prepare (db,
                      "INSERT INTO clients (serial, name, spki, enrolled, expires) "
                      "VALUES (?, ?, ?, ?, ?)",
                      error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, e->serial, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, e->name, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, e->spki, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 4, e->now, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 5, e->expires, -1, SQLITE_STATIC);
  ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot record the client certificate");
  sqlite3_finalize (st);
  return ok;
}

static gboolean
client_enroll (CgVaultStore *s, const guint8 *hmac, const char *name, const char *serial,
               const char *spki, const char *now, const char *expires, GError **error)
{
  EnrollTxn e = { hmac, name, serial, spki, now, expires };
  return cg_db_transaction (db_of (s), enroll_txn, &e, error);
}

static json_t *
client_get (CgVaultStore *s, const char *serial, GError **error)
{
  sqlite3 *db = db_of (s);
  sqlite3_stmt *st = cg_db_prepare (db,
                                    "SELECT name, spki, enrolled, expires, revoked, "
                                    "revoked_reason, last_used FROM clients WHERE serial = ?",
                                    error);
  if (!st)
    return NULL;
  sqlite3_bind_text (st, 1, serial, -1, SQLITE_STATIC);
  json_t *row = NULL;
  int r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    row = json_pack ("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?}", "name",
                     sqlite3_column_text (st, 0), "spki", sqlite3_column_text (st, 1), "enrolled",
                     sqlite3_column_text (st, 2), "expires", sqlite3_column_text (st, 3),
                     "revoked", sqlite3_column_text (st, 4), "revokedReason",
                     sqlite3_column_text (st, 5), "lastUsed", sqlite3_column_text (st, 6));
  else if (r != SQLITE_DONE)
    cg_db_set_error (error, db, "cannot read the enrolled clients");
  sqlite3_finalize (st);
  return row;
}

static gboolean
client_touch (CgVaultStore *s, const char *serial, const char *when, GError **error)
{
  sqlite3 *db = db_of (s);
  sqlite3_stmt *st = cg_db_prepare (db, "UPDATE clients SET last_used = ? WHERE serial = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, when, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, serial, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot record the client's use");
  sqlite3_finalize (st);
  return ok;
}

static json_t *
client_list (CgVaultStore *s, const char *now, GError **error)
{
  sqlite3 *db = db_of (s);
  json_t *list = NULL;
  sqlite3_stmt *st = cg_db_prepare (
      db,
      "SELECT name, serial, spki, enrolled, expires, revoked, revoked_reason, last_used "
      "FROM clients ORDER BY name, enrolled",
      error);
  sqlite3_stmt *codes = st ? cg_db_prepare (db,
                                            "SELECT name, created, expires FROM enroll_codes "
                                            "WHERE expires > ? ORDER BY name",
                                            error)
                           : NULL;
  if (st && codes)
    {
      list = json_array ();
      int r;
      while ((r = sqlite3_step (st)) == SQLITE_ROW)
        {
          const char *expires = (const char *) sqlite3_column_text (st, 4);
          const char *state = sqlite3_column_type (st, 5) != SQLITE_NULL
                                  ? (const char *) sqlite3_column_text (st, 6)
                              : strcmp (expires, now) <= 0 ? "expired"
                                                           : "active";
          json_array_append_new (
              list, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s}", "name",
                               sqlite3_column_text (st, 0), "serial", sqlite3_column_text (st, 1),
                               "fingerprint", sqlite3_column_text (st, 2), "enrolled",
                               sqlite3_column_text (st, 3), "expires", expires, "revoked",
                               sqlite3_column_text (st, 5), "lastUsed",
                               sqlite3_column_text (st, 7), "state", state ? state : "revoked"));
        }
      if (r != SQLITE_DONE)
        g_clear_pointer (&list, json_decref);
      sqlite3_bind_text (codes, 1, now, -1, SQLITE_STATIC);
      while (list && (r = sqlite3_step (codes)) == SQLITE_ROW)
        json_array_append_new (list, json_pack ("{s:s, s:s, s:s, s:s}", "name",
                                                sqlite3_column_text (codes, 0), "codeCreated",
                                                sqlite3_column_text (codes, 1), "codeExpires",
                                                sqlite3_column_text (codes, 2), "state",
                                                "pending"));
      if (list && r != SQLITE_DONE)
        g_clear_pointer (&list, json_decref);
      if (!list)
        cg_db_set_error (error, db, "cannot list the clients");
    }
  sqlite3_finalize (codes);
  sqlite3_finalize (st);
  return list;
}

typedef struct
{
  const char *name, *now;
} RevokeTxn;

static gboolean
revoke_txn (sqlite3 *db, gpointer user_data, GError **error)
{
  RevokeTxn *r = user_data;
  int changed = 0;
  if (!revoke_name (db, r->name, r->now, "revoked", &changed, error))
    return FALSE;
  /* A pending code for the name goes too. */
  sqlite3_stmt *st = cg_db_prepare (db, "DELETE FROM enroll_codes WHERE name = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, r->name, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  changed += sqlite3_changes (db);
  sqlite3_finalize (st);
  if (!ok)
    cg_db_set_error (error, db, "cannot revoke the client");
  else if (changed == 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                   "no enrolled client or pending code named \"%s\"", r->name);
      ok = FALSE;
    }
  return ok;
}

static gboolean
client_revoke (CgVaultStore *s, const char *name, const char *now, GError **error)
{
  RevokeTxn r = { name, now };
  return cg_db_transaction (db_of (s), revoke_txn, &r, error);
}

/* ---- the rest ------------------------------------------------------------- */

static char *
meta_get (CgVaultStore *s, const char *key, GError **error)
{
  return cg_db_meta_get (db_of (s), key, error);
}

static gboolean
meta_set (CgVaultStore *s, const char *key, const char *value, GError **error)
{
  return cg_db_meta_set (db_of (s), key, value, error);
}

static gboolean
counts (CgVaultStore *s, const char *now, gint64 *creds, gint64 *tokens, gint64 *clients)
{
  sqlite3_stmt *st = cg_db_prepare (
      db_of (s),
      "SELECT (SELECT count(*) FROM credentials), (SELECT count(*) FROM tokens), "
      "(SELECT count(*) FROM clients WHERE revoked IS NULL AND expires > ?)",
      NULL);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, now, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_ROW;
  if (ok)
    {
      *creds = sqlite3_column_int64 (st, 0);
      *tokens = sqlite3_column_int64 (st, 1);
      *clients = sqlite3_column_int64 (st, 2);
    }
  sqlite3_finalize (st);
  return ok;
}

static void
store_free (CgVaultStore *s)
{
  g_free (s);
}

static const CgVaultStoreOps sqlite_ops = {
  .record_get = record_get,
  .record_list = record_list,
  .record_put = record_put,
  .record_delete = record_delete,
  .record_reseal = record_reseal,
  .key_list = key_list,
  .key_add_current = key_add_current,
  .key_retire = key_retire,
  .key_note_use = key_note_use,
  .token_add = token_add,
  .token_find = token_find,
  .token_touch = token_touch,
  .token_list = token_list,
  .token_delete = token_delete,
  .meta_get = meta_get,
  .meta_set = meta_set,
  .client_code_add = client_code_add,
  .client_code_find = client_code_find,
  .client_enroll = client_enroll,
  .client_get = client_get,
  .client_touch = client_touch,
  .client_list = client_list,
  .client_revoke = client_revoke,
  .counts = counts,
  .free = store_free,
};

CgVaultStore *
cg_vault_store_sqlite_new (sqlite3 *db)
{
  SqliteStore *s = g_new0 (SqliteStore, 1);
  s->parent.ops = &sqlite_ops;
  s->db = db;
  return &s->parent;
}
