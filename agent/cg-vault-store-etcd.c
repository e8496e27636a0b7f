/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CgVaultStore over etcd with this node's state.db as the replica: see
 * cg-vault-store-etcd.h.  Reads and the node-local writes go to the SQLite
 * store on the same file (cg_vault_store_sqlite_new); every cluster write is
 * one etcd txn, then the same change applied to the replica by the code the
 * applier uses for the watch's events. */
#include "config.h"

#include "agent/cg-vault-store-etcd.h"

#include "agent/cg-db.h"
#include "agent/cg-write-clock.h"
#include "common/cg-error.h"
#include "common/cg-json.h"
#include "jose/cg-b64.h"
#include "common/cg-secure.h"
#include "protocol/cg-names.h"

#include <string.h>

/* Each watch round lasts this long, then the applier watches again from
 * where it is (a bounded call, like every other; also how often the state
 * says etcd was reached when nothing changes). */
#define WATCH_ROUND_MS 3000
/* After a failed round: wait this long before the next. */
#define RETRY_MS 500
/* A full sync reads the prefix in pages of this many keys. */
#define SYNC_PAGE 500
/* push_all's batches: keys per txn, and bytes of values per txn (etcd
 * refuses more than 128 operations, or a request over 1.5 MiB). */
#define PUSH_BATCH_KEYS 64
#define PUSH_BATCH_BYTES (512 * 1024)
#define DEFAULT_TIMEOUT_MS 3000
#define MAX_TIMEOUT_MS 4500
/* A write, its refresh after a lost compare included, ends within this,
 * counted from the request's arrival (cg-write-clock.h), so that the
 * client has its answer within 5 s of sending it; each read of that
 * refresh is bounded by REFRESH_MS. */
#define WRITE_BUDGET_MS 4800
#define REFRESH_MS 1000
/* The quorum check's own bound (quorum_check).  A leader just cut off
 * from its quorum does not answer a linearizable read until it steps
 * down, and the read waits out its timeout: with the client's full
 * per-call timeout (up to MAX_TIMEOUT_MS) the first write after the loss
 * answered after 4.5 s of its 5, leaving nothing for a write queued
 * behind it.  A quorum that is there answers in a ReadIndex round trip
 * (milliseconds on a LAN; tests/test-cluster-quorum.sh measures the
 * refusal), so 2.5 s only ever cuts off a cluster that cannot take the
 * write, and leaves 2.3 s of the budget for the txn. */
#define QUORUM_CHECK_MS 2500
/* The same check while the last one failed and none got through since:
 * a quorum that is back answers as fast as ever, and the writes that keep
 * coming one after another through an outage (each arriving after the
 * last refusal, so each checks for itself) are refused in half a second,
 * not two and a half. */
#define QUORUM_RECHECK_MS 500
/* The least a write's quorum check and txn are each given; with less left
 * of the budget, the write fails before proposing anything. */
#define MIN_TXN_MS 250

#define META_APPLIED "cluster_applied_revision"
/* How many "known since" marks of revisions not yet applied are kept: one
 * a second at most, so they cover minutes of being behind. */
#define BEHIND_MAX 64
#define META_PREFIX "cluster_prefix"

typedef enum
{
  AREA_OTHER,
  AREA_REC,
  AREA_KEY,
  AREA_TOK,
  AREA_META,
  AREA_CLIENT, /* client/<serial>: a certificate the client CA signed */
  AREA_CODE,   /* enroll/<name>: a pending enrollment code's HMAC */
} Area;

typedef struct
{
  CgVaultStore parent;
  CgVaultStore *local; /* the SQLite store on db: reads, node-local writes */
  sqlite3 *db;         /* the callers' connection */
  char *db_path;
  char **endpoints;
  char *ca_file, *cert_file, *key_file;
  char *prefix; /* ends in '/' */
  gsize prefix_len;
  guint timeout_ms;
  CgEtcd *etcd;         /* the callers' client, made at the first write */
  CgEtcd *refresh_etcd; /* the same with REFRESH_MS, for a master key's wrap (master_moved) */
  /* The quorum checks made before the vault's lock while etcd is known
   * to be unavailable (cg_vault_store_etcd_write_ready), one at a time. */
  GMutex gate_lock;
  CgEtcd *gate_etcd;

  /* The applier. */
  GThread *thread;
  sqlite3 *apply_db;
  CgEtcd *watch_etcd;
  GCancellable *cancel;
  CgVaultStoreEtcdOther other;
  CgVaultStoreEtcdChanged changed;
  CgVaultStoreEtcdKeyWraps key_wraps;
  CgVaultStoreEtcdMasterNeeded master_needed;
  gpointer cb_data, master_data;
  GPtrArray *pending;  /* Event: the watch message being received */
  gint64 applied;      /* the applier's own copy (only its thread writes it after start) */
  gboolean need_sync;  /* a full sync is due */
  gboolean compacted;  /* ... because etcd compacted past @applied */
  gboolean down_logged;
  gboolean apply_failed;   /* the last watch message could not be applied */
  gint64 failed_logged;    /* the first revision of the batch whose failure was logged */

  GMutex lock; /* guards state, behind, stopping; cond wakes the applier's sleeps */
  GCond cond;
  gboolean stopping;
  CgVaultStoreEtcdState state;
  /* When a quorum check last found etcd unavailable, and last got through
   * (monotonic µs, 0: never).  A write that was already waiting when the
   * cluster was found unavailable is refused at once (write_commit). */
  gint64 unavailable_at, available_at;
  /* Marks "by @since (unix seconds) this node knew of every revision up to
   * @revision", oldest first, each above state.applied_revision: how long
   * the replica has been behind, measured in time (a revision count means
   * nothing without the write rate).  One mark a second at most; when all
   * BEHIND_MAX are in use the newest one takes the later revisions (it then
   * errs towards "behind for longer", only ever for a node minutes behind). */
  struct
  {
    gint64 revision, since;
  } behind[BEHIND_MAX];
  guint n_behind;
} EtcdStore;

static const CgVaultStoreOps etcd_ops;

/* ---- small helpers -------------------------------------------------------- */

static GBytes *
full_key (EtcdStore *s, const char *ekey)
{
  g_autofree char *k = g_strconcat (s->prefix, ekey, NULL);
  gsize len = strlen (k);
  return g_bytes_new_take (g_steal_pointer (&k), len);
}

/* The key without the prefix (transfer full), or NULL when it is not under
 * the prefix or holds a NUL byte. */
static char *
short_key (EtcdStore *s, GBytes *key)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (key, &len);
  if (len <= s->prefix_len || memcmp (data, s->prefix, s->prefix_len) != 0
      || memchr (data, '\0', len) != NULL)
    return NULL;
  return g_strndup (data + s->prefix_len, len - s->prefix_len);
}

/* @ekey's area, *rest the part after "rec/" etc. (borrowed). */
static Area
area_of (const char *ekey, const char **rest)
{
  static const struct
  {
    const char *head;
    Area area;
  } areas[] = {
    { "rec/", AREA_REC },       { "key/", AREA_KEY },      { "tok/", AREA_TOK },
    { "meta/", AREA_META },     { "client/", AREA_CLIENT }, { "enroll/", AREA_CODE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (areas); i++)
    if (g_str_has_prefix (ekey, areas[i].head) && ekey[strlen (areas[i].head)] != '\0')
      {
        *rest = ekey + strlen (areas[i].head);
        return areas[i].area;
      }
  *rest = ekey;
  return AREA_OTHER;
}

static guint
area_bit (Area area)
{
  switch (area)
    {
    case AREA_REC:
      return CG_STORE_CHANGED_RECORDS;
    case AREA_KEY:
      return CG_STORE_CHANGED_KEYS;
    case AREA_TOK:
      return CG_STORE_CHANGED_TOKENS;
    case AREA_META:
      return CG_STORE_CHANGED_META;
    case AREA_CLIENT:
    case AREA_CODE:
      return CG_STORE_CHANGED_CLIENTS;
    case AREA_OTHER:
    default:
      return 0;
    }
}

static const char *
area_name (Area area)
{
  switch (area)
    {
    case AREA_REC:
      return "records";
    case AREA_KEY:
      return "keys";
    case AREA_TOK:
      return "tokens";
    case AREA_META:
      return "settings";
    case AREA_CLIENT:
      return "client certificates";
    case AREA_CODE:
      return "enrollment codes";
    case AREA_OTHER:
    default:
      return "other";
    }
}

/* Meta keys that stay on this node: its identity, the replica's own
 * bookkeeping, and what other modules keep on the file directly (escrow's
 * signer and sequence).  Never written to etcd, never taken from it.  The
 * client CA's certificate ("client_ca_cert") is the cluster's: every node
 * checks client certificates against the same CA. */
static gboolean
meta_is_local (const char *key)
{
  static const char *const local[] = {
    "instance", META_APPLIED, META_PREFIX, "escrow_signer", "escrow_seq",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (local); i++)
    if (strcmp (key, local[i]) == 0)
      return TRUE;
  return FALSE;
}


static GBytes *
json_bytes (json_t *value)
{
  char *text = cg_json_dump (value);
  gsize len = strlen (text);
  return g_bytes_new_take (text, len);
}

static void
set_cluster_error (GError **error, const GError *etcd_error, const char *what)
{
  /* cg-etcd's messages name the endpoint and etcd's or curl's fixed text,
   * never a key or a value. */
  g_set_error (error, CG_ERROR, CG_ERROR_CLUSTER_UNAVAILABLE, "%s: the cluster is unavailable (%s)",
               what, etcd_error->message);
}

/* ---- state ---------------------------------------------------------------- */

/* @revision is known to exist in etcd: behind until it is applied.  With
 * s->lock held. */
static void
note_seen_locked (EtcdStore *s, gint64 revision)
{
  if (revision <= s->state.applied_revision)
    return;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  if (s->n_behind > 0)
    {
      gint64 *last = &s->behind[s->n_behind - 1].revision;
      if (revision <= *last)
        return; /* known since that mark already */
      if (s->behind[s->n_behind - 1].since == now || s->n_behind == BEHIND_MAX)
        {
          *last = revision;
          return;
        }
    }
  s->behind[s->n_behind].revision = revision;
  s->behind[s->n_behind].since = now;
  if (s->n_behind++ == 0)
    s->state.behind_since = now;
}

static void
note_contact (EtcdStore *s, gint64 revision)
{
  g_mutex_lock (&s->lock);
  s->state.last_contact = g_get_real_time () / G_USEC_PER_SEC;
  s->state.writable = TRUE;
  if (revision > s->state.etcd_revision)
    s->state.etcd_revision = revision;
  note_seen_locked (s, revision);
  g_mutex_unlock (&s->lock);
}

static void
note_seen (EtcdStore *s, gint64 revision)
{
  g_mutex_lock (&s->lock);
  if (revision > s->state.etcd_revision)
    s->state.etcd_revision = revision;
  note_seen_locked (s, revision);
  g_mutex_unlock (&s->lock);
}

static void
note_unreachable (EtcdStore *s)
{
  g_mutex_lock (&s->lock);
  s->state.writable = FALSE;
  g_mutex_unlock (&s->lock);
}

static void
note_applied (EtcdStore *s, gint64 revision)
{
  g_mutex_lock (&s->lock);
  s->state.applied_revision = revision;
  if (revision > s->state.etcd_revision)
    s->state.etcd_revision = revision;
  guint done = 0;
  while (done < s->n_behind && s->behind[done].revision <= revision)
    done++;
  s->n_behind -= done;
  memmove (s->behind, s->behind + done, s->n_behind * sizeof s->behind[0]);
  s->state.behind_since = s->n_behind ? s->behind[0].since : 0;
  g_mutex_unlock (&s->lock);
}

static gboolean
is_unreachable (const GError *e)
{
  return e->domain == CG_ETCD_ERROR
         && (e->code == CG_ETCD_ERROR_UNREACHABLE || e->code == CG_ETCD_ERROR_UNAVAILABLE
             || e->code == CG_ETCD_ERROR_TLS);
}

/* ---- the replica: applying events ----------------------------------------- */

typedef struct
{
  CgEtcdEventType type;
  CgEtcdKv *kv; /* owned */
} Event;

static void
event_free (gpointer p)
{
  Event *ev = p;
  cg_etcd_kv_free (ev->kv);
  g_free (ev);
}

static Event *
event_new (CgEtcdEventType type, const CgEtcdKv *kv)
{
  Event *ev = g_new0 (Event, 1);
  ev->type = type;
  ev->kv = g_new0 (CgEtcdKv, 1);
  ev->kv->key = g_bytes_ref (kv->key);
  ev->kv->value = kv->value ? g_bytes_ref (kv->value) : NULL;
  ev->kv->create_revision = kv->create_revision;
  ev->kv->mod_revision = kv->mod_revision;
  ev->kv->version = kv->version;
  ev->kv->lease = kv->lease;
  return ev;
}

/* One mod_revision read with @sql from cluster_revs (0: no row), -1 on error. */
static gint64
rev_query (sqlite3 *db, const char *sql, const char *ekey, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (db, sql, error);
  if (!st)
    return -1;
  sqlite3_bind_text (st, 1, ekey, -1, SQLITE_STATIC);
  gint64 rev = 0;
  int r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    rev = sqlite3_column_int64 (st, 0);
  else if (r != SQLITE_DONE)
    {
      cg_db_set_error (error, db, "cannot read the replica's revisions");
      rev = -1;
    }
  sqlite3_finalize (st);
  return rev;
}

/* The row's recorded mod_revision (0: none), or -1 on error. */
static gint64
rev_get (sqlite3 *db, const char *ekey, GError **error)
{
  return rev_query (db, "SELECT mod_revision FROM cluster_revs WHERE ekey = ?", ekey, error);
}

/* The mod_revision a write compares the key with: 0 for a key the replica
 * knows deleted (its tombstone's revision is the delete's, but a key that
 * does not exist has mod_revision 0 in etcd), or -1 on error. */
static gint64
write_rev (sqlite3 *db, const char *ekey, GError **error)
{
  return rev_query (db,
                    "SELECT CASE WHEN deleted THEN 0 ELSE mod_revision END FROM cluster_revs "
                    "WHERE ekey = ?",
                    ekey, error);
}

static gboolean
rev_set (sqlite3 *db, const char *ekey, gint64 rev, gboolean deleted, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (
      db, "INSERT OR REPLACE INTO cluster_revs (ekey, mod_revision, deleted) VALUES (?, ?, ?)",
      error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, ekey, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 2, rev);
  sqlite3_bind_int (st, 3, deleted);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot record the replica's revision");
  sqlite3_finalize (st);
  return ok;
}

/* Runs @sql with text parameters @a, @b (nullable: unused). */
static gboolean
exec2 (sqlite3 *db, const char *sql, const char *a, const char *b, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (db, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, a, -1, SQLITE_STATIC);
  if (b)
    sqlite3_bind_text (st, 2, b, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot update the replica");
  sqlite3_finalize (st);
  return ok;
}

/* A decoded base64url member of @obj (transfer full), or NULL. */
static GBytes *
b64_member (json_t *obj, const char *key)
{
  const char *text = json_string_value (json_object_get (obj, key));
  gsize len = 0;
  guint8 *data = text ? cg_b64url_decode (text, strlen (text), &len) : NULL;
  return data ? g_bytes_new_take (data, len) : NULL;
}

/* An HMAC is unique (tokens, enrollment codes): a row of another name
 * holding it was deleted in etcd (its event comes, or came, separately),
 * so it goes here.  @sql: "DELETE FROM <table> WHERE hmac = ? AND name <> ?". */
static gboolean
drop_hmac_elsewhere (sqlite3 *db, const char *sql, GBytes *hmac, const char *name,
                     const char *what, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (db, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_blob (st, 1, g_bytes_get_data (hmac, NULL), 32, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, name, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, what);
  sqlite3_finalize (st);
  return ok;
}

/* client/<serial> into the replica's clients table; its last use is this
 * node's, kept.  FALSE without @error: malformed. */
static gboolean
apply_client (sqlite3 *db, const char *serial, json_t *v, GError **error)
{
  const char *name, *spki, *enrolled, *expires, *revoked = NULL, *reason = NULL;
  if (json_unpack (v, "{s:s, s:s, s:s, s:s, s?s, s?s}", "name", &name, "spki", &spki,
                   "enrolled", &enrolled, "expires", &expires, "revoked", &revoked,
                   "revokedReason", &reason)
          != 0
      || !cg_name_is_valid (name) || (revoked && !reason))
    return FALSE;
  sqlite3_stmt *st = cg_db_prepare (
      db,
      "INSERT INTO clients (serial, name, spki, enrolled, expires, revoked, revoked_reason) "
      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (serial) DO UPDATE SET name = excluded.name, "
      "spki = excluded.spki, enrolled = excluded.enrolled, expires = excluded.expires, "
      "revoked = excluded.revoked, revoked_reason = excluded.revoked_reason",
      error);
  if (!st)
    return FALSE;
  const char *text[] = { serial, name, spki, enrolled, expires, revoked, reason };
  for (int i = 0; i < 7; i++)
    sqlite3_bind_text (st, i + 1, text[i], -1, SQLITE_STATIC); /* NULL binds NULL */
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot store the client certificate in the replica");
  sqlite3_finalize (st);
  return ok;
}

/* enroll/<name> into the replica's enroll_codes.  FALSE without @error:
 * malformed. */
static gboolean
apply_code (sqlite3 *db, const char *name, json_t *v, GError **error)
{
  const char *created, *expires;
  json_int_t validity;
  if (json_unpack (v, "{s:s, s:s, s:I}", "created", &created, "expires", &expires, "validity",
                   &validity)
          != 0
      || validity < 1)
    return FALSE;
  g_autoptr (GBytes) hmac = b64_member (v, "hmac");
  if (!hmac || g_bytes_get_size (hmac) != 32)
    return FALSE;
  const char *what = "cannot store the enrollment code in the replica";
  if (!drop_hmac_elsewhere (db, "DELETE FROM enroll_codes WHERE hmac = ? AND name <> ?", hmac,
                            name, what, error))
    return FALSE;
  sqlite3_stmt *st = cg_db_prepare (db,
                      "INSERT OR REPLACE INTO enroll_codes (name, hmac, created, expires, "
                      "validity) VALUES (?, ?, ?, ?, ?)",
                      error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_blob (st, 2, g_bytes_get_data (hmac, NULL), 32, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, created, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 4, expires, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 5, validity);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, what);
  sqlite3_finalize (st);
  return ok;
}

/* Writes a PUT of @area/@name to the replica's table.  FALSE without
 * @error set: the value is malformed (the caller logs and skips it). */
static gboolean
apply_put (sqlite3 *db, Area area, const char *name, GBytes *value, GError **error)
{
  gsize len = 0;
  const char *text = value ? g_bytes_get_data (value, &len) : NULL;
  json_auto_t *v = text ? cg_json_load_strict (text, len, NULL) : NULL;
  if (!json_is_object (v))
    return FALSE;

  if (area == AREA_REC)
    {
      const char *type, *props, *created, *updated;
      json_int_t version;
      if (json_unpack (v, "{s:s, s:s, s:I, s:s, s:s}", "type", &type, "properties", &props,
                       "version", &version, "created", &created, "updated", &updated)
          != 0)
        return FALSE;
      g_autoptr (GBytes) sealed = b64_member (v, "sealed");
      if (!sealed)
        return FALSE;
      sqlite3_stmt *st = cg_db_prepare (db,
                                        "INSERT OR REPLACE INTO credentials (name, type, "
                                        "properties, version, created, updated, sealed) "
                                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                                        error);
      if (!st)
        return FALSE;
      sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 2, type, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, props, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (st, 4, version);
      sqlite3_bind_text (st, 5, created, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 6, updated, -1, SQLITE_STATIC);
      sqlite3_bind_blob (st, 7, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed),
                         SQLITE_STATIC);
      gboolean ok = sqlite3_step (st) == SQLITE_DONE;
      if (!ok)
        cg_db_set_error (error, db, "cannot store the credential in the replica");
      sqlite3_finalize (st);
      return ok;
    }
  if (area == AREA_KEY)
    {
      const char *created;
      int current, retired;
      if (json_unpack (v, "{s:s, s:b, s:b}", "created", &created, "current", &current,
                       "retired", &retired)
          != 0)
        return FALSE;
      /* The use counters are this node's: kept. */
      sqlite3_stmt *st = cg_db_prepare (
          db,
          "INSERT INTO seal_keys (kid, created, current, retired) VALUES (?, ?, ?, ?) "
          "ON CONFLICT (kid) DO UPDATE SET created = excluded.created, "
          "current = excluded.current, retired = excluded.retired",
          error);
      if (!st)
        return FALSE;
      sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 2, created, -1, SQLITE_STATIC);
      sqlite3_bind_int (st, 3, current);
      sqlite3_bind_int (st, 4, retired);
      gboolean ok = sqlite3_step (st) == SQLITE_DONE;
      if (!ok)
        cg_db_set_error (error, db, "cannot store the key in the replica");
      sqlite3_finalize (st);
      return ok;
    }
  if (area == AREA_TOK)
    {
      const char *created;
      if (json_unpack (v, "{s:s}", "created", &created) != 0)
        return FALSE;
      g_autoptr (GBytes) hmac = b64_member (v, "hmac");
      if (!hmac || g_bytes_get_size (hmac) != 32)
        return FALSE;
      if (!drop_hmac_elsewhere (db, "DELETE FROM tokens WHERE hmac = ? AND name <> ?", hmac,
                                name, "cannot store the token in the replica", error))
        return FALSE;
      /* last_used is this node's: kept. */
      sqlite3_stmt *st = cg_db_prepare (db,
                                        "INSERT INTO tokens (name, hmac, created) VALUES (?, ?, ?) "
                                        "ON CONFLICT (name) DO UPDATE SET hmac = excluded.hmac, "
                                        "created = excluded.created",
                                        error);
      if (!st)
        return FALSE;
      sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
      sqlite3_bind_blob (st, 2, g_bytes_get_data (hmac, NULL), 32, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, created, -1, SQLITE_STATIC);
      gboolean ok = sqlite3_step (st) == SQLITE_DONE;
      if (!ok)
        cg_db_set_error (error, db, "cannot store the token in the replica");
      sqlite3_finalize (st);
      return ok;
    }
  if (area == AREA_CLIENT)
    return apply_client (db, name, v, error);
  if (area == AREA_CODE)
    return apply_code (db, name, v, error);
  /* AREA_META */
  const char *mv;
  if (json_unpack (v, "{s:s}", "value", &mv) != 0)
    return FALSE;
  return cg_db_meta_set (db, name, mv, error);
}

static gboolean
apply_delete (sqlite3 *db, Area area, const char *name, GError **error)
{
  static const char *const sql[] = {
    [AREA_REC] = "DELETE FROM credentials WHERE name = ?",
    [AREA_KEY] = "DELETE FROM seal_keys WHERE kid = ?",
    [AREA_TOK] = "DELETE FROM tokens WHERE name = ?",
    [AREA_META] = "DELETE FROM meta WHERE key = ?",
    [AREA_CLIENT] = "DELETE FROM clients WHERE serial = ?",
    [AREA_CODE] = "DELETE FROM enroll_codes WHERE name = ?",
  };
  return exec2 (db, sql[area], name, NULL, error);
}

typedef struct
{
  EtcdStore *s;
  GPtrArray *events; /* Event */
  gint64 applied;    /* > 0: record it as the applied revision */
} Apply;

/* One event, if it is newer than what the replica holds for its key. */
static gboolean
apply_event (EtcdStore *s, sqlite3 *db, const Event *ev, GError **error)
{
  g_autofree char *ekey = short_key (s, ev->kv->key);
  const char *name;
  Area area = ekey ? area_of (ekey, &name) : AREA_OTHER;
  if (area == AREA_OTHER || (area == AREA_META && meta_is_local (name)))
    return TRUE;
  if (!cg_name_is_valid (name))
    {
      /* Not a name this agent would have written (the rule of names,
       * kids and settings alike): not taken, and not quoted. */
      g_warning ("cluster: a key with an invalid name at revision %" G_GINT64_FORMAT
                 " in the %s area was skipped",
                 ev->kv->mod_revision, area_name (area));
      return TRUE;
    }
  gint64 have = rev_get (db, ekey, error);
  if (have < 0)
    return FALSE;
  if (ev->kv->mod_revision <= have)
    return TRUE; /* applied already (an own write, or a replay) */

  gboolean deleted = ev->type == CG_ETCD_EVENT_DELETE;
  if (deleted)
    {
      if (!apply_delete (db, area, name, error))
        return FALSE;
    }
  else
    {
      GError *local = NULL;
      if (!apply_put (db, area, name, ev->kv->value, &local))
        {
          if (local)
            {
              g_propagate_error (error, local);
              return FALSE;
            }
          /* Neither the key (it names a record or a token) nor the value
           * goes to the log. */
          g_warning ("cluster: a malformed value at revision %" G_GINT64_FORMAT
                     " in the %s area was skipped",
                     ev->kv->mod_revision, area_name (area));
        }
    }
  return rev_set (db, ekey, ev->kv->mod_revision, deleted, error);
}

static gboolean
set_applied (sqlite3 *db, gint64 applied, GError **error)
{
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, applied);
  if (!cg_db_meta_set (db, META_APPLIED, text, error))
    return FALSE;
  /* A tombstone only guards against events older than it; past the applied
   * revision none can come. */
  sqlite3_stmt *st = cg_db_prepare (
      db, "DELETE FROM cluster_revs WHERE deleted = 1 AND mod_revision <= ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64 (st, 1, applied);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot update the replica");
  sqlite3_finalize (st);
  return ok;
}

static gboolean
apply_txn (sqlite3 *db, gpointer user_data, GError **error)
{
  Apply *a = user_data;
  for (guint i = 0; i < a->events->len; i++)
    if (!apply_event (a->s, db, a->events->pdata[i], error))
      return FALSE;
  return a->applied <= 0 || set_applied (db, a->applied, error);
}

static gboolean
apply_events (EtcdStore *s, sqlite3 *db, GPtrArray *events, gint64 applied, GError **error)
{
  Apply a = { s, events, applied };
  return cg_db_transaction (db, apply_txn, &a, error);
}

/* ---- full sync ------------------------------------------------------------ */

typedef struct
{
  EtcdStore *s;
  GPtrArray *events; /* PUT of every key in the snapshot */
  GHashTable *keys;  /* short keys in the snapshot */
  gint64 revision;
  gboolean fresh;    /* the replica was never synced on this prefix: no row of it counts */
} Sync;

/* Deletes the rows of @table whose @head + @column is not in the snapshot;
 * for meta only the rows that came from etcd (cluster_revs). */
static gboolean
sync_delete_missing (sqlite3 *db, Sync *y, const char *select, const char *head, Area area,
                     GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (db, select, error);
  if (!st)
    return FALSE;
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  int r;
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (st, 0);
      g_autofree char *ekey = g_strconcat (head, name, NULL);
      if (!g_hash_table_contains (y->keys, ekey))
        g_ptr_array_add (gone, g_strdup (name));
    }
  sqlite3_finalize (st);
  if (r != SQLITE_DONE)
    {
      cg_db_set_error (error, db, "cannot read the replica");
      return FALSE;
    }
  for (guint i = 0; i < gone->len; i++)
    {
      /* An own write newer than the snapshot (made while it was read)
       * stays. */
      g_autofree char *ekey = g_strconcat (head, gone->pdata[i], NULL);
      gint64 have = rev_get (db, ekey, error);
      if (have < 0 || (have <= y->revision && !apply_delete (db, area, gone->pdata[i], error)))
        return FALSE;
    }
  return TRUE;
}

static gboolean
sync_txn (sqlite3 *db, gpointer user_data, GError **error)
{
  Sync *y = user_data;
  if (y->fresh && !cg_db_exec (db, "DELETE FROM cluster_revs", error))
    return FALSE;
  /* A joining node's own client CA gives way to the cluster's, and is gone
   * where the cluster has none yet: every node checks against one CA. */
  if (y->fresh && !g_hash_table_contains (y->keys, "meta/client_ca_cert")
      && !cg_db_exec (db, "DELETE FROM meta WHERE key = 'client_ca_cert'", error))
    return FALSE;
  if (!sync_delete_missing (db, y, "SELECT name FROM credentials", "rec/", AREA_REC, error)
      || !sync_delete_missing (db, y, "SELECT kid FROM seal_keys", "key/", AREA_KEY, error)
      || !sync_delete_missing (db, y, "SELECT name FROM tokens", "tok/", AREA_TOK, error)
      || !sync_delete_missing (db, y, "SELECT serial FROM clients", "client/", AREA_CLIENT,
                               error)
      || !sync_delete_missing (db, y, "SELECT name FROM enroll_codes", "enroll/", AREA_CODE,
                               error)
      || !sync_delete_missing (db, y,
                               "SELECT substr (ekey, 6) FROM cluster_revs "
                               "WHERE ekey LIKE 'meta/%' AND deleted = 0",
                               "meta/", AREA_META, error))
    return FALSE;
  /* What the snapshot holds is written below at its revisions; rows of own
   * writes newer than it keep theirs, and the snapshot's older copy is
   * skipped for them. */
  sqlite3_stmt *st = cg_db_prepare (db, "DELETE FROM cluster_revs WHERE mod_revision <= ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64 (st, 1, y->revision);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot update the replica");
  sqlite3_finalize (st);
  if (!ok)
    return FALSE;
  for (guint i = 0; i < y->events->len; i++)
    if (!apply_event (y->s, db, y->events->pdata[i], error))
      return FALSE;
  return cg_db_meta_set (db, META_PREFIX, y->s->prefix, error)
         && set_applied (db, y->revision, error);
}

/* Reads the whole prefix at one revision and makes the replica exactly
 * that; @other gets the snapshot's other keys.  On @db (the applier's
 * connection) with @etcd (its client). */
static gboolean
full_sync (EtcdStore *s, sqlite3 *db, CgEtcd *etcd, gboolean fresh, GError **error)
{
  g_autoptr (GBytes) prefix = full_key (s, "");
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func (event_free);
  g_autoptr (GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GBytes) from = NULL;
  gint64 revision = 0;
  gboolean more = TRUE;

  while (more)
    {
      g_autoptr (GPtrArray) kvs = NULL;
      g_autoptr (GError) local = NULL;
      gint64 rev = 0;
      if (!cg_etcd_range_from (etcd, prefix, from, CG_ETCD_RANGE_NONE, revision, SYNC_PAGE, &kvs,
                               &rev, &more, &local))
        {
          if (is_unreachable (local))
            {
              note_unreachable (s);
              set_cluster_error (error, local, "cannot sync this node's replica");
            }
          else
            g_set_error (error, CG_ERROR, CG_ERROR_FAILED,
                         "cannot sync this node's replica: %s", local->message);
          return FALSE;
        }
      if (revision == 0)
        revision = rev;
      for (guint i = 0; i < kvs->len; i++)
        {
          CgEtcdKv *kv = kvs->pdata[i];
          g_ptr_array_add (events, event_new (CG_ETCD_EVENT_PUT, kv));
          char *ekey = short_key (s, kv->key);
          if (ekey)
            g_hash_table_add (keys, ekey);
        }
      if (more && kvs->len > 0)
        {
          g_clear_pointer (&from, g_bytes_unref);
          from = cg_etcd_key_after (((CgEtcdKv *) kvs->pdata[kvs->len - 1])->key);
        }
      else
        more = FALSE;
    }
  note_contact (s, revision);

  Sync y = { s, events, keys, revision, fresh };
  if (!cg_db_transaction (db, sync_txn, &y, error))
    return FALSE;
  s->applied = revision;
  note_applied (s, revision);

  if (s->other)
    for (guint i = 0; i < events->len; i++)
      {
        Event *ev = events->pdata[i];
        g_autofree char *ekey = short_key (s, ev->kv->key);
        const char *rest;
        if (ekey && area_of (ekey, &rest) == AREA_OTHER)
          s->other (CG_ETCD_EVENT_PUT, ev->kv, s->cb_data);
      }
  if (s->changed)
    s->changed (CG_STORE_CHANGED_RECORDS | CG_STORE_CHANGED_KEYS | CG_STORE_CHANGED_TOKENS
                    | CG_STORE_CHANGED_META | CG_STORE_CHANGED_CLIENTS,
                revision, s->cb_data);
  return TRUE;
}

/* ---- the applier thread --------------------------------------------------- */

static gboolean
watch_event_cb (CgEtcdEventType type, const CgEtcdKv *kv, gpointer user_data)
{
  EtcdStore *s = user_data;
  g_ptr_array_add (s->pending, event_new (type, kv));
  return TRUE;
}

/* A watch message's events, whole revisions: one SQLite transaction. */
static gboolean
watch_batch_cb (gint64 revision, gpointer user_data)
{
  EtcdStore *s = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) events = g_steal_pointer (&s->pending);
  s->pending = g_ptr_array_new_with_free_func (event_free);

  /* Known from now on, applied or not: a replica that cannot take it (its
   * database locked by another process, a full disk) shows as behind. */
  note_seen (s, revision);
  if (!apply_events (s, s->apply_db, events, revision, &error))
    {
      /* Not applied, not recorded: the next round, after a pause, starts
       * from the same revision again (a full disk: until there is room).
       * Said once per revision, not once per try. */
      if (s->failed_logged != s->applied + 1)
        g_warning ("cluster: cannot apply the revisions from %" G_GINT64_FORMAT
                   " to the replica (retrying; reads answer from revision %" G_GINT64_FORMAT
                   "): %s",
                   s->applied + 1, s->applied, error->message);
      else
        g_debug ("cluster: applying the revisions from %" G_GINT64_FORMAT " failed again",
                 s->applied + 1);
      s->failed_logged = s->applied + 1;
      s->apply_failed = TRUE;
      return FALSE;
    }
  if (s->failed_logged)
    g_message ("cluster: the revisions from %" G_GINT64_FORMAT " applied to the replica after all",
               s->failed_logged);
  s->failed_logged = 0;
  s->applied = revision;
  note_applied (s, revision);
  note_contact (s, revision);

  guint areas = 0;
  for (guint i = 0; i < events->len; i++)
    {
      Event *ev = events->pdata[i];
      g_autofree char *ekey = short_key (s, ev->kv->key);
      const char *rest;
      Area area = ekey ? area_of (ekey, &rest) : AREA_OTHER;
      if (area == AREA_OTHER)
        {
          if (s->other && ekey)
            s->other (ev->type, ev->kv, s->cb_data);
        }
      else
        areas |= area_bit (area);
    }
  if (s->changed && areas)
    s->changed (areas, revision, s->cb_data);
  return TRUE;
}

/* Waits @ms or until the store is freed; FALSE when it is. */
static gboolean
applier_sleep (EtcdStore *s, guint ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;
  g_mutex_lock (&s->lock);
  while (!s->stopping)
    if (!g_cond_wait_until (&s->cond, &s->lock, until))
      break;
  gboolean go_on = !s->stopping;
  g_mutex_unlock (&s->lock);
  return go_on;
}

static gboolean
applier_stopping (EtcdStore *s)
{
  g_mutex_lock (&s->lock);
  gboolean stop = s->stopping;
  g_mutex_unlock (&s->lock);
  return stop;
}

static gpointer
applier_thread (gpointer user_data)
{
  EtcdStore *s = user_data;
  g_autoptr (GBytes) prefix = full_key (s, "");

  while (!applier_stopping (s))
    {
      g_autoptr (GError) error = NULL;
      if (s->need_sync)
        {
          gint64 was = s->applied;
          if (!full_sync (s, s->apply_db, s->watch_etcd, FALSE, &error))
            {
              if (!s->down_logged)
                g_warning ("cluster: %s (retrying; reads go on from the replica at revision %"
                           G_GINT64_FORMAT ")",
                           error->message, s->applied);
              s->down_logged = TRUE;
              applier_sleep (s, RETRY_MS);
              continue;
            }
          if (s->compacted)
            g_message ("cluster: resynced fully: etcd compacted past revision %" G_GINT64_FORMAT
                       " (now at revision %" G_GINT64_FORMAT ")",
                       was, s->applied);
          s->need_sync = s->compacted = FALSE;
        }

      gint64 next = 0, compact = 0, round_start = g_get_monotonic_time ();
      g_ptr_array_set_size (s->pending, 0);
      gboolean ok = cg_etcd_watch_batched (s->watch_etcd, prefix, TRUE, s->applied + 1,
                                           WATCH_ROUND_MS, watch_event_cb, watch_batch_cb, s,
                                           s->cancel, &next, &compact, &error);
      g_ptr_array_set_size (s->pending, 0);
      if (s->apply_failed)
        {
          s->apply_failed = FALSE;
          applier_sleep (s, RETRY_MS);
          continue;
        }
      if (ok)
        {
          note_contact (s, 0);
          if (s->down_logged)
            g_message ("cluster: etcd reached again; the replica is at revision %" G_GINT64_FORMAT,
                       s->applied);
          s->down_logged = FALSE;
          /* etcd ended the stream early (a member shutting down): not a
           * reason to reconnect in a loop. */
          if (g_get_monotonic_time () - round_start < WATCH_ROUND_MS * 1000 / 10)
            applier_sleep (s, RETRY_MS);
          continue;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        break;
      if (g_error_matches (error, CG_ETCD_ERROR, CG_ETCD_ERROR_COMPACTED))
        {
          s->need_sync = s->compacted = TRUE;
          continue;
        }
      if (is_unreachable (error))
        note_unreachable (s);
      if (!s->down_logged)
        g_warning ("cluster: cannot watch etcd (reads go on from the replica at revision %"
                   G_GINT64_FORMAT "): %s",
                   s->applied, error->message);
      s->down_logged = TRUE;
      applier_sleep (s, RETRY_MS);
    }
  return NULL;
}

/* ---- writes --------------------------------------------------------------- */

typedef struct
{
  CgEtcdTxn *txn;
  GPtrArray *events; /* what the txn does, applied to the replica after it */
  GPtrArray *ekeys;  /* the keys it writes, for a refresh after a conflict */
} Write;

static void
write_init (Write *w)
{
  w->txn = cg_etcd_txn_new ();
  w->events = g_ptr_array_new_with_free_func (event_free);
  w->ekeys = g_ptr_array_new_with_free_func (g_free);
}

static void
write_clear (Write *w)
{
  g_clear_pointer (&w->txn, cg_etcd_txn_free);
  g_clear_pointer (&w->events, g_ptr_array_unref);
  g_clear_pointer (&w->ekeys, g_ptr_array_unref);
}

/* Adds "@ekey must be at @expect (0: absent; -1: no compare)" and a PUT
 * (@value stolen) or, with @value NULL, a DELETE. */
static void
write_add (EtcdStore *s, Write *w, const char *ekey, json_t *value, gint64 expect)
{
  g_autoptr (GBytes) key = full_key (s, ekey);
  CgEtcdKv kv = { key, NULL, 0, 0, 0, 0 };
  if (expect >= 0)
    cg_etcd_txn_compare_mod_revision (w->txn, key, expect);
  if (value)
    {
      kv.value = json_bytes (value);
      json_decref (value);
      cg_etcd_txn_put (w->txn, key, kv.value, 0);
    }
  else
    cg_etcd_txn_delete (w->txn, key, FALSE);
  g_ptr_array_add (w->events, event_new (value ? CG_ETCD_EVENT_PUT : CG_ETCD_EVENT_DELETE, &kv));
  g_ptr_array_add (w->ekeys, g_strdup (ekey));
  g_clear_pointer (&kv.value, g_bytes_unref);
}

/* @etcd's per-call timeout for one call: @want, cut to what the write
 * started at @since has left of WRITE_BUDGET_MS, keeping @keep_ms of it
 * for what comes after the call.  0 when less than MIN_TXN_MS is left. */
static guint
budget_ms (gint64 since, guint want, gint64 keep_ms)
{
  gint64 left = WRITE_BUDGET_MS - (g_get_monotonic_time () - since) / 1000 - keep_ms;
  return left < MIN_TXN_MS ? 0 : (guint) MIN ((gint64) want, left);
}

static CgEtcd *
callers_client (EtcdStore *s, GError **error)
{
  if (!s->etcd)
    s->etcd = cg_vault_store_etcd_client (&s->parent, error);
  return s->etcd;
}

/* After a lost compare: the current state of @w's keys, read from etcd and
 * applied to the replica (a key that is gone as a delete at the read's
 * revision), so the caller re-reads what won.  Best effort, through @etcd,
 * the connection the txn just used: a new one would spend its first read's
 * bound on a TLS handshake, which a loaded host (ASan, CI) took past 1 s,
 * leaving the replica behind (test-vault-store-etcd's reseal-conflict). */
static void
refresh_keys (EtcdStore *s, CgEtcd *etcd, Write *w, gint64 since)
{
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func (event_free);
  guint full_ms = cg_etcd_get_timeout (etcd);
  for (guint i = 0; i < w->ekeys->len; i++)
    {
      g_autoptr (GBytes) key = full_key (s, w->ekeys->pdata[i]);
      g_autoptr (GPtrArray) kvs = NULL;
      gint64 rev = 0;
      guint read_ms = budget_ms (since, MIN (full_ms, REFRESH_MS), 0);
      if (read_ms == 0)
        break; /* the applier brings the rest */
      cg_etcd_set_timeout (etcd, read_ms);
      gboolean read = cg_etcd_range (etcd, key, CG_ETCD_RANGE_NONE, 0, 0, &kvs, &rev, NULL, NULL);
      cg_etcd_set_timeout (etcd, full_ms);
      if (!read)
        break;
      if (kvs->len == 1)
        g_ptr_array_add (events, event_new (CG_ETCD_EVENT_PUT, kvs->pdata[0]));
      else
        {
          CgEtcdKv gone = { key, NULL, 0, rev, 0, 0 };
          g_ptr_array_add (events, event_new (CG_ETCD_EVENT_DELETE, &gone));
        }
    }
  g_autoptr (GError) error = NULL;
  if (!apply_events (s, s->db, events, 0, &error))
    g_warning ("cluster: cannot refresh the replica after a conflict: %s", error->message);
}

/* A linearizable read of the prefix's "ready" key: the member's leader
 * must hear from a quorum to answer it (etcd's ReadIndex).  Run before
 * each txn, because a txn sent to a leader just cut off from its quorum
 * is appended to its log, times out here (so the client hears 503), and is
 * committed anyway once the quorum is back and that leader is elected
 * again: a write the client was told failed would appear later
 * (tests/test-cluster-quorum.sh saw it).  With the read first, a txn is
 * only proposed when a quorum answered a moment before. */
static gboolean
quorum_check (EtcdStore *s, CgEtcd *etcd, GError **error)
{
  g_autoptr (GBytes) key = full_key (s, "ready");
  g_autoptr (GPtrArray) kvs = NULL;
  return cg_etcd_range (etcd, key, CG_ETCD_RANGE_KEYS_ONLY, 0, 1, &kvs, NULL, NULL, error);
}

/* @etcd_error as the error of the write @what: CLUSTER_UNAVAILABLE when
 * etcd cannot be reached (noted in the state), else FAILED.  FALSE. */
static gboolean
write_failed (EtcdStore *s, const GError *etcd_error, const char *what, GError **error)
{
  if (is_unreachable (etcd_error))
    {
      note_unreachable (s);
      set_cluster_error (error, etcd_error, what);
      return FALSE;
    }
  g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "%s: %s", what, etcd_error->message);
  return FALSE;
}

/* A quorum check's outcome (or a txn's that did not get through): got
 * through, or found etcd unavailable (@etcd_error says unreachable);
 * neither for another error. */
static void
note_check (EtcdStore *s, gboolean got_through, const GError *etcd_error)
{
  if (!got_through && !is_unreachable (etcd_error))
    return;
  g_mutex_lock (&s->lock);
  if (got_through)
    s->available_at = g_get_monotonic_time ();
  else
    s->unavailable_at = g_get_monotonic_time ();
  g_mutex_unlock (&s->lock);
}

#define WAITED_IN_OUTAGE                                                                  \
  "etcd was found without quorum or out of reach while this change waited for its turn"

/* Was etcd found unavailable after @since, with nothing got through since
 * (the write counting from @since is refused at once)?  *@down: the last
 * check found it unavailable. */
static gboolean
found_down_since (EtcdStore *s, gint64 since, gboolean *down)
{
  g_mutex_lock (&s->lock);
  *down = s->unavailable_at > s->available_at;
  gboolean refused = *down && s->unavailable_at > since;
  g_mutex_unlock (&s->lock);
  return refused;
}

/* CLUSTER_UNAVAILABLE for the write @what, because @why.  FALSE. */
static gboolean
write_unavailable (const char *what, const char *why, GError **error)
{
  g_set_error (error, CG_ERROR, CG_ERROR_CLUSTER_UNAVAILABLE, "%s: the cluster is unavailable (%s)",
               what, why);
  return FALSE;
}

/* Runs @w's txn and applies it to the replica at its revision.  A lost
 * compare is CG_ERROR_CONFLICT (with the replica refreshed: the caller
 * words the error); etcd not reachable (or without quorum)
 * CG_ERROR_CLUSTER_UNAVAILABLE, and nothing proposed.
 *
 * The whole write ends within WRITE_BUDGET_MS of the request's arrival
 * (cg-write-clock.h), the time it waited for the callers' lock included.
 * A write that was already waiting when another found etcd unavailable is
 * refused at once, without a check of its own: it would only wait out the
 * same timeout again, and with a few of them queued the last would answer
 * long after 5 s.  One that arrived after that failure, or after a write
 * got through since, checks for itself, so a write that arrives once
 * contact is back is never refused for an outage it did not wait in. */
static gboolean
write_commit_since (EtcdStore *s, CgEtcd *etcd, Write *w, gint64 since, const char *what,
                    GError **error)
{
  g_autoptr (GError) local = NULL;
  gint64 rev = 0;
  gboolean known_down;
  if (found_down_since (s, since, &known_down))
    return write_unavailable (what, WAITED_IN_OUTAGE, error);

  guint full_ms = cg_etcd_get_timeout (etcd);
  guint check_ms = budget_ms (since, MIN (full_ms, known_down ? QUORUM_RECHECK_MS
                                                              : QUORUM_CHECK_MS), MIN_TXN_MS);
  if (check_ms == 0)
    return write_unavailable (what, "no time left to reach etcd: the change waited too long "
                              "for its turn", error);
  cg_etcd_set_timeout (etcd, check_ms);
  gboolean checked = quorum_check (s, etcd, &local);
  cg_etcd_set_timeout (etcd, full_ms);
  note_check (s, checked, local);
  if (!checked)
    return write_failed (s, local, what, error);

  /* The txn gets what the check left of the write's budget, so that the
   * whole write still answers within 5 s of its arrival. */
  guint txn_ms = budget_ms (since, full_ms, 0);
  if (txn_ms == 0)
    {
      note_unreachable (s);
      return write_unavailable (what, "etcd answered too slowly", error);
    }
  cg_etcd_set_timeout (etcd, txn_ms);
  gboolean committed = cg_etcd_txn (etcd, w->txn, &rev, &local);
  cg_etcd_set_timeout (etcd, full_ms);
  if (!committed)
    {
      if (g_error_matches (local, CG_ETCD_ERROR, CG_ETCD_ERROR_CONFLICT))
        {
          note_contact (s, rev);
          refresh_keys (s, etcd, w, since);
          g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT, "%s: changed meanwhile on another node",
                       what);
          return FALSE;
        }
      note_check (s, FALSE, local);
      if (g_error_matches (local, CG_ETCD_ERROR, CG_ETCD_ERROR_UNAVAILABLE))
        {
          /* Sent, not confirmed (the quorum went between the check and
           * the txn): a leader that lost its quorum keeps the txn in its
           * log and may commit it when the members return; the watch then
           * brings it here like any other write.  The client is told that
           * it may still happen. */
          note_unreachable (s);
          g_set_error (error, CG_ERROR, CG_ERROR_CLUSTER_UNAVAILABLE,
                       "%s: the cluster did not confirm the change in time (%s); if etcd "
                       "still commits it once its quorum is back, every node will show it",
                       what, local->message);
          return FALSE;
        }
      return write_failed (s, local, what, error);
    }
  note_contact (s, rev);
  for (guint i = 0; i < w->events->len; i++)
    ((Event *) w->events->pdata[i])->kv->mod_revision = rev;
  if (!apply_events (s, s->db, w->events, 0, &local))
    {
      /* In the cluster, not here: the applier tries again from the watch. */
      g_set_error (error, CG_ERROR, CG_ERROR_IO,
                   "%s: done in the cluster (revision %" G_GINT64_FORMAT
                   "), but this node's replica cannot record it: %s",
                   what, rev, local->message);
      return FALSE;
    }
  return TRUE;
}

/* write_commit_since, from the request's arrival (cg-write-clock.h) or,
 * outside a request, from now. */
static gboolean
write_commit (EtcdStore *s, Write *w, const char *what, GError **error)
{
  CgEtcd *etcd = callers_client (s, error);
  if (!etcd)
    return FALSE;
  gint64 since = cg_write_clock_since ();
  if (since == 0)
    since = g_get_monotonic_time ();
  gboolean ok = write_commit_since (s, etcd, w, since, what, error);
  cg_write_clock_restart ();
  return ok;
}

/* ---- records -------------------------------------------------------------- */


static json_t *
record_get (CgVaultStore *store, const char *name, GBytes **sealed, GError **error)
{
  CgVaultStore *local = ((EtcdStore *) store)->local;
  return local->ops->record_get (local, name, sealed, error);
}

static json_t *
record_list (CgVaultStore *store, GError **error)
{
  CgVaultStore *local = ((EtcdStore *) store)->local;
  return local->ops->record_list (local, error);
}

/* @name's version and creation time in the replica (0 / NULL when absent),
 * and its recorded mod_revision.  FALSE on a read error. */
static gboolean
replica_record (EtcdStore *s, const char *name, gint64 *version, char **created, gint64 *rev,
                GError **error)
{
  *version = 0;
  *created = NULL;
  sqlite3_stmt *st
      = cg_db_prepare (s->db, "SELECT version, created FROM credentials WHERE name = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
  int r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      *version = sqlite3_column_int64 (st, 0);
      *created = g_strdup ((const char *) sqlite3_column_text (st, 1));
    }
  else if (r != SQLITE_DONE)
    cg_db_set_error (error, s->db, "cannot read the credential");
  sqlite3_finalize (st);
  if (r != SQLITE_ROW && r != SQLITE_DONE)
    return FALSE;
  g_autofree char *ekey = g_strconcat ("rec/", name, NULL);
  *rev = write_rev (s->db, ekey, error);
  return *rev >= 0;
}

/* The error after a lost compare on @name, from the replica refreshed with
 * what won: NOT_FOUND when it is gone and @gone_is_not_found (a delete, a
 * re-seal), else CONFLICT naming the version it is at now. */
static void
record_conflict (EtcdStore *s, const char *name, gboolean gone_is_not_found, GError **error)
{
  gint64 version = 0, rev = 0;
  g_autofree char *created = NULL;
  g_clear_error (error);
  gboolean read = replica_record (s, name, &version, &created, &rev, NULL);
  if (read && version == 0 && gone_is_not_found)
    g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no credential named \"%s\"", name);
  else if (read && version > 0)
    g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                 "the credential \"%s\" was changed on another node meanwhile: it is now at "
                 "version %" G_GINT64_FORMAT,
                 name, version);
  else
    g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                 "the credential \"%s\" was changed on another node meanwhile", name);
}

static json_t *
record_value (const char *type, const char *props_text, gint64 version, const char *created,
              const char *updated, GBytes *sealed)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (sealed, &len);
  g_autofree char *b64 = cg_b64url_encode (data, len);
  return json_pack ("{s:s, s:s, s:I, s:s, s:s, s:s}", "type", type, "properties", props_text,
                    "version", (json_int_t) version, "created", created, "updated", updated,
                    "sealed", b64);
}

static gboolean meta_rev (EtcdStore *s, const char *key, gint64 *rev, GError **error);
static char *meta_get (CgVaultStore *store, const char *key, GError **error);

/* A record's sealed bytes name the master key they were sealed under: the
 * txn that writes them holds only while meta master_current is still at the
 * replica's revision, so a node whose replica has not yet applied another
 * node's new master key cannot seal a record under the old one after that
 * node's last re-seal pass (key rotate --all could never drop it). */
static gboolean
write_compare_master (EtcdStore *s, Write *w, gint64 *master_rev, GError **error)
{
  if (!meta_rev (s, "master_current", master_rev, error))
    return FALSE;
  g_autoptr (GBytes) key = full_key (s, "meta/master_current");
  cg_etcd_txn_compare_mod_revision (w->txn, key, *master_rev);
  g_ptr_array_add (w->ekeys, g_strdup ("meta/master_current")); /* refreshed after a loss */
  return TRUE;
}

/* After a lost compare on a record write (the replica refreshed): TRUE when
 * meta master_current had moved, with the new master key in this node's
 * keyring (the master_needed callback installs its wrap): the caller seals
 * again and tries once more, comparing the record's revision as before (a
 * record that changed too is still a conflict), and the client never sees
 * that race.  FALSE otherwise. */
static gboolean
master_moved (EtcdStore *s, const char *name, gint64 master_rev)
{
  gint64 now_master = -1;
  if (!meta_rev (s, "master_current", &now_master, NULL) || now_master == master_rev)
    return FALSE;
  if (!s->master_needed)
    return TRUE;
  g_autoptr (GError) error = NULL;
  g_autofree char *mkid = meta_get (&s->parent, "master_current", NULL);
  g_autofree char *secret_id = g_strconcat ("master/", mkid && *mkid ? mkid : "0", NULL);
  if (!s->refresh_etcd)
    s->refresh_etcd = cg_etcd_new ((const char *const *) s->endpoints, s->ca_file, s->cert_file,
                                   s->key_file, MIN (REFRESH_MS, s->timeout_ms), &error);
  if (!s->refresh_etcd || !s->master_needed (secret_id, s->refresh_etcd, s->master_data, &error))
    {
      g_warning ("cluster: master key %s made on another node is not usable here yet: %s",
                 mkid ? mkid : "0", error->message);
      return FALSE;
    }
  g_message ("cluster: master key %s became current on another node while %s was sealed "
             "here; sealed again under it",
             mkid ? mkid : "0", name);
  return TRUE;
}

static json_t *
record_put (CgVaultStore *store, const char *name, const char *type, const char *props_text,
            const char *now, CgVaultSealFunc seal, gpointer seal_data, GError **error)
{
  EtcdStore *s = (EtcdStore *) store;
  gint64 version = 0, rev = 0;
  g_autofree char *created = NULL;
  if (!replica_record (s, name, &version, &created, &rev, error))
    return NULL;
  version++;
  const char *first = created ? created : now;
  g_autofree char *ekey = g_strconcat ("rec/", name, NULL);

  gboolean ok = FALSE;
  for (int tries = 0; tries < 2 && !ok; tries++)
    {
      g_clear_error (error);
      g_autoptr (GBytes) sealed = seal (version, seal_data);
      if (!sealed)
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "cannot seal the credential");
          return NULL;
        }
      gint64 master_rev = 0;
      Write w;
      write_init (&w);
      write_add (s, &w, ekey, record_value (type, props_text, version, first, now, sealed), rev);
      ok = write_compare_master (s, &w, &master_rev, error)
           && write_commit (s, &w, "cannot store the credential", error);
      write_clear (&w);
      if (!ok && (!g_error_matches (*error, CG_ERROR, CG_ERROR_CONFLICT)
                  || !master_moved (s, name, master_rev)))
        break;
    }
  if (!ok)
    {
      if (g_error_matches (*error, CG_ERROR, CG_ERROR_CONFLICT))
        record_conflict (s, name, FALSE, error);
      return NULL;
    }
  json_t *props = json_loads (props_text, 0, NULL);
  return json_pack ("{s:s, s:s, s:o, s:I, s:s, s:s}", "name", name, "type", type, "properties",
                    props ? props : json_object (), "version", (json_int_t) version, "created",
                    first, "updated", now);
}

static gboolean
record_delete (CgVaultStore *store, const char *name, GError **error)
{
  EtcdStore *s = (EtcdStore *) store;
  gint64 version = 0, rev = 0;
  g_autofree char *created = NULL;
  if (!replica_record (s, name, &version, &created, &rev, error))
    return FALSE;
  if (version == 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no credential named \"%s\"", name);
      return FALSE;
    }
  g_autofree char *ekey = g_strconcat ("rec/", name, NULL);
  Write w;
  write_init (&w);
  write_add (s, &w, ekey, NULL, rev);
  gboolean ok = write_commit (s, &w, "cannot delete the credential", error);
  write_clear (&w);
  if (!ok && g_error_matches (*error, CG_ERROR, CG_ERROR_CONFLICT))
    record_conflict (s, name, TRUE, error); /* deleted meanwhile: as if here */
  return ok;
}

/* The sealed bytes are replaced, nothing else: the row's own text of type,
 * properties and times goes back as it is. */
static gboolean
record_reseal (CgVaultStore *store, const char *name, gint64 expect_version,
               CgVaultResealFunc reseal, gpointer data, GError **error)
{
  EtcdStore *s = (EtcdStore *) store;
  sqlite3_stmt *st = cg_db_prepare (s->db,
                                    "SELECT type, properties, version, created, updated, sealed "
                                    "FROM credentials WHERE name = ?",
                                    error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
  int r = sqlite3_step (st);
  if (r != SQLITE_ROW)
    {
      if (r == SQLITE_DONE)
        g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no credential named \"%s\"", name);
      else
        cg_db_set_error (error, s->db, "cannot read the credential");
      sqlite3_finalize (st);
      return FALSE;
    }
  g_autofree char *type = g_strdup ((const char *) sqlite3_column_text (st, 0));
  g_autofree char *props = g_strdup ((const char *) sqlite3_column_text (st, 1));
  gint64 version = sqlite3_column_int64 (st, 2);
  g_autofree char *created = g_strdup ((const char *) sqlite3_column_text (st, 3));
  g_autofree char *updated = g_strdup ((const char *) sqlite3_column_text (st, 4));
  g_autoptr (GBytes) old = g_bytes_new (sqlite3_column_blob (st, 5), sqlite3_column_bytes (st, 5));
  sqlite3_finalize (st);
  if (version != expect_version)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                   "the credential \"%s\" is at version %" G_GINT64_FORMAT ", not %" G_GINT64_FORMAT,
                   name, version, expect_version);
      return FALSE;
    }
  g_autofree char *ekey = g_strconcat ("rec/", name, NULL);
  gint64 rev = write_rev (s->db, ekey, error);
  if (rev < 0)
    return FALSE;
  gboolean ok = FALSE;
  for (int tries = 0; tries < 2 && !ok; tries++)
    {
      g_clear_error (error);
      g_autoptr (GBytes) sealed = reseal (old, version, data, error);
      if (!sealed)
        return FALSE;
      gint64 master_rev = 0;
      Write w;
      write_init (&w);
      write_add (s, &w, ekey, record_value (type, props, version, created, updated, sealed), rev);
      ok = write_compare_master (s, &w, &master_rev, error)
           && write_commit (s, &w, "cannot re-seal the credential", error);
      write_clear (&w);
      if (!ok && (!g_error_matches (*error, CG_ERROR, CG_ERROR_CONFLICT)
                  || !master_moved (s, name, master_rev)))
        break;
    }
  if (!ok && g_error_matches (*error, CG_ERROR, CG_ERROR_CONFLICT))
    record_conflict (s, name, TRUE, error);
  return ok;
}

/* ---- sealing keys --------------------------------------------------------- */

static json_t *
key_list (CgVaultStore *store, GError **error)
{
  CgVaultStore *local = ((EtcdStore *) store)->local;
  return local->ops->key_list (local, error);
}

/* The key row of @kid in the replica: created, current, retired; FALSE
 * with NOT_FOUND when absent. */
static gboolean
replica_key (EtcdStore *s, const char *kid, char **created, gboolean *current,
             gboolean *retired, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (
      s->db, "SELECT created, current, retired FROM seal_keys WHERE kid = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, kid, -1, SQLITE_STATIC);
  int r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      *created = g_strdup ((const char *) sqlite3_column_text (st, 0));
      *current = sqlite3_column_int (st, 1);
      *retired = sqlite3_column_int (st, 2);
    }
  else if (r == SQLITE_DONE)
    g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no sealing key %s", kid);
  else
    cg_db_set_error (error, s->db, "cannot read the sealing keys");
  sqlite3_finalize (st);
  return r == SQLITE_ROW;
}

static json_t *
key_value (const char *created, gboolean current, gboolean retired)
{
  return json_pack ("{s:s, s:b, s:b}", "created", created, "current", current, "retired",
                    retired);
}

static gboolean
meta_rev (EtcdStore *s, const char *key, gint64 *rev, GError **error)
{
  g_autofree char *ekey = g_strconcat ("meta/", key, NULL);
  *rev = write_rev (s->db, ekey, error);
  return *rev >= 0;
}

static gboolean
key_add_current (CgVaultStore *store, const char *kid, const char *now, gboolean first,
                 GError **error)
{
  EtcdStore *s = (EtcdStore *) store;
  const char *what = first ? "cannot record the new keys" : "cannot record the new key";
  g_autofree char *created = NULL;
  gboolean current = FALSE, retired = FALSE;
  g_autoptr (GError) lookup = NULL;
  if (replica_key (s, kid, &created, &current, &retired, &lookup))
    {
      /* As the SQLite store: a kid is random, a clash is a fault. */
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "%s: the sealing key %s exists", what, kid);
      return FALSE;
    }
  if (!g_error_matches (lookup, CG_ERROR, CG_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&lookup));
      return FALSE;
    }

  /* The newest key row the replica knows: the txn holds only if no key row
   * changed since, so two nodes adding a key at once cannot both make theirs
   * the one current key. */
  sqlite3_stmt *st = cg_db_prepare (s->db,
                                    "SELECT coalesce (max (mod_revision), 0) FROM cluster_revs "
                                    "WHERE ekey >= 'key/' AND ekey < 'key0'",
                                    error);
  if (!st)
    return FALSE;
  gint64 newest = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : -1;
  sqlite3_finalize (st);
  if (newest < 0)
    {
      cg_db_set_error (error, s->db, "cannot read the sealing keys");
      return FALSE;
    }

  Write w;
  write_init (&w);
  g_autoptr (GBytes) key_prefix = full_key (s, "key/");
  cg_etcd_txn_compare_prefix_mod_below (w.txn, key_prefix, newest + 1);
  g_autofree char *ekey = g_strconcat ("key/", kid, NULL);
  write_add (s, &w, ekey, key_value (now, TRUE, FALSE), 0);

  gboolean ok = TRUE;
  st = cg_db_prepare (s->db, "SELECT kid, created, retired FROM seal_keys WHERE current = 1",
                      error);
  ok = st != NULL;
  int r = SQLITE_DONE;
  while (ok && (r = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_autofree char *other = g_strconcat ("key/", sqlite3_column_text (st, 0), NULL);
      write_add (s, &w, other,
                 key_value ((const char *) sqlite3_column_text (st, 1), FALSE,
                            sqlite3_column_int (st, 2)),
                 -1);
    }
  if (st)
    sqlite3_finalize (st);
  if (ok && r != SQLITE_DONE)
    {
      cg_db_set_error (error, s->db, "cannot read the sealing keys");
      ok = FALSE;
    }

  gint64 made_rev = 0;
  if (ok && first && (ok = meta_rev (s, "keys_created", &made_rev, error)))
    write_add (s, &w, "meta/keys_created", json_pack ("{s:s}", "value", "1"), made_rev);

  if (ok && s->key_wraps)
    {
      g_autofree char *secret_id = g_strconcat ("seal/", kid, NULL);
      ok = s->key_wraps (secret_id, w.txn, s->cb_data, error);
    }
  ok = ok && write_commit (s, &w, what, error);
  write_clear (&w);
  return ok;
}

static gboolean
key_retire (CgVaultStore *store, const char *kid, GError **error)
{
  EtcdStore *s = (EtcdStore *) store;
  g_autofree char *created = NULL;
  gboolean current = FALSE, retired = FALSE;
  if (!replica_key (s, kid, &created, &current, &retired, error))
    return FALSE;
  g_autofree char *ekey = g_strconcat ("key/", kid, NULL);
  gint64 rev = write_rev (s->db, ekey, error);
  if (rev < 0)
    return FALSE;
  Write w;
  write_init (&w);
  write_add (s, &w, ekey, key_value (created, current, TRUE), rev);
  gboolean ok = write_commit (s, &w, "cannot retire the key", error);
  write_clear (&w);
  return ok;
}

/* This node's counters: local. */
static gboolean
key_note_use (CgVaultStore *store, const char *kid, gint64 count, const char *last,
              GError **error)
{
  CgVaultStore *local = ((EtcdStore *) store)->local;
  return local->ops->key_note_use (local, kid, count, last, error);
}

/* ---- tokens --------------------------------------------------------------- */

static gboolean
replica_has (EtcdStore *s, const char *sql, const char *name, gboolean *has, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (s->db, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
  int r = sqlite3_step (st);
  *has = r == SQLITE_ROW;
  if (r != SQLITE_ROW && r != SQLITE_DONE)
    cg_db_set_error (error, s->db, "cannot read the replica");
  sqlite3_finalize (st);
  return r == SQLITE_ROW || r == SQLITE_DONE;
}

static gboolean
token_add (CgVaultStore *store, const char *name, const guint8 *hmac, const char *now,
           GError **error)
{
  EtcdStore *s = (EtcdStore *) store;
  gboolean has = FALSE;
  if (!replica_has (s, "SELECT 1 FROM tokens WHERE name = ?", name, &has, error))
    return FALSE;
  if (has)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_EXISTS, "a token named \"%s\" already exists", name);
      return FALSE;
    }
  g_autofree char *ekey = g_strconcat ("tok/", name, NULL);
  g_autofree char *b64 = cg_b64url_encode (hmac, 32);
  Write w;
  write_init (&w);
  write_add (s, &w, ekey, json_pack ("{s:s, s:s}", "hmac", b64, "created", now), 0);
  gboolean ok = write_commit (s, &w, "cannot store the token", error);
  write_clear (&w);
  if (!ok && g_error_matches (*error, CG_ERROR, CG_ERROR_CONFLICT))
    {
      g_clear_error (error);
      g_set_error (error, CG_ERROR, CG_ERROR_EXISTS, "a token named \"%s\" already exists", name);
    }
  return ok;
}

static char *
token_find (CgVaultStore *store, const guint8 *hmac, char **last_used, GError **error)
{
  CgVaultStore *local = ((EtcdStore *) store)->local;
  return local->ops->token_find (local, hmac, last_used, error);
}

/* last_used is this node's: local. */
static gboolean
token_touch (CgVaultStore *store, const char *name, const char *when, GError **error)
{
  CgVaultStore *local = ((EtcdStore *) store)->local;
  return local->ops->token_touch (local, name, when, error);
}

static json_t *
token_list (CgVaultStore *store, GError **error)
{
  CgVaultStore *local = ((EtcdStore *) store)->local;
  return local->ops->token_list (local, error);
}

static gboolean
token_delete (CgVaultStore *store, const char *name, GError **error)
{
  EtcdStore *s = (EtcdStore *) store;
  gboolean has = FALSE;
  if (!replica_has (s, "SELECT 1 FROM tokens WHERE name = ?", name, &has, error))
    return FALSE;
  if (!has)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no token named \"%s\"", name);
      return FALSE;
    }
  g_autofree char *ekey = g_strconcat ("tok/", name, NULL);
  gint64 rev = write_rev (s->db, ekey, error);
  if (rev < 0)
    return FALSE;
  Write w;
  write_init (&w);
  write_add (s, &w, ekey, NULL, rev);
  gboolean ok = write_commit (s, &w, "cannot revoke the token", error);
  write_clear (&w);
  if (!ok && g_error_matches (*error, CG_ERROR, CG_ERROR_CONFLICT)
      && replica_has (s, "SELECT 1 FROM tokens WHERE name = ?", name, &has, NULL) && !has)
    {
      g_clear_error (error);
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no token named \"%s\"", name);
    }
  return ok;
}

/* ---- client certificates ------------------------------------------------- */

static json_t *
client_value (const char *name, const char *spki, const char *enrolled, const char *expires,
              const char *revoked, const char *reason)
{
  json_t *v = json_pack ("{s:s, s:s, s:s, s:s}", "name", name, "spki", spki, "enrolled",
                         enrolled, "expires", expires);
  if (revoked)
    {
      json_object_set_new (v, "revoked", json_string (revoked));
      json_object_set_new (v, "revokedReason", json_string (reason ? reason : "revoked"));
    }
  return v;
}

static json_t *
code_value (const guint8 *hmac, const char *created, const char *expires, gint64 validity_s)
{
  g_autofree char *b64 = cg_b64url_encode (hmac, 32);
  return json_pack ("{s:s, s:s, s:s, s:I}", "hmac", b64, "created", created, "expires", expires,
                    "validity", (json_int_t) validity_s);
}

static gboolean
client_code_add (CgVaultStore *store, const char *name, const guint8 *hmac, const char *created,
                 const char *expires, gint64 validity_s, GError **error)
{
  EtcdStore *s = (EtcdStore *) store;
  g_autofree char *ekey = g_strconcat ("enroll/", name, NULL);
  gboolean ok = FALSE;
  /* A new code replaces the name's last: a lost compare (another node
   * made one meanwhile) is tried once more over what won. */
  for (int tries = 0; tries < 2 && !ok; tries++)
    {
      g_clear_error (error);
      gint64 rev = write_rev (s->db, ekey, error);
      if (rev < 0)
        return FALSE;
      Write w;
      write_init (&w);
      write_add (s, &w, ekey, code_value (hmac, created, expires, validity_s), rev);
      ok = write_commit (s, &w, "cannot store the enrollment code", error);
      write_clear (&w);
      if (!ok && !g_error_matches (*error, CG_ERROR, CG_ERROR_CONFLICT))
        break;
    }
  return ok;
}

/* From the replica, which only the applier changes: an expired code stays
 * until the name gets another, enrolls or is revoked (a failed attempt
 * writes nothing to etcd). */
static char *
client_code_find (CgVaultStore *store, const guint8 *hmac, const char *now, gint64 *validity_s,
                  GError **error)
{
  EtcdStore *s = (EtcdStore *) store;
  sqlite3_stmt *st = cg_db_prepare (
      s->db, "SELECT name, validity FROM enroll_codes WHERE hmac = ? AND expires > ?", error);
  if (!st)
    return NULL;
  sqlite3_bind_blob (st, 1, hmac, 32, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, now, -1, SQLITE_STATIC);
  char *name = NULL;
  int r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      name = g_strdup ((const char *) sqlite3_column_text (st, 0));
      if (validity_s)
        *validity_s = sqlite3_column_int64 (st, 1);
    }
  else if (r != SQLITE_DONE)
    cg_db_set_error (error, s->db, "cannot read the enrollment codes");
  sqlite3_finalize (st);
  return name;
}

/* Is @hmac still @name's pending code in the replica?  -1 on a read error. */
static int
replica_code_is (EtcdStore *s, const char *name, const guint8 *hmac, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (s->db, "SELECT hmac FROM enroll_codes WHERE name = ?", error);
  if (!st)
    return -1;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
  int r = sqlite3_step (st), is = 0;
  if (r == SQLITE_ROW)
    is = sqlite3_column_bytes (st, 0) == 32 && cg_equal_ct (sqlite3_column_blob (st, 0), hmac, 32);
  else if (r != SQLITE_DONE)
    {
      cg_db_set_error (error, s->db, "cannot read the enrollment codes");
      is = -1;
    }
  sqlite3_finalize (st);
  return is;
}

/* Adds to @w: each of @name's live certificates marked revoked at @now for
 * @reason, each compared with the replica's revision; *@count gets how
 * many.  FALSE on a read error. */
static gboolean
write_revoke_name (EtcdStore *s, Write *w, const char *name, const char *now, const char *reason,
                   guint *count, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (s->db,
                                    "SELECT serial, spki, enrolled, expires FROM clients "
                                    "WHERE name = ? AND revoked IS NULL",
                                    error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
  int r;
  gboolean ok = TRUE;
  while (ok && (r = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_autofree char *ekey = g_strconcat ("client/", sqlite3_column_text (st, 0), NULL);
      gint64 rev = write_rev (s->db, ekey, error);
      ok = rev >= 0;
      if (ok)
        write_add (s, w, ekey,
                   client_value (name, (const char *) sqlite3_column_text (st, 1),
                                 (const char *) sqlite3_column_text (st, 2),
                                 (const char *) sqlite3_column_text (st, 3), now, reason),
                   rev);
      (*count)++;
    }
  if (ok && r != SQLITE_DONE)
    {
      cg_db_set_error (error, s->db, "cannot read the enrolled clients");
      ok = FALSE;
    }
  sqlite3_finalize (st);
  return ok;
}

/* One etcd txn: the code's key deleted if still at the replica's revision
 * (so of two nodes redeeming it at once one wins: the other's compare
 * fails, and its refreshed replica no longer holds the code), the name's
 * live certificates superseded, the new one created (compare: absent). */
static gboolean
client_enroll (CgVaultStore *store, const guint8 *hmac, const char *name, const char *serial,
               const char *spki, const char *now, const char *expires, GError **error)
{
  EtcdStore *s = (EtcdStore *) store;
  g_autofree char *code_key = g_strconcat ("enroll/", name, NULL);
  g_autofree char *cert_key = g_strconcat ("client/", serial, NULL);
  gboolean ok = FALSE;
  for (int tries = 0; tries < 2 && !ok; tries++)
    {
      g_clear_error (error);
      int is = replica_code_is (s, name, hmac, error);
      if (is < 0)
        return FALSE;
      if (!is)
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                               "the enrollment code is gone (used or replaced)");
          return FALSE;
        }
      gint64 code_rev = write_rev (s->db, code_key, error);
      if (code_rev < 0)
        return FALSE;
      Write w;
      guint superseded = 0;
      write_init (&w);
      write_add (s, &w, code_key, NULL, code_rev);
      ok = write_revoke_name (s, &w, name, now, "superseded", &superseded, error);
      if (ok)
        write_add (s, &w, cert_key, client_value (name, spki, now, expires, NULL, NULL), 0);
      ok = ok && write_commit (s, &w, "cannot record the client certificate", error);
      write_clear (&w);
      /* Lost: the refreshed replica says whether the code went (the next
       * round refuses it) or something else changed (tried once more). */
      if (!ok && !g_error_matches (*error, CG_ERROR, CG_ERROR_CONFLICT))
        break;
    }
  return ok;
}

static json_t *
client_get (CgVaultStore *store, const char *serial, GError **error)
{
  CgVaultStore *local = ((EtcdStore *) store)->local;
  return local->ops->client_get (local, serial, error);
}

/* last_used is this node's: local. */
static gboolean
client_touch (CgVaultStore *store, const char *serial, const char *when, GError **error)
{
  CgVaultStore *local = ((EtcdStore *) store)->local;
  return local->ops->client_touch (local, serial, when, error);
}

static json_t *
client_list (CgVaultStore *store, const char *now, GError **error)
{
  CgVaultStore *local = ((EtcdStore *) store)->local;
  return local->ops->client_list (local, now, error);
}

static gboolean
client_revoke (CgVaultStore *store, const char *name, const char *now, GError **error)
{
  EtcdStore *s = (EtcdStore *) store;
  g_autofree char *code_key = g_strconcat ("enroll/", name, NULL);
  gboolean ok = FALSE;
  for (int tries = 0; tries < 2 && !ok; tries++)
    {
      g_clear_error (error);
      gboolean has_code = FALSE;
      guint count = 0;
      if (!replica_has (s, "SELECT 1 FROM enroll_codes WHERE name = ?", name, &has_code, error))
        return FALSE;
      Write w;
      write_init (&w);
      ok = write_revoke_name (s, &w, name, now, "revoked", &count, error);
      if (ok && has_code)
        {
          gint64 rev = write_rev (s->db, code_key, error);
          ok = rev >= 0;
          if (ok)
            write_add (s, &w, code_key, NULL, rev);
        }
      if (ok && count == 0 && !has_code)
        {
          g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                       "no enrolled client or pending code named \"%s\"", name);
          write_clear (&w);
          return FALSE;
        }
      ok = ok && write_commit (s, &w, "cannot revoke the client", error);
      write_clear (&w);
      /* Lost to a change on another node: once more over what won. */
      if (!ok && !g_error_matches (*error, CG_ERROR, CG_ERROR_CONFLICT))
        break;
    }
  return ok;
}

/* ---- the rest ------------------------------------------------------------- */

static char *
meta_get (CgVaultStore *store, const char *key, GError **error)
{
  CgVaultStore *local = ((EtcdStore *) store)->local;
  return local->ops->meta_get (local, key, error);
}

/* meta master_old loses master key ids when key rotate --all has re-sealed
 * every record: the same txn deletes every node's wrap of those keys
 * (P/wrap/<node>/master/<id>), so no node is handed them again and each
 * node drops its keyring copy when it sees its wrap go (agent/cg-cluster.c).
 * A retired id that is master_current again (never: ids are random) keeps
 * its wraps. */
static gboolean
delete_retired_master_wraps (EtcdStore *s, Write *w, const char *value, GError **error)
{
  GError *local = NULL;
  g_autofree char *before = meta_get (&s->parent, "master_old", &local);
  g_autofree char *current = local ? NULL : meta_get (&s->parent, "master_current", &local);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  g_auto (GStrv) was = g_strsplit (before ? before : "", " ", -1);
  g_auto (GStrv) now = g_strsplit (value, " ", -1);
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  for (char **id = was; *id; id++)
    if (**id && !g_strv_contains ((const char *const *) now, *id)
        && g_strcmp0 (*id, current ? current : "0") != 0)
      g_ptr_array_add (gone, g_strconcat ("/master/", *id, NULL));
  if (!gone->len)
    return TRUE;
  CgEtcd *etcd = callers_client (s, error);
  if (!etcd)
    return FALSE;
  g_autoptr (GBytes) area = full_key (s, "wrap/");
  g_autoptr (GPtrArray) kvs = NULL;
  if (!cg_etcd_range (etcd, area, CG_ETCD_RANGE_PREFIX | CG_ETCD_RANGE_KEYS_ONLY, 0, 0, &kvs,
                      NULL, NULL, &local))
    {
      if (is_unreachable (local))
        note_unreachable (s);
      set_cluster_error (error, local, "cannot read the wrapped master keys");
      g_error_free (local);
      return FALSE;
    }
  for (guint i = 0; i < kvs->len; i++)
    {
      CgEtcdKv *kv = kvs->pdata[i];
      g_autofree char *k = g_strndup (g_bytes_get_data (kv->key, NULL), g_bytes_get_size (kv->key));
      for (guint j = 0; j < gone->len; j++)
        if (g_str_has_suffix (k, gone->pdata[j])
            && strchr (k + s->prefix_len + strlen ("wrap/"), '/')
                   == k + strlen (k) - strlen (gone->pdata[j]))
          cg_etcd_txn_delete (w->txn, kv->key, FALSE);
    }
  return TRUE;
}

static gboolean
meta_set (CgVaultStore *store, const char *key, const char *value, GError **error)
{
  EtcdStore *s = (EtcdStore *) store;
  if (meta_is_local (key))
    return cg_db_meta_set (s->db, key, value, error);
  gint64 rev = 0;
  if (!meta_rev (s, key, &rev, error))
    return FALSE;
  g_autofree char *ekey = g_strconcat ("meta/", key, NULL);
  Write w;
  write_init (&w);
  write_add (s, &w, ekey, json_pack ("{s:s}", "value", value), rev);
  gboolean ok = TRUE;
  if (s->key_wraps && strcmp (key, "master_current") == 0)
    {
      g_autofree char *secret_id = g_strconcat ("master/", *value ? value : "0", NULL);
      ok = s->key_wraps (secret_id, w.txn, s->cb_data, error);
    }
  /* The client CA's key goes to every node with its certificate. */
  if (s->key_wraps && strcmp (key, "client_ca_cert") == 0)
    ok = s->key_wraps ("clientca", w.txn, s->cb_data, error);
  if (strcmp (key, "master_old") == 0)
    ok = delete_retired_master_wraps (s, &w, value, error);
  ok = ok && write_commit (s, &w, "cannot store the setting", error);
  write_clear (&w);
  return ok;
}

static gboolean
counts (CgVaultStore *store, const char *now, gint64 *creds, gint64 *tokens, gint64 *clients)
{
  CgVaultStore *local = ((EtcdStore *) store)->local;
  return local->ops->counts (local, now, creds, tokens, clients);
}

static void
store_free (CgVaultStore *store)
{
  EtcdStore *s = (EtcdStore *) store;
  if (s->thread)
    {
      g_mutex_lock (&s->lock);
      s->stopping = TRUE;
      g_cond_broadcast (&s->cond);
      g_mutex_unlock (&s->lock);
      g_cancellable_cancel (s->cancel);
      g_thread_join (s->thread);
    }
  g_clear_object (&s->cancel);
  g_clear_pointer (&s->pending, g_ptr_array_unref);
  g_clear_pointer (&s->watch_etcd, cg_etcd_free);
  g_clear_pointer (&s->etcd, cg_etcd_free);
  g_clear_pointer (&s->refresh_etcd, cg_etcd_free);
  g_clear_pointer (&s->gate_etcd, cg_etcd_free);
  if (s->apply_db)
    sqlite3_close (s->apply_db);
  if (s->local)
    s->local->ops->free (s->local);
  if (s->db)
    sqlite3_close (s->db);
  g_strfreev (s->endpoints);
  g_free (s->ca_file);
  g_free (s->cert_file);
  g_free (s->key_file);
  g_free (s->prefix);
  g_free (s->db_path);
  g_mutex_clear (&s->lock);
  g_mutex_clear (&s->gate_lock);
  g_cond_clear (&s->cond);
  g_free (s);
}

static const CgVaultStoreOps etcd_ops = {
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

/* ---- the public functions ------------------------------------------------- */

static gboolean
open_replica (const char *path, sqlite3 **out, GError **error)
{
  sqlite3 *db = cg_db_open (path, error);
  if (!db)
    return FALSE;
  if (!cg_db_exec (db,
                   "CREATE TABLE IF NOT EXISTS cluster_revs (ekey TEXT PRIMARY KEY, "
                   "mod_revision INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0)",
                   error))
    {
      sqlite3_close (db);
      return FALSE;
    }
  *out = db;
  return TRUE;
}

static gint64
replica_applied (sqlite3 *db, const char *prefix)
{
  g_autofree char *have_prefix = cg_db_meta_get (db, META_PREFIX, NULL);
  g_autofree char *text = cg_db_meta_get (db, META_APPLIED, NULL);
  gint64 applied = 0;
  if (g_strcmp0 (have_prefix, prefix) != 0 || text == NULL
      || !g_ascii_string_to_signed (text, 10, 1, G_MAXINT64, &applied, NULL))
    return 0;
  return applied;
}

CgVaultStore *
cg_vault_store_etcd_new (const char *db_path, const CgClusterEtcdConfig *cfg, GError **error)
{
  g_return_val_if_fail (db_path != NULL && cfg != NULL, NULL);
  if (!cfg->endpoints || !cfg->endpoints[0] || !cfg->ca_file || !cfg->cert_file
      || !cfg->key_file || !cfg->prefix || cfg->prefix[0] != '/')
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the cluster's etcd settings are incomplete");
      return NULL;
    }
  EtcdStore *s = g_new0 (EtcdStore, 1);
  s->parent.ops = &etcd_ops;
  g_mutex_init (&s->lock);
  g_mutex_init (&s->gate_lock);
  g_cond_init (&s->cond);
  s->db_path = g_strdup (db_path);
  s->endpoints = g_strdupv ((char **) cfg->endpoints);
  s->ca_file = g_strdup (cfg->ca_file);
  s->cert_file = g_strdup (cfg->cert_file);
  s->key_file = g_strdup (cfg->key_file);
  s->prefix = g_str_has_suffix (cfg->prefix, "/") ? g_strdup (cfg->prefix)
                                                  : g_strconcat (cfg->prefix, "/", NULL);
  s->prefix_len = strlen (s->prefix);
  s->timeout_ms = cfg->timeout_ms == 0 ? DEFAULT_TIMEOUT_MS : MIN (cfg->timeout_ms, MAX_TIMEOUT_MS);
  s->pending = g_ptr_array_new_with_free_func (event_free);

  /* The config is checked (endpoints' form) before anything is opened. */
  g_autoptr (CgEtcd) probe = NULL;
  if (!(probe = cg_vault_store_etcd_client (&s->parent, error)) || !open_replica (db_path, &s->db, error))
    {
      store_free (&s->parent);
      return NULL;
    }
  s->local = cg_vault_store_sqlite_new (s->db);
  s->applied = replica_applied (s->db, s->prefix);
  s->state.applied_revision = s->applied;
  return &s->parent;
}

gboolean
cg_vault_store_etcd_start (CgVaultStore *store, CgVaultStoreEtcdOther other,
                           CgVaultStoreEtcdChanged changed, CgVaultStoreEtcdKeyWraps key_wraps,
                           gpointer data, GError **error)
{
  g_return_val_if_fail (cg_vault_store_is_etcd (store), FALSE);
  EtcdStore *s = (EtcdStore *) store;
  g_return_val_if_fail (s->thread == NULL, FALSE);
  s->other = other;
  s->changed = changed;
  s->key_wraps = key_wraps;
  s->cb_data = data;

  if (!s->apply_db && !open_replica (s->db_path, &s->apply_db, error))
    return FALSE;
  if (!s->watch_etcd && !(s->watch_etcd = cg_vault_store_etcd_client (store, error)))
    return FALSE;
  s->applied = replica_applied (s->apply_db, s->prefix);
  if (s->applied == 0)
    {
      if (!full_sync (s, s->apply_db, s->watch_etcd, TRUE, error))
        return FALSE;
      g_message ("cluster: this node's replica synced fully at revision %" G_GINT64_FORMAT,
                 s->applied);
    }
  note_applied (s, s->applied);
  s->cancel = g_cancellable_new ();
  s->thread = g_thread_new ("cg-etcd-applier", applier_thread, s);
  return TRUE;
}

void
cg_vault_store_etcd_set_master_needed (CgVaultStore *store, CgVaultStoreEtcdMasterNeeded func,
                                       gpointer data)
{
  g_return_if_fail (cg_vault_store_is_etcd (store));
  EtcdStore *s = (EtcdStore *) store;
  s->master_needed = func;
  s->master_data = data;
}

gboolean
cg_vault_store_etcd_push_all (CgVaultStore *store, GError **error)
{
  g_return_val_if_fail (cg_vault_store_is_etcd (store), FALSE);
  EtcdStore *s = (EtcdStore *) store;
  g_autoptr (GError) local = NULL;
  if (s->thread)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED,
                           "this node's state goes into the cluster before the store starts");
      return FALSE;
    }
  CgEtcd *etcd = callers_client (s, error);
  if (!etcd)
    return FALSE;
  /* Nothing else writes through a store not yet started: what cluster
   * init did before this was its own work, not a wait for its turn, and
   * its batches each get a write's budget from here (cg-write-clock.h). */
  cg_write_clock_restart ();

  static const char *const areas[] = { "rec/", "key/", "tok/", "meta/", "client/", "enroll/" };
  for (gsize i = 0; i < G_N_ELEMENTS (areas); i++)
    {
      g_autoptr (GBytes) prefix = full_key (s, areas[i]);
      g_autoptr (GPtrArray) kvs = NULL;
      if (!cg_etcd_range (etcd, prefix, CG_ETCD_RANGE_PREFIX | CG_ETCD_RANGE_KEYS_ONLY, 0, 1,
                          &kvs, NULL, NULL, &local))
        {
          if (is_unreachable (local))
            set_cluster_error (error, local, "cannot move this node's state into the cluster");
          else
            g_set_error (error, CG_ERROR, CG_ERROR_FAILED,
                         "cannot move this node's state into the cluster: %s", local->message);
          return FALSE;
        }
      if (kvs->len > 0)
        {
          g_set_error (error, CG_ERROR, CG_ERROR_EXISTS,
                       "the cluster prefix %s already holds credentials, keys or settings: "
                       "nothing was written",
                       s->prefix);
          return FALSE;
        }
    }

  /* Every row as (short key, value), then the batches. */
  g_autoptr (GPtrArray) ekeys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) json_decref);
  sqlite3_stmt *st = cg_db_prepare (
      s->db, "SELECT name, type, properties, version, created, updated, sealed FROM credentials",
      error);
  if (!st)
    return FALSE;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      g_autoptr (GBytes) sealed
          = g_bytes_new (sqlite3_column_blob (st, 6), sqlite3_column_bytes (st, 6));
      g_ptr_array_add (ekeys, g_strconcat ("rec/", sqlite3_column_text (st, 0), NULL));
      g_ptr_array_add (values, record_value ((const char *) sqlite3_column_text (st, 1),
                                             (const char *) sqlite3_column_text (st, 2),
                                             sqlite3_column_int64 (st, 3),
                                             (const char *) sqlite3_column_text (st, 4),
                                             (const char *) sqlite3_column_text (st, 5), sealed));
    }
  sqlite3_finalize (st);
  if (!(st = cg_db_prepare (s->db, "SELECT kid, created, current, retired FROM seal_keys", error)))
    return FALSE;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      g_ptr_array_add (ekeys, g_strconcat ("key/", sqlite3_column_text (st, 0), NULL));
      g_ptr_array_add (values, key_value ((const char *) sqlite3_column_text (st, 1),
                                          sqlite3_column_int (st, 2), sqlite3_column_int (st, 3)));
    }
  sqlite3_finalize (st);
  if (!(st = cg_db_prepare (s->db, "SELECT name, hmac, created FROM tokens", error)))
    return FALSE;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      if (sqlite3_column_bytes (st, 1) != 32)
        continue;
      g_autofree char *b64 = cg_b64url_encode (sqlite3_column_blob (st, 1), 32);
      g_ptr_array_add (ekeys, g_strconcat ("tok/", sqlite3_column_text (st, 0), NULL));
      g_ptr_array_add (values, json_pack ("{s:s, s:s}", "hmac", b64, "created",
                                          sqlite3_column_text (st, 2)));
    }
  sqlite3_finalize (st);
  /* The client certificates the client CA signed, and the pending codes. */
  if (!(st = cg_db_prepare (s->db,
                            "SELECT serial, name, spki, enrolled, expires, revoked, revoked_reason "
                            "FROM clients",
                            error)))
    return FALSE;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      g_ptr_array_add (ekeys, g_strconcat ("client/", sqlite3_column_text (st, 0), NULL));
      g_ptr_array_add (values, client_value ((const char *) sqlite3_column_text (st, 1),
                                             (const char *) sqlite3_column_text (st, 2),
                                             (const char *) sqlite3_column_text (st, 3),
                                             (const char *) sqlite3_column_text (st, 4),
                                             (const char *) sqlite3_column_text (st, 5),
                                             (const char *) sqlite3_column_text (st, 6)));
    }
  sqlite3_finalize (st);
  if (!(st = cg_db_prepare (s->db, "SELECT name, hmac, created, expires, validity FROM enroll_codes",
                            error)))
    return FALSE;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      if (sqlite3_column_bytes (st, 1) != 32)
        continue;
      g_ptr_array_add (ekeys, g_strconcat ("enroll/", sqlite3_column_text (st, 0), NULL));
      g_ptr_array_add (values, code_value (sqlite3_column_blob (st, 1),
                                           (const char *) sqlite3_column_text (st, 2),
                                           (const char *) sqlite3_column_text (st, 3),
                                           sqlite3_column_int64 (st, 4)));
    }
  sqlite3_finalize (st);
  /* Every setting but this node's own (meta_is_local). */
  if (!(st = cg_db_prepare (s->db, "SELECT key, value FROM meta", error)))
    return FALSE;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      const char *key = (const char *) sqlite3_column_text (st, 0);
      if (meta_is_local (key) || !cg_name_is_valid (key))
        continue;
      g_ptr_array_add (ekeys, g_strconcat ("meta/", key, NULL));
      g_ptr_array_add (values, json_pack ("{s:s}", "value", sqlite3_column_text (st, 1)));
    }
  sqlite3_finalize (st);

  guint i = 0;
  while (i < ekeys->len)
    {
      Write w;
      gsize bytes = 0;
      write_init (&w);
      for (; i < ekeys->len && w.events->len < PUSH_BATCH_KEYS && bytes < PUSH_BATCH_BYTES; i++)
        {
          write_add (s, &w, ekeys->pdata[i], json_incref (values->pdata[i]), 0);
          bytes += g_bytes_get_size (((Event *) w.events->pdata[w.events->len - 1])->kv->value);
        }
      gboolean ok = write_commit (s, &w, "cannot move this node's state into the cluster", error);
      write_clear (&w);
      if (!ok)
        {
          if (g_error_matches (*error, CG_ERROR, CG_ERROR_CONFLICT))
            {
              g_clear_error (error);
              g_set_error (error, CG_ERROR, CG_ERROR_EXISTS,
                           "the cluster prefix %s was written by someone else meanwhile",
                           s->prefix);
            }
          return FALSE;
        }
    }
  return TRUE;
}

CgEtcd *
cg_vault_store_etcd_client (CgVaultStore *store, GError **error)
{
  g_return_val_if_fail (cg_vault_store_is_etcd (store), NULL);
  EtcdStore *s = (EtcdStore *) store;
  g_autoptr (GError) local = NULL;
  CgEtcd *etcd = cg_etcd_new ((const char *const *) s->endpoints, s->ca_file, s->cert_file,
                              s->key_file, s->timeout_ms, &local);
  if (!etcd)
    g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "the cluster's etcd settings: %s",
                 local->message);
  return etcd;
}

gboolean
cg_vault_store_etcd_write_ready (CgVaultStore *store, GError **error)
{
  g_return_val_if_fail (cg_vault_store_is_etcd (store), FALSE);
  EtcdStore *s = (EtcdStore *) store;
  static const char what[] = "cannot make the change";
  gint64 since = cg_write_clock_since ();
  if (since == 0)
    since = g_get_monotonic_time ();
  gboolean down;
  if (found_down_since (s, since, &down))
    return write_unavailable (what, WAITED_IN_OUTAGE, error);
  if (!down)
    return TRUE;

  /* One check at a time: the others wait here, then learn from it. */
  g_mutex_lock (&s->gate_lock);
  gboolean ok = FALSE;
  g_autoptr (GError) local = NULL;
  guint check_ms = 0;
  if (found_down_since (s, since, &down))
    write_unavailable (what, WAITED_IN_OUTAGE, error);
  else if (!down)
    ok = TRUE;
  else if ((check_ms = budget_ms (since, MIN (s->timeout_ms, QUORUM_RECHECK_MS), MIN_TXN_MS)) == 0)
    write_unavailable (what, "no time left to reach etcd: the change waited too long for its turn",
                       error);
  else if (s->gate_etcd
           || (s->gate_etcd = cg_etcd_new ((const char *const *) s->endpoints, s->ca_file,
                                           s->cert_file, s->key_file, check_ms, error)))
    {
      cg_etcd_set_timeout (s->gate_etcd, check_ms);
      ok = quorum_check (s, s->gate_etcd, &local);
      note_check (s, ok, local);
      if (!ok)
        write_failed (s, local, what, error);
    }
  g_mutex_unlock (&s->gate_lock);
  return ok;
}

void
cg_vault_store_etcd_get_state (CgVaultStore *store, CgVaultStoreEtcdState *out)
{
  g_return_if_fail (cg_vault_store_is_etcd (store) && out != NULL);
  EtcdStore *s = (EtcdStore *) store;
  g_mutex_lock (&s->lock);
  *out = s->state;
  g_mutex_unlock (&s->lock);
}

void
cg_vault_store_etcd_note_revision (CgVaultStore *store, gint64 revision)
{
  g_return_if_fail (cg_vault_store_is_etcd (store));
  note_seen ((EtcdStore *) store, revision);
}

gboolean
cg_vault_store_is_etcd (CgVaultStore *store)
{
  return store != NULL && store->ops == &etcd_ops;
}
