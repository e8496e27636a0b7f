/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The etcd store (agent/cg-vault-store-etcd.h) against a real three-member
 * etcd cluster with mutual TLS and real SQLite replica files, started by
 * tests/test-vault-store-etcd.sh, which runs this program once per phase
 * (CG_STORE_PHASE) while it stops and starts members; replicas that
 * outlive a phase are kept in $CG_STORE_DIR:
 *   up           the store contract (tests/cg-vault-store-contract.c), a
 *                lost compare, the applier and its callbacks, two nodes
 *                writing the same names at once, an applier 1,000 writes
 *                behind, push_all, the canary scan;
 *   lag-prepare  node B stops while node A writes (the shell then compacts
 *                etcd past B's revision);
 *   lag-resync   B starts again: it resyncs fully and says so;
 *   quorum-lost  two members stopped: writes fail within 5 s, reads work;
 *   recovered    the members back: writes resume, replicas converge,
 *                nothing of the failed writes is half there. */
#include "config.h"

#include "agent/cg-vault-store-etcd.h"

#include "agent/cg-db.h"
#include "common/cg-error.h"
#include "jose/cg-b64.h"
#include "tests/cg-test-util.h"
#include "tests/cg-vault-store-contract.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#define CONVERGE_S 60

static const char *
env (const char *name)
{
  const char *v = g_getenv (name);
  if (v == NULL || *v == '\0')
    g_error ("%s is not set: run through tests/test-vault-store-etcd.sh", name);
  return v;
}

/* ---- the log, kept for the checks ----------------------------------------- */

static GMutex log_lock;
static GString *log_text;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  g_mutex_lock (&log_lock);
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE"))
      {
        if (fields[i].length < 0)
          g_string_append (log_text, fields[i].value);
        else
          g_string_append_len (log_text, fields[i].value, fields[i].length);
        g_string_append_c (log_text, '\n');
      }
  g_mutex_unlock (&log_lock);
  return g_log_writer_standard_streams (level, fields, n_fields, data);
}

static gboolean
log_has (const char *text)
{
  g_mutex_lock (&log_lock);
  gboolean has = strstr (log_text->str, text) != NULL;
  g_mutex_unlock (&log_lock);
  return has;
}

static void
log_clear (void)
{
  g_mutex_lock (&log_lock);
  g_string_truncate (log_text, 0);
  g_mutex_unlock (&log_lock);
}

/* ---- stores, etcd, dumps -------------------------------------------------- */

static char *
new_prefix (void)
{
  return g_strdup_printf ("/credgate/t%08x%08x/", g_random_int (), g_random_int ());
}

static CgVaultStore *
open_store (const char *path, const char *prefix)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) eps = g_strsplit (env ("ETCD_ENDPOINTS"), ",", -1);
  CgClusterEtcdConfig cfg = { (const char *const *) eps, env ("ETCD_CA"), env ("ETCD_CERT"),
                              env ("ETCD_KEY"), prefix, 3000 };
  CgVaultStore *store = cg_vault_store_etcd_new (path, &cfg, &error);
  g_assert_no_error (error);
  g_assert_true (cg_vault_store_is_etcd (store));
  return store;
}

static void
start (CgVaultStore *store)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (cg_vault_store_etcd_start (store, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static CgEtcd *
raw_client (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) eps = g_strsplit (env ("ETCD_ENDPOINTS"), ",", -1);
  CgEtcd *etcd = cg_etcd_new ((const char *const *) eps, env ("ETCD_CA"), env ("ETCD_CERT"),
                              env ("ETCD_KEY"), 3000, &error);
  g_assert_no_error (error);
  return etcd;
}

static GBytes *
b (const char *s)
{
  return g_bytes_new (s, strlen (s));
}

/* Every key-value under @prefix ("" for all of etcd), in pages, at one
 * revision. */
static GPtrArray *
etcd_all (const char *prefix)
{
  g_autoptr (CgEtcd) etcd = raw_client ();
  g_autoptr (GBytes) p = b (prefix);
  g_autoptr (GBytes) from = *prefix ? NULL : g_bytes_new ("", 1);
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_etcd_kv_free);
  gint64 revision = 0;
  gboolean more = TRUE;
  while (more)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) kvs = NULL;
      gint64 rev = 0;
      g_assert_true (cg_etcd_range_from (etcd, p, from, CG_ETCD_RANGE_NONE, revision, 100, &kvs,
                                         &rev, &more, &error));
      g_assert_no_error (error);
      if (revision == 0)
        revision = rev;
      for (guint i = 0; i < kvs->len; i++)
        g_ptr_array_add (all, g_steal_pointer (&kvs->pdata[i]));
      if (more)
        {
          g_clear_pointer (&from, g_bytes_unref);
          from = cg_etcd_key_after (((CgEtcdKv *) all->pdata[all->len - 1])->key);
        }
    }
  return all;
}

static gint
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char *
join_sorted (GPtrArray *lines)
{
  g_ptr_array_sort (lines, cmp_str);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

static char *
hex_of (const void *data, gsize len)
{
  GString *s = g_string_new (NULL);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, "%02X", ((const guint8 *) data)[i]);
  return g_string_free (s, FALSE);
}

/* The cluster's rows in a replica file, one line each, sorted. */
static char *
dump_replica (const char *path)
{
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  static const char *const sql[] = {
    "SELECT 'rec/' || name || '=' || type || '|' || properties || '|' || version || '|' || "
    "created || '|' || updated || '|' || hex (sealed) FROM credentials",
    "SELECT 'key/' || kid || '=' || created || '|' || current || '|' || retired FROM seal_keys",
    "SELECT 'tok/' || name || '=' || hex (hmac) || '|' || created FROM tokens",
    "SELECT 'meta/' || key || '=' || value FROM meta WHERE key NOT IN "
    "('instance', 'cluster_applied_revision', 'cluster_prefix', 'escrow_signer', 'escrow_seq')",
    "SELECT 'client/' || serial || '=' || name || '|' || spki || '|' || enrolled || '|' || "
    "expires || '|' || coalesce (revoked, '') || '|' || coalesce (revoked_reason, '') "
    "FROM clients",
    "SELECT 'enroll/' || name || '=' || hex (hmac) || '|' || created || '|' || expires || '|' "
    "|| validity FROM enroll_codes",
  };
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  for (gsize i = 0; i < G_N_ELEMENTS (sql); i++)
    {
      sqlite3_stmt *st = NULL;
      g_assert_cmpint (sqlite3_prepare_v2 (db, sql[i], -1, &st, NULL), ==, SQLITE_OK);
      int r;
      while ((r = sqlite3_step (st)) == SQLITE_ROW)
        g_ptr_array_add (lines, g_strdup ((const char *) sqlite3_column_text (st, 0)));
      g_assert_cmpint (r, ==, SQLITE_DONE);
      sqlite3_finalize (st);
    }
  sqlite3_close (db);
  return join_sorted (lines);
}

static json_t *
value_json (CgEtcdKv *kv)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (kv->value, &len);
  json_t *v = json_loadb (data, len, 0, NULL);
  g_assert_true (json_is_object (v));
  return v;
}

static char *
b64_hex (json_t *v, const char *key)
{
  const char *text = json_string_value (json_object_get (v, key));
  g_assert_nonnull (text);
  gsize len = 0;
  g_autofree guint8 *data = cg_b64url_decode (text, strlen (text), &len);
  g_assert_nonnull (data);
  return hex_of (data, len);
}

/* The same lines from etcd's rows under @prefix. */
static char *
dump_etcd (const char *prefix)
{
  g_autoptr (GPtrArray) all = etcd_all (prefix);
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  gsize plen = strlen (prefix);
  for (guint i = 0; i < all->len; i++)
    {
      CgEtcdKv *kv = all->pdata[i];
      gsize klen = 0;
      const char *k = g_bytes_get_data (kv->key, &klen);
      g_autofree char *ekey = g_strndup (k + plen, klen - plen);
      json_auto_t *v = NULL;
      if (g_str_has_prefix (ekey, "rec/"))
        {
          v = value_json (kv);
          g_autofree char *sealed = b64_hex (v, "sealed");
          g_ptr_array_add (lines, g_strdup_printf (
                                      "%s=%s|%s|%" JSON_INTEGER_FORMAT "|%s|%s|%s", ekey,
                                      json_string_value (json_object_get (v, "type")),
                                      json_string_value (json_object_get (v, "properties")),
                                      json_integer_value (json_object_get (v, "version")),
                                      json_string_value (json_object_get (v, "created")),
                                      json_string_value (json_object_get (v, "updated")), sealed));
        }
      else if (g_str_has_prefix (ekey, "key/"))
        {
          v = value_json (kv);
          g_ptr_array_add (lines, g_strdup_printf (
                                      "%s=%s|%d|%d", ekey,
                                      json_string_value (json_object_get (v, "created")),
                                      json_is_true (json_object_get (v, "current")),
                                      json_is_true (json_object_get (v, "retired"))));
        }
      else if (g_str_has_prefix (ekey, "tok/"))
        {
          v = value_json (kv);
          g_autofree char *hmac = b64_hex (v, "hmac");
          g_ptr_array_add (lines, g_strdup_printf (
                                      "%s=%s|%s", ekey, hmac,
                                      json_string_value (json_object_get (v, "created"))));
        }
      else if (g_str_has_prefix (ekey, "meta/"))
        {
          v = value_json (kv);
          g_ptr_array_add (lines, g_strdup_printf (
                                      "%s=%s", ekey,
                                      json_string_value (json_object_get (v, "value"))));
        }
      else if (g_str_has_prefix (ekey, "client/"))
        {
          v = value_json (kv);
          const char *revoked = json_string_value (json_object_get (v, "revoked"));
          const char *reason = json_string_value (json_object_get (v, "revokedReason"));
          g_ptr_array_add (lines, g_strdup_printf (
                                      "%s=%s|%s|%s|%s|%s|%s", ekey,
                                      json_string_value (json_object_get (v, "name")),
                                      json_string_value (json_object_get (v, "spki")),
                                      json_string_value (json_object_get (v, "enrolled")),
                                      json_string_value (json_object_get (v, "expires")),
                                      revoked ? revoked : "", reason ? reason : ""));
        }
      else if (g_str_has_prefix (ekey, "enroll/"))
        {
          v = value_json (kv);
          g_autofree char *hmac = b64_hex (v, "hmac");
          g_ptr_array_add (lines, g_strdup_printf (
                                      "%s=%s|%s|%s|%" JSON_INTEGER_FORMAT, ekey, hmac,
                                      json_string_value (json_object_get (v, "created")),
                                      json_string_value (json_object_get (v, "expires")),
                                      json_integer_value (json_object_get (v, "validity"))));
        }
    }
  return join_sorted (lines);
}

/* Waits until every replica in @paths (NULL-terminated) holds exactly
 * etcd's rows under @prefix. */
static void
assert_converge (const char *prefix, const char *const *paths)
{
  gint64 until = g_get_monotonic_time () + CONVERGE_S * G_USEC_PER_SEC;
  for (;;)
    {
      g_autofree char *want = dump_etcd (prefix);
      gboolean all = TRUE;
      for (guint i = 0; paths[i] && all; i++)
        {
          g_autofree char *got = dump_replica (paths[i]);
          if (strcmp (got, want) != 0)
            {
              all = FALSE;
              if (g_get_monotonic_time () > until)
                g_assert_cmpstr (got, ==, want);
            }
        }
      if (all)
        return;
      g_usleep (100 * 1000);
    }
}

static char *
dir_path (const char *name)
{
  return g_build_filename (env ("CG_STORE_DIR"), name, NULL);
}

static void
save (const char *name, const char *text)
{
  g_autofree char *path = dir_path (name);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (path, text, -1, &error));
}

static char *
load (const char *name)
{
  g_autofree char *path = dir_path (name);
  g_autoptr (GError) error = NULL;
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  return g_strstrip (text);
}

static GBytes *
seal_text_cb (gint64 version, gpointer user_data)
{
  char *text = g_strdup_printf ("%s-v%" G_GINT64_FORMAT, (const char *) user_data, version);
  gsize len = strlen (text);
  return g_bytes_new_take (text, len);
}

static json_t *
put (CgVaultStore *store, const char *name, const char *tag, GError **error)
{
  return store->ops->record_put (store, name, "sql", "{\"host\":\"db\"}", "2026-03-01T00:00:00Z",
                                 seal_text_cb, (gpointer) tag, error);
}

static GBytes *
get_sealed (CgVaultStore *store, const char *name, gint64 *version)
{
  g_autoptr (GError) error = NULL;
  GBytes *sealed = NULL;
  json_auto_t *meta = store->ops->record_get (store, name, &sealed, &error);
  g_assert_no_error (error);
  if (version)
    *version = json_integer_value (json_object_get (meta, "version"));
  return sealed;
}

static void
assert_sealed (GBytes *got, const char *want)
{
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), want, strlen (want));
}

/* ---- phase "up" ----------------------------------------------------------- */

typedef struct
{
  char *dir;
  char *path;
  char *prefix;
  CgVaultStore *store;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  (void) data;
  f->dir = cg_test_make_tmpdir ("cg-store-etcd");
  f->path = g_build_filename (f->dir, "state.db", NULL);
  f->prefix = new_prefix ();
  f->store = open_store (f->path, f->prefix);
  start (f->store);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  (void) data;
  f->store->ops->free (f->store);
  cg_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
  g_free (f->prefix);
}

/* The contract, then a second node started on the same prefix: its
 * replica is the same as the first one's and as etcd. */
static void
contract_then_second_node (Fixture *f, void (*check) (CgVaultStore *))
{
  check (f->store);
  g_autofree char *path2 = g_build_filename (f->dir, "state2.db", NULL);
  CgVaultStore *second = open_store (path2, f->prefix);
  start (second);
  const char *paths[] = { f->path, path2, NULL };
  assert_converge (f->prefix, paths);
  second->ops->free (second);
}

/* etcd holds @count rows under @prefix + @area, none with @local_field:
 * what stays on the node that saw it. */
static void
assert_rows_without (const char *prefix, const char *area, guint count, const char *local_field)
{
  g_autofree char *area_prefix = g_strconcat (prefix, area, NULL);
  g_autoptr (GPtrArray) rows = etcd_all (area_prefix);
  g_assert_cmpuint (rows->len, ==, count);
  for (guint i = 0; i < rows->len; i++)
    {
      json_auto_t *v = value_json (rows->pdata[i]);
      g_assert_null (json_object_get (v, local_field));
    }
}

static void
test_contract_records (Fixture *f, gconstpointer data)
{
  (void) data;
  contract_then_second_node (f, cg_test_store_contract_records);
}

static void
test_contract_keys (Fixture *f, gconstpointer data)
{
  (void) data;
  contract_then_second_node (f, cg_test_store_contract_keys);
  /* The use counters stayed on this node: etcd's key rows have none. */
  assert_rows_without (f->prefix, "key/", 2, "opened");
  assert_rows_without (f->prefix, "key/", 2, "lastOpened");
}

static void
test_contract_tokens (Fixture *f, gconstpointer data)
{
  (void) data;
  contract_then_second_node (f, cg_test_store_contract_tokens);
}

static void
test_contract_reseal (Fixture *f, gconstpointer data)
{
  (void) data;
  contract_then_second_node (f, cg_test_store_contract_reseal);
}

static void
test_contract_meta (Fixture *f, gconstpointer data)
{
  (void) data;
  contract_then_second_node (f, cg_test_store_contract_meta);
  /* "instance" is this node's alone. */
  g_autofree char *dump = dump_etcd (f->prefix);
  g_assert_nonnull (strstr (dump, "meta/master_current=m2"));
  g_autoptr (GPtrArray) all = etcd_all (f->prefix);
  for (guint i = 0; i < all->len; i++)
    g_assert_null (g_strstr_len (g_bytes_get_data (((CgEtcdKv *) all->pdata[i])->key, NULL),
                                 g_bytes_get_size (((CgEtcdKv *) all->pdata[i])->key),
                                 "instance"));
}

static void
test_contract_clients (Fixture *f, gconstpointer data)
{
  (void) data;
  contract_then_second_node (f, cg_test_store_contract_clients);
  /* A certificate's last use stays on the node that saw it. */
  assert_rows_without (f->prefix, "client/", 2, "lastUsed");
}

typedef struct
{
  CgVaultStore *store;
  const guint8 *mac;
  const char *serial;
  GCond *cond;
  GMutex *lock;
  gboolean *go;
  GError *error;
  gboolean ok;
} Redeemer;

static gpointer
redeem_thread (gpointer data)
{
  Redeemer *r = data;
  g_mutex_lock (r->lock);
  while (!*r->go)
    g_cond_wait (r->cond, r->lock);
  g_mutex_unlock (r->lock);
  g_autofree char *spki = g_strconcat ("sha256:", r->serial, NULL);
  r->ok = r->store->ops->client_enroll (r->store, r->mac, "racer", r->serial, spki,
                                        "2026-04-01T00:00:00Z", "2027-04-01T00:00:00Z",
                                        &r->error);
  return NULL;
}

/* One enrollment code redeemed on two nodes at the same moment, many
 * times over: each time exactly one succeeds, the other is NOT_FOUND (the
 * code is gone), and both replicas end with the one certificate. */
static void
test_enroll_race (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  g_autofree char *path2 = g_build_filename (f->dir, "b.db", NULL);
  CgVaultStore *b_store = open_store (path2, f->prefix);
  start (b_store);
  const char *paths[] = { f->path, path2, NULL };
  GMutex lock;
  GCond cond;
  g_mutex_init (&lock);
  g_cond_init (&cond);
  for (int round = 0; round < 10; round++)
    {
      guint8 mac[32];
      memset (mac, 0x50 + round, sizeof mac);
      g_assert_true (f->store->ops->client_code_add (f->store, "racer", mac,
                                                     "2026-04-01T00:00:00Z",
                                                     "2099-01-01T00:00:00Z", 3600, &error));
      g_assert_no_error (error);
      assert_converge (f->prefix, paths); /* B knows the code */
      gboolean go = FALSE;
      g_autofree char *sa = g_strdup_printf ("a%02d", round), *sb = g_strdup_printf ("b%02d", round);
      Redeemer ra = { f->store, mac, sa, &cond, &lock, &go, NULL, FALSE };
      Redeemer rb = { b_store, mac, sb, &cond, &lock, &go, NULL, FALSE };
      GThread *ta = g_thread_new ("redeem-a", redeem_thread, &ra);
      GThread *tb = g_thread_new ("redeem-b", redeem_thread, &rb);
      g_mutex_lock (&lock);
      go = TRUE;
      g_cond_broadcast (&cond);
      g_mutex_unlock (&lock);
      g_thread_join (ta);
      g_thread_join (tb);
      g_assert_true (ra.ok != rb.ok);
      Redeemer *lost = ra.ok ? &rb : &ra;
      g_assert_error (lost->error, CG_ERROR, CG_ERROR_NOT_FOUND);
      g_clear_error (&lost->error);
      assert_converge (f->prefix, paths);
      const char *won = ra.ok ? sa : sb;
      CgVaultStore *stores[] = { f->store, b_store };
      for (int k = 0; k < 2; k++)
        {
          json_auto_t *w = stores[k]->ops->client_get (stores[k], won, &error);
          json_auto_t *l = stores[k]->ops->client_get (stores[k], ra.ok ? sb : sa, &error);
          g_assert_no_error (error);
          g_assert_nonnull (w);
          g_assert_null (json_string_value (json_object_get (w, "revoked")));
          g_assert_null (l);
        }
    }
  g_mutex_clear (&lock);
  g_cond_clear (&cond);
  b_store->ops->free (b_store);
}

/* B's replica is behind (B never started its applier): its replace of a
 * name A changed loses the compare, is CONFLICT naming the current version,
 * and leaves B's replica holding what won; B's next write, on that version,
 * goes through; nothing A wrote is lost. */
static void
test_conflict (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  json_auto_t *m1 = put (f->store, "x", "A1", &error);
  g_assert_no_error (error);
  json_auto_t *m2 = put (f->store, "x", "A2", &error);
  g_assert_no_error (error);

  g_autofree char *path2 = g_build_filename (f->dir, "b.db", NULL);
  CgVaultStore *b_store = open_store (path2, f->prefix);
  g_assert_null (put (b_store, "x", "B1", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFLICT);
  g_assert_nonnull (strstr (error->message, "now at version 2"));
  g_clear_error (&error);
  gint64 version = 0;
  g_autoptr (GBytes) seen = get_sealed (b_store, "x", &version);
  g_assert_cmpint (version, ==, 2);
  assert_sealed (seen, "A2-v2");

  json_auto_t *m3 = put (b_store, "x", "B2", &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_integer_value (json_object_get (m3, "version")), ==, 3);
  g_assert_cmpstr (json_string_value (json_object_get (m3, "created")), ==,
                   json_string_value (json_object_get (m1, "created")));

  /* A's applier brings B's write; A's own delete of a name it no longer
   * has at the version it knew would be refused the same way. */
  const char *paths[] = { f->path, path2, NULL };
  assert_converge (f->prefix, paths);
  g_autoptr (GBytes) on_a = get_sealed (f->store, "x", &version);
  assert_sealed (on_a, "B2-v3");
  g_assert_true (b_store->ops->record_delete (b_store, "x", &error));
  g_assert_no_error (error);
  assert_converge (f->prefix, paths);
  g_assert_false (f->store->ops->record_delete (f->store, "x", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* B's delete of a name A deleted after B last saw it: NOT_FOUND, and
   * B's replica no longer holds it; of a name A replaced since: CONFLICT,
   * the record still there. */
  json_auto_t *z1 = put (f->store, "z", "A", &error);
  json_auto_t *w1 = put (f->store, "w", "A", &error);
  g_assert_no_error (error);
  g_assert_null (put (b_store, "z", "B", &error));
  g_clear_error (&error);
  g_assert_null (put (b_store, "w", "B", &error));
  g_clear_error (&error);
  g_assert_true (f->store->ops->record_delete (f->store, "z", &error));
  json_auto_t *w2 = put (f->store, "w", "A2", &error);
  g_assert_no_error (error);
  g_assert_false (b_store->ops->record_delete (b_store, "z", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (b_store->ops->record_get (b_store, "z", NULL, &error));
  g_clear_error (&error);
  g_assert_false (b_store->ops->record_delete (b_store, "w", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFLICT);
  g_clear_error (&error);
  g_autoptr (GBytes) w_now = get_sealed (f->store, "w", &version);
  assert_sealed (w_now, "A2-v2");
  b_store->ops->free (b_store);
}

static GBytes *
reseal_tag_cb (GBytes *old, gint64 version, gpointer data, GError **error)
{
  (void) error;
  char *text = g_strdup_printf ("%s+%.*s@%" G_GINT64_FORMAT, (const char *) data,
                                (int) g_bytes_get_size (old),
                                (const char *) g_bytes_get_data (old, NULL), version);
  gsize len = strlen (text);
  return g_bytes_new_take (text, len);
}

/* Node B on @path2, synced with A, then opened again without its applier:
 * its replica stays where it was while A writes on. */
static CgVaultStore *
open_behind (Fixture *f, const char *path2)
{
  CgVaultStore *b_store = open_store (path2, f->prefix);
  start (b_store);
  const char *paths[] = { f->path, path2, NULL };
  assert_converge (f->prefix, paths);
  b_store->ops->free (b_store);
  return open_store (path2, f->prefix);
}

/* A re-seal on a node whose replica is behind: the compare on the record's
 * mod_revision refuses it (CONFLICT, the replica then current); on the
 * version that is current it goes through and keeps the version; on a
 * record deleted meanwhile it is NOT_FOUND. */
static void
test_reseal_conflict (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  json_auto_t *m1 = put (f->store, "r", "A1", &error);
  json_auto_t *g1 = put (f->store, "gone", "A1", &error);
  g_assert_no_error (error);
  g_autofree char *path2 = g_build_filename (f->dir, "b.db", NULL);
  CgVaultStore *b_store = open_behind (f, path2);

  json_auto_t *m2 = put (f->store, "r", "A2", &error);
  g_assert_true (f->store->ops->record_delete (f->store, "gone", &error));
  g_assert_no_error (error);
  g_assert_false (b_store->ops->record_reseal (b_store, "r", 1, reseal_tag_cb, "B", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFLICT);
  g_clear_error (&error);
  g_assert_true (b_store->ops->record_reseal (b_store, "r", 2, reseal_tag_cb, "B", &error));
  g_assert_no_error (error);
  g_assert_false (b_store->ops->record_reseal (b_store, "gone", 1, reseal_tag_cb, "B", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);

  const char *a_only[] = { f->path, NULL };
  assert_converge (f->prefix, a_only);
  gint64 version = 0;
  g_autoptr (GBytes) on_a = get_sealed (f->store, "r", &version);
  g_assert_cmpint (version, ==, 2);
  assert_sealed (on_a, "B+A2-v2@2");
  b_store->ops->free (b_store);
}

/* ---- a new master key made on another node ------------------------------ */

typedef struct
{
  CgVaultStore *store; /* the writing node's: its replica's master_current */
  const char *tag;
} MasterSeal;

/* "TAG@MASTER-vN": the master key named by the writer's replica when it
 * sealed, as the vault's seal func uses it. */
static GBytes *
seal_master_cb (gint64 version, gpointer user_data)
{
  MasterSeal *m = user_data;
  g_autofree char *mkid = m->store->ops->meta_get (m->store, "master_current", NULL);
  char *text = g_strdup_printf ("%s@%s-v%" G_GINT64_FORMAT, m->tag, mkid ? mkid : "0", version);
  gsize len = strlen (text);
  return g_bytes_new_take (text, len);
}

static GBytes *
reseal_master_cb (GBytes *old, gint64 version, gpointer data, GError **error)
{
  (void) old;
  (void) error;
  return seal_master_cb (version, data);
}

static gboolean
master_needed_cb (const char *secret_id, CgEtcd *etcd, gpointer data, GError **error)
{
  (void) etcd;
  (void) error;
  g_ptr_array_add (data, g_strdup (secret_id));
  return TRUE;
}

static void
set_master (CgVaultStore *store, const char *mkid)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (store->ops->meta_set (store, "master_current", mkid, &error));
  g_assert_no_error (error);
}

/* Node B's replica has not applied A's new master_current yet: B's record
 * writes (put, new name, re-seal) lose the compare on master_current, B's
 * store refreshes, asks for the new master key and seals again under it:
 * nothing lands under the old master after A made the new one current
 * (key rotate --all's last pass would miss it), and B's caller sees no
 * conflict.  A record that changed too is still a conflict. */
static void
test_master_race (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  set_master (f->store, "m0");
  json_auto_t *x1 = put (f->store, "x", "A", &error);
  g_assert_no_error (error);
  g_autofree char *path2 = g_build_filename (f->dir, "b.db", NULL);
  CgVaultStore *b_store = open_behind (f, path2);
  g_autoptr (GPtrArray) asked = g_ptr_array_new_with_free_func (g_free);
  cg_vault_store_etcd_set_master_needed (b_store, master_needed_cb, asked);
  MasterSeal m = { b_store, "B" };
  const char *a_only[] = { f->path, NULL };
  gint64 version = 0;

  set_master (f->store, "m1");
  json_auto_t *x2 = b_store->ops->record_put (b_store, "x", "sql", "{}", "2026-03-02T00:00:00Z",
                                              seal_master_cb, &m, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_integer_value (json_object_get (x2, "version")), ==, 2);
  assert_converge (f->prefix, a_only);
  g_autoptr (GBytes) on_a = get_sealed (f->store, "x", &version);
  assert_sealed (on_a, "B@m1-v2");
  g_assert_cmpuint (asked->len, ==, 1);
  g_assert_cmpstr (asked->pdata[0], ==, "master/m1");

  set_master (f->store, "m2");
  g_assert_true (b_store->ops->record_reseal (b_store, "x", 2, reseal_master_cb, &m, &error));
  g_assert_no_error (error);
  assert_converge (f->prefix, a_only);
  g_autoptr (GBytes) resealed = get_sealed (f->store, "x", &version);
  assert_sealed (resealed, "B@m2-v2");
  g_assert_cmpint (version, ==, 2);

  set_master (f->store, "m3");
  json_auto_t *n1 = b_store->ops->record_put (b_store, "n", "sql", "{}", "2026-03-02T00:00:00Z",
                                              seal_master_cb, &m, &error);
  g_assert_no_error (error);
  assert_converge (f->prefix, a_only);
  g_autoptr (GBytes) n_on_a = get_sealed (f->store, "n", &version);
  assert_sealed (n_on_a, "B@m3-v1");
  g_assert_cmpuint (asked->len, ==, 3);
  g_assert_cmpstr (asked->pdata[2], ==, "master/m3");

  /* The master and the record both moved: a conflict, as without the
   * master; what A wrote stays. */
  set_master (f->store, "m4");
  json_auto_t *x3 = put (f->store, "x", "A3", &error);
  g_assert_no_error (error);
  g_assert_null (b_store->ops->record_put (b_store, "x", "sql", "{}", "2026-03-02T00:00:00Z",
                                           seal_master_cb, &m, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFLICT);
  g_clear_error (&error);
  g_autoptr (GBytes) x_on_a = get_sealed (f->store, "x", &version);
  assert_sealed (x_on_a, "A3-v3");
  b_store->ops->free (b_store);
}

/* Replay after own writes: B's own writes at the newest revisions are in
 * its replica; when B's applier then catches up through older revisions of
 * the same keys (more than 1,000 revisions: etcd sends them in several
 * messages, each applied on its own), no intermediate state takes them
 * back: a record B replaced stays replaced, one B deleted stays deleted. */
typedef struct
{
  char *path;
  gint64 own_rev; /* the revision of B's last own write */
  int early;      /* batches applied below own_rev */
  int regressed;  /* ... that showed an older x or y again */
} Replay;

static void
replay_changed_cb (guint areas, gint64 revision, gpointer data)
{
  (void) areas;
  Replay *r = data;
  if (revision >= r->own_rev)
    return;
  r->early++;
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open_v2 (r->path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  sqlite3_stmt *st = NULL;
  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "SELECT (SELECT sealed FROM credentials WHERE name = 'x'), "
                                       "(SELECT count (*) FROM credentials WHERE name = 'y')",
                                       -1, &st, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  const char *x = (const char *) sqlite3_column_text (st, 0);
  if (!x || !g_str_has_prefix (x, "new-") || sqlite3_column_int (st, 1) != 0)
    r->regressed++;
  sqlite3_finalize (st);
  sqlite3_close (db);
}

static void
test_replay (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  g_autofree char *path2 = g_build_filename (f->dir, "b.db", NULL);
  CgVaultStore *b_store = open_store (path2, f->prefix);
  start (b_store);
  json_auto_t *x0 = put (f->store, "x", "first", &error);
  g_assert_no_error (error);
  const char *paths[] = { f->path, path2, NULL };
  assert_converge (f->prefix, paths);
  b_store->ops->free (b_store);

  json_auto_t *x1 = put (f->store, "x", "old", &error);
  json_auto_t *y1 = put (f->store, "y", "old", &error);
  g_assert_no_error (error);
  for (int i = 0; i < 1100; i++)
    {
      g_autofree char *name = g_strdup_printf ("f%d", i % 50);
      json_auto_t *m = put (f->store, name, "filler", &error);
      g_assert_no_error (error);
    }

  /* B, its applier not started: its writes lose the compare first (its
   * replica is behind), which brings x and y in, then go through. */
  b_store = open_store (path2, f->prefix);
  g_assert_null (put (b_store, "x", "new", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFLICT);
  g_clear_error (&error);
  g_assert_null (put (b_store, "y", "new", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFLICT);
  g_clear_error (&error);
  json_auto_t *x2 = put (b_store, "x", "new", &error);
  g_assert_no_error (error);
  g_assert_true (b_store->ops->record_delete (b_store, "y", &error));
  g_assert_no_error (error);

  Replay r = { path2, 0, 0, 0 };
  CgVaultStoreEtcdState st;
  cg_vault_store_etcd_get_state (b_store, &st);
  r.own_rev = st.etcd_revision;
  g_assert_true (cg_vault_store_etcd_start (b_store, NULL, replay_changed_cb, NULL, &r, &error));
  g_assert_no_error (error);
  assert_converge (f->prefix, paths);
  b_store->ops->free (b_store);
  g_test_message ("batches below B's own writes: %d", r.early);
  g_assert_cmpint (r.early, >=, 1);
  g_assert_cmpint (r.regressed, ==, 0);
}

static int
log_count (const char *text)
{
  g_mutex_lock (&log_lock);
  int n = 0;
  for (const char *p = log_text->str; (p = strstr (p, text)); p++)
    n++;
  g_mutex_unlock (&log_lock);
  return n;
}

/* The replica refuses a revision (here a trigger stands for a full disk):
 * the applier says so once, retries at a pace rather than in a loop, keeps
 * its revision, and applies it once the replica takes it again; nothing is
 * skipped. */
static void
test_apply_refused (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  sqlite3 *db = cg_db_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_true (cg_db_exec (db,
                             "CREATE TRIGGER poison BEFORE INSERT ON credentials "
                             "WHEN NEW.name = 'poison' BEGIN SELECT RAISE (ABORT, 'no room'); END",
                             &error));
  log_clear ();
  g_autofree char *path2 = g_build_filename (f->dir, "b.db", NULL);
  CgVaultStore *b_store = open_store (path2, f->prefix);
  json_auto_t *m1 = put (b_store, "poison", "B", &error);
  json_auto_t *m2 = put (b_store, "after", "B", &error);
  g_assert_no_error (error);
  b_store->ops->free (b_store);

  gint64 until = g_get_monotonic_time () + CONVERGE_S * G_USEC_PER_SEC;
  while (!log_has ("to the replica (retrying"))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      g_usleep (50 * 1000);
    }
  g_usleep (2 * G_USEC_PER_SEC);
  g_assert_cmpint (log_count ("to the replica (retrying"), ==, 1);
  /* A try every half second or so, not a loop. */
  int tries = log_count ("failed again");
  g_test_message ("tries in 2 s: %d", tries);
  g_assert_cmpint (tries, >=, 1);
  g_assert_cmpint (tries, <=, 8);
  g_assert_null (f->store->ops->record_get (f->store, "after", NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (cg_db_exec (db, "DROP TRIGGER poison", &error));
  sqlite3_close (db);
  const char *paths[] = { f->path, NULL };
  assert_converge (f->prefix, paths);
  g_assert_true (log_has ("applied to the replica after all"));
}

/* A replica that was synced on another prefix (another cluster, whose
 * revisions may be far ahead of this one's) is made exactly this prefix's
 * at start: none of its old rows or revisions counts. */
static void
test_prefix_move (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  json_auto_t *a1 = put (f->store, "a", "old-cluster", &error);
  json_auto_t *b1 = put (f->store, "b", "old-cluster", &error);
  g_assert_no_error (error);
  f->store->ops->free (f->store);
  sqlite3 *db = cg_db_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_true (cg_db_exec (db, "UPDATE cluster_revs SET mod_revision = 1000000000", &error));
  sqlite3_close (db);

  g_autofree char *prefix2 = new_prefix ();
  g_autofree char *other = g_build_filename (f->dir, "other.db", NULL);
  CgVaultStore *writer = open_store (other, prefix2);
  start (writer);
  json_auto_t *a2 = put (writer, "a", "new-cluster", &error);
  g_assert_no_error (error);
  writer->ops->free (writer);

  f->store = open_store (f->path, prefix2);
  start (f->store);
  const char *paths[] = { f->path, NULL };
  assert_converge (prefix2, paths);
  g_autoptr (GBytes) got = get_sealed (f->store, "a", NULL);
  assert_sealed (got, "new-cluster-v1");
}

/* What another writer put under the prefix that this agent would never
 * write (a name outside the rule, a value that is not the JSON expected, a
 * token HMAC of the wrong length) is skipped, without stopping the applier:
 * a good write after them arrives. */
static void
test_hostile_values (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CgEtcd) etcd = raw_client ();
  const char *bad[][2] = {
    { "rec/..", "{\"type\":\"sql\",\"properties\":\"{}\",\"version\":1,\"created\":\"c\","
                "\"updated\":\"u\",\"sealed\":\"AAAA\"}" },
    { "rec/x y", "{}" },
    { "rec/notjson", "not json" },
    { "rec/nosealed", "{\"type\":\"sql\",\"properties\":\"{}\",\"version\":1,"
                      "\"created\":\"c\",\"updated\":\"u\"}" },
    { "tok/short", "{\"hmac\":\"AAAA\",\"created\":\"c\"}" },
    { "key/k", "{\"created\":\"c\",\"current\":\"yes\",\"retired\":false}" },
    { "meta/instance", "{\"value\":\"someone else\"}" },
    { "client/0c01", "{\"name\":\"bad name\",\"spki\":\"s\",\"enrolled\":\"e\","
                     "\"expires\":\"2099-01-01T00:00:00Z\"}" },
    { "client/0c02", "{\"name\":\"ok\",\"spki\":\"s\",\"enrolled\":\"e\","
                     "\"expires\":\"2099-01-01T00:00:00Z\",\"revoked\":null}" },
    { "client/0c03", "{\"name\":\"ok\",\"spki\":\"s\",\"enrolled\":\"e\","
                     "\"expires\":\"2099-01-01T00:00:00Z\",\"revoked\":\"r\"}" },
    { "enroll/short", "{\"hmac\":\"AAAA\",\"created\":\"c\",\"expires\":\"2099\","
                      "\"validity\":60}" },
    { "enroll/novalidity", "{\"hmac\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
                           "\"created\":\"c\",\"expires\":\"2099\",\"validity\":0}" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *k = g_strconcat (f->prefix, bad[i][0], NULL);
      g_autoptr (GBytes) key = b (k), value = b (bad[i][1]);
      g_assert_true (cg_etcd_put (etcd, key, value, 0, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_true (f->store->ops->meta_set (f->store, "instance", "mine", &error));
  g_autofree char *path2 = g_build_filename (f->dir, "b.db", NULL);
  CgVaultStore *b_store = open_store (path2, f->prefix);
  json_auto_t *m = put (b_store, "good", "B", &error);
  g_assert_no_error (error);
  b_store->ops->free (b_store);

  gint64 until = g_get_monotonic_time () + CONVERGE_S * G_USEC_PER_SEC;
  json_t *got = NULL;
  while (!(got = f->store->ops->record_get (f->store, "good", NULL, NULL)))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      g_usleep (50 * 1000);
    }
  json_decref (got);
  json_auto_t *list = f->store->ops->record_list (f->store, &error);
  g_assert_cmpuint (json_array_size (list), ==, 1);
  json_auto_t *tokens = f->store->ops->token_list (f->store, &error);
  g_assert_cmpuint (json_array_size (tokens), ==, 0);
  json_auto_t *keys = f->store->ops->key_list (f->store, &error);
  g_assert_cmpuint (json_array_size (keys), ==, 0);
  /* No client row from a bad name, a null revocation or one without its
   * reason; no code from a short HMAC or a zero validity. */
  json_auto_t *clients = f->store->ops->client_list (f->store, "2026-01-01T00:00:00Z", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_size (clients), ==, 0);
  g_autofree char *instance = f->store->ops->meta_get (f->store, "instance", &error);
  g_assert_cmpstr (instance, ==, "mine");
  g_assert_true (log_has ("a malformed value at revision"));
  g_assert_true (log_has ("a key with an invalid name at revision"));
}

typedef struct
{
  GMutex lock;
  guint areas;
  gint64 changed_rev;
  GPtrArray *others; /* "PUT key" / "DELETE key" */
} Seen;

static void
other_cb (CgEtcdEventType type, const CgEtcdKv *kv, gpointer data)
{
  Seen *seen = data;
  g_mutex_lock (&seen->lock);
  g_ptr_array_add (seen->others,
                   g_strdup_printf ("%s %.*s", type == CG_ETCD_EVENT_PUT ? "PUT" : "DELETE",
                                    (int) g_bytes_get_size (kv->key),
                                    (const char *) g_bytes_get_data (kv->key, NULL)));
  g_mutex_unlock (&seen->lock);
}

static void
changed_cb (guint areas, gint64 revision, gpointer data)
{
  Seen *seen = data;
  g_mutex_lock (&seen->lock);
  seen->areas |= areas;
  seen->changed_rev = revision;
  g_mutex_unlock (&seen->lock);
}

static gboolean
seen_other (Seen *seen, const char *want)
{
  gint64 until = g_get_monotonic_time () + CONVERGE_S * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until)
    {
      g_mutex_lock (&seen->lock);
      gboolean found = FALSE;
      for (guint i = 0; i < seen->others->len && !found; i++)
        found = strcmp (seen->others->pdata[i], want) == 0;
      g_mutex_unlock (&seen->lock);
      if (found)
        return TRUE;
      g_usleep (50 * 1000);
    }
  return FALSE;
}

static gboolean
key_wraps_cb (const char *secret_id, CgEtcdTxn *txn, gpointer data)
{
  const char *prefix = data;
  g_autofree char *k = g_strconcat (prefix, "wrap/n1/", secret_id, NULL);
  g_autoptr (GBytes) key = b (k), value = b ("jwe-text");
  cg_etcd_txn_put (txn, key, value, 0);
  return TRUE;
}

/* The applier: another node's writes reach this replica and the changed
 * callback names their areas; keys outside the store's areas go to the
 * other callback and stay out of the replica; the key_wraps hook's puts
 * are in the same txn as the key they wrap. */
typedef struct
{
  Seen seen;
  char *prefix;
} CbData;

static gboolean
wraps_cb (const char *secret_id, CgEtcdTxn *txn, gpointer data, GError **error)
{
  (void) error;
  CbData *cb = data;
  return key_wraps_cb (secret_id, txn, cb->prefix);
}

static void
cb_other (CgEtcdEventType type, const CgEtcdKv *kv, gpointer data)
{
  other_cb (type, kv, &((CbData *) data)->seen);
}

static void
cb_changed (guint areas, gint64 revision, gpointer data)
{
  changed_cb (areas, revision, &((CbData *) data)->seen);
}

static void
test_applier (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  CbData cb = { { { 0 } }, f->prefix };
  g_mutex_init (&cb.seen.lock);
  cb.seen.others = g_ptr_array_new_with_free_func (g_free);

  g_autofree char *path2 = g_build_filename (f->dir, "b.db", NULL);
  CgVaultStore *b_store = open_store (path2, f->prefix);
  g_assert_true (cg_vault_store_etcd_start (b_store, cb_other, cb_changed, wraps_cb, &cb, &error));
  g_assert_no_error (error);

  json_auto_t *m = put (f->store, "from-a", "A", &error);
  g_assert_no_error (error);
  guint8 mac[32];
  memset (mac, 7, sizeof mac);
  g_assert_true (f->store->ops->token_add (f->store, "t", mac, "2026-03-01T00:00:00Z", &error));
  const char *paths[] = { f->path, path2, NULL };
  assert_converge (f->prefix, paths);
  g_mutex_lock (&cb.seen.lock);
  g_assert_cmpuint (cb.seen.areas & (CG_STORE_CHANGED_RECORDS | CG_STORE_CHANGED_TOKENS), ==,
                    CG_STORE_CHANGED_RECORDS | CG_STORE_CHANGED_TOKENS);
  g_mutex_unlock (&cb.seen.lock);

  /* A member's key under the prefix: to the callback, not the replica. */
  g_autoptr (CgEtcd) etcd = raw_client ();
  g_autofree char *node_key = g_strconcat (f->prefix, "node/n9", NULL);
  g_autoptr (GBytes) nk = b (node_key), nv = b ("{\"name\":\"n9\"}");
  g_assert_true (cg_etcd_put (etcd, nk, nv, 0, NULL, &error));
  g_autofree char *want = g_strconcat ("PUT ", node_key, NULL);
  g_assert_true (seen_other (&cb.seen, want));

  /* B's new key: its wrap in the same revision. */
  g_assert_true (b_store->ops->key_add_current (b_store, "kb", "2026-03-01T00:00:00Z", TRUE,
                                                &error));
  g_assert_no_error (error);
  g_autofree char *wrap_key = g_strconcat (f->prefix, "wrap/n1/seal/kb", NULL);
  g_autofree char *kid_key = g_strconcat (f->prefix, "key/kb", NULL);
  g_autoptr (GBytes) wk = b (wrap_key), kk = b (kid_key);
  g_autoptr (GPtrArray) w1 = NULL, k1 = NULL;
  g_assert_true (cg_etcd_range (etcd, wk, CG_ETCD_RANGE_NONE, 0, 0, &w1, NULL, NULL, &error));
  g_assert_true (cg_etcd_range (etcd, kk, CG_ETCD_RANGE_NONE, 0, 0, &k1, NULL, NULL, &error));
  g_assert_cmpuint (w1->len, ==, 1);
  g_assert_cmpuint (k1->len, ==, 1);
  g_assert_cmpint (((CgEtcdKv *) w1->pdata[0])->mod_revision, ==,
                   ((CgEtcdKv *) k1->pdata[0])->mod_revision);
  g_assert_true (b_store->ops->meta_set (b_store, "master_current", "mk2", &error));
  g_autofree char *mwrap = g_strconcat ("PUT ", f->prefix, "wrap/n1/master/mk2", NULL);
  g_assert_true (seen_other (&cb.seen, mwrap));
  assert_converge (f->prefix, paths);

  CgVaultStoreEtcdState st;
  cg_vault_store_etcd_get_state (b_store, &st);
  g_assert_true (st.writable);
  g_assert_cmpint (st.applied_revision, >, 0);
  g_assert_cmpint (st.etcd_revision, >=, st.applied_revision);
  g_assert_cmpint (st.last_contact, >, g_get_real_time () / G_USEC_PER_SEC - 30);
  b_store->ops->free (b_store);
  g_ptr_array_unref (cb.seen.others);
  g_mutex_clear (&cb.seen.lock);
}

/* Two nodes writing the same 10 names at once (issue 13, scenario 2, at
 * store level). */
#define N_NAMES 10
#define N_WRITES 50

typedef struct
{
  CgVaultStore *store;
  char tag;
  /* per write: the name index, the version stored, 0 when it lost */
  int name[N_WRITES];
  gint64 version[N_WRITES];
  int conflicts;
} Writer;

static gpointer
writer_thread (gpointer data)
{
  Writer *w = data;
  for (int i = 0; i < N_WRITES; i++)
    {
      g_autoptr (GError) error = NULL;
      w->name[i] = g_random_int_range (0, N_NAMES);
      g_autofree char *name = g_strdup_printf ("n%d", w->name[i]);
      g_autofree char *tag = g_strdup_printf ("%c%d", w->tag, i);
      json_auto_t *m = put (w->store, name, tag, &error);
      if (m)
        w->version[i] = json_integer_value (json_object_get (m, "version"));
      else
        {
          /* Every write either succeeded or lost a compare: nothing else. */
          g_assert_error (error, CG_ERROR, CG_ERROR_CONFLICT);
          w->conflicts++;
        }
    }
  return NULL;
}

static void
test_concurrent (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autofree char *path2 = g_build_filename (f->dir, "b.db", NULL);
  CgVaultStore *b_store = open_store (path2, f->prefix);
  start (b_store);
  Writer wa = { .store = f->store, .tag = 'A' }, wb = { .store = b_store, .tag = 'B' };
  GThread *ta = g_thread_new ("writer-a", writer_thread, &wa);
  GThread *tb = g_thread_new ("writer-b", writer_thread, &wb);
  g_thread_join (ta);
  g_thread_join (tb);
  g_test_message ("conflicts: A %d, B %d of %d each", wa.conflicts, wb.conflicts, N_WRITES);

  /* Per name, the successful writes' versions are 1..N exactly once each
   * (no two writes won on the same version: no update lost), and etcd holds
   * the one with the highest. */
  g_autoptr (CgEtcd) etcd = raw_client ();
  for (int n = 0; n < N_NAMES; n++)
    {
      g_autoptr (GHashTable) versions = g_hash_table_new (g_int64_hash, g_int64_equal);
      gint64 top = 0;
      g_autofree char *top_tag = NULL;
      Writer *ws[] = { &wa, &wb };
      for (int k = 0; k < 2; k++)
        for (int i = 0; i < N_WRITES; i++)
          if (ws[k]->name[i] == n && ws[k]->version[i] > 0)
            {
              g_assert_false (g_hash_table_contains (versions, &ws[k]->version[i]));
              g_hash_table_add (versions, &ws[k]->version[i]);
              if (ws[k]->version[i] > top)
                {
                  top = ws[k]->version[i];
                  g_free (top_tag);
                  top_tag = g_strdup_printf ("%c%d-v%" G_GINT64_FORMAT, ws[k]->tag, i, top);
                }
            }
      g_assert_cmpuint (g_hash_table_size (versions), ==, top);
      if (top == 0)
        continue;
      g_autofree char *k = g_strdup_printf ("%srec/n%d", f->prefix, n);
      g_autoptr (GBytes) key = b (k);
      g_autoptr (GPtrArray) kvs = NULL;
      g_autoptr (GError) error = NULL;
      g_assert_true (cg_etcd_range (etcd, key, CG_ETCD_RANGE_NONE, 0, 0, &kvs, NULL, NULL, &error));
      g_assert_cmpuint (kvs->len, ==, 1);
      json_auto_t *v = value_json (kvs->pdata[0]);
      g_assert_cmpint (json_integer_value (json_object_get (v, "version")), ==, top);
      const char *sealed_b64 = json_string_value (json_object_get (v, "sealed"));
      g_autofree char *want_b64 = cg_b64url_encode ((const guint8 *) top_tag, strlen (top_tag));
      g_assert_cmpstr (sealed_b64, ==, want_b64);
    }
  const char *paths[] = { f->path, path2, NULL };
  assert_converge (f->prefix, paths);
  /* Byte-identical record sets, read directly from both files. */
  g_autofree char *da = dump_replica (f->path), *db = dump_replica (path2);
  g_assert_cmpstr (da, ==, db);
  b_store->ops->free (b_store);
}

/* An applier stopped (its node's store freed) while 1,000 writes go
 * through the other node, then started: it catches up from its revision,
 * without a full sync (scenario 5 without compaction, at store level). */
static void
test_catch_up (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  g_autofree char *path2 = g_build_filename (f->dir, "b.db", NULL);
  CgVaultStore *b_store = open_store (path2, f->prefix);
  start (b_store);
  for (int i = 0; i < 20; i++)
    {
      g_autofree char *name = g_strdup_printf ("r%d", i);
      json_auto_t *m = put (f->store, name, "before", &error);
      g_assert_no_error (error);
    }
  const char *paths[] = { f->path, path2, NULL };
  assert_converge (f->prefix, paths);
  b_store->ops->free (b_store);

  gint64 t0 = g_get_monotonic_time ();
  for (int i = 0; i < 1000; i++)
    {
      g_autofree char *name = g_strdup_printf ("r%d", i % 100);
      if (i % 10 == 9)
        {
          if (!f->store->ops->record_delete (f->store, name, &error))
            {
              g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
              g_clear_error (&error);
            }
          continue;
        }
      g_autofree char *tag = g_strdup_printf ("w%d", i);
      json_auto_t *m = put (f->store, name, tag, &error);
      g_assert_no_error (error);
    }
  g_test_message ("1,000 writes through one node: %.1f s",
                  (g_get_monotonic_time () - t0) / 1e6);

  log_clear ();
  t0 = g_get_monotonic_time ();
  b_store = open_store (path2, f->prefix);
  start (b_store);
  assert_converge (f->prefix, paths);
  g_test_message ("the stopped node caught up in %.2f s", (g_get_monotonic_time () - t0) / 1e6);
  g_assert_false (log_has ("synced fully"));
  b_store->ops->free (b_store);
}

/* push_all moves a single node's tables into an empty prefix (for cluster
 * init), the local counters and last_used staying; it refuses a prefix
 * that holds anything, and then writes nothing. */
static void
test_push_all (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = cg_test_make_tmpdir ("cg-store-push");
  g_autofree char *path = g_build_filename (dir, "state.db", NULL);
  sqlite3 *db = cg_db_open (path, &error);
  g_assert_no_error (error);
  CgVaultStore *single = cg_vault_store_sqlite_new (db);
  for (int i = 0; i < 150; i++)
    {
      g_autofree char *name = g_strdup_printf ("c%03d", i);
      json_auto_t *m = put (single, name, "single", &error);
      g_assert_no_error (error);
    }
  g_assert_true (single->ops->key_add_current (single, "k1", "2026-01-01T00:00:00Z", TRUE, &error));
  g_assert_true (single->ops->key_add_current (single, "k2", "2026-02-01T00:00:00Z", FALSE, &error));
  g_assert_true (single->ops->key_note_use (single, "k1", 5, "2026-02-02T00:00:00Z", &error));
  guint8 mac[32];
  memset (mac, 3, sizeof mac);
  g_assert_true (single->ops->token_add (single, "ci", mac, "2026-01-01T00:00:00Z", &error));
  g_assert_true (single->ops->token_touch (single, "ci", "2026-02-03T00:00:00Z", &error));
  g_assert_true (single->ops->meta_set (single, "instance", "single-node", &error));
  /* A rotation under way: both master ids go; so do the client CA's
   * certificate, the certificates it signed (revoked ones too) and a
   * pending code; a certificate's last use stays this node's. */
  g_assert_true (single->ops->meta_set (single, "master_current", "m2", &error));
  g_assert_true (single->ops->meta_set (single, "master_old", "m1", &error));
  g_assert_true (cg_db_meta_set (db, "client_ca_cert", "-----BEGIN CERTIFICATE-----", &error));
  guint8 code1[32], code2[32], code3[32];
  memset (code1, 7, sizeof code1);
  memset (code2, 8, sizeof code2);
  memset (code3, 9, sizeof code3);
  g_assert_true (single->ops->client_code_add (single, "laptop", code1, "2026-01-01T00:00:00Z",
                                               "2099-01-01T00:00:00Z", 60, &error));
  g_assert_true (single->ops->client_enroll (single, code1, "laptop", "0b01", "sha256:l",
                                             "2026-01-01T01:00:00Z", "2099-01-01T00:00:00Z",
                                             &error));
  g_assert_true (single->ops->client_touch (single, "0b01", "2026-01-02T00:00:00Z", &error));
  g_assert_true (single->ops->client_code_add (single, "gone", code2, "2026-01-01T00:00:00Z",
                                               "2099-01-01T00:00:00Z", 60, &error));
  g_assert_true (single->ops->client_enroll (single, code2, "gone", "0b02", "sha256:g",
                                             "2026-01-01T01:00:00Z", "2099-01-01T00:00:00Z",
                                             &error));
  g_assert_true (single->ops->client_revoke (single, "gone", "2026-01-03T00:00:00Z", &error));
  g_assert_true (single->ops->client_code_add (single, "later", code3, "2026-01-01T00:00:00Z",
                                               "2099-01-01T00:00:00Z", 60, &error));
  g_assert_no_error (error);
  single->ops->free (single);
  sqlite3_close (db);
  g_autofree char *before = dump_replica (path);

  g_autofree char *prefix = new_prefix ();
  CgVaultStore *store = open_store (path, prefix);
  g_assert_true (cg_vault_store_etcd_push_all (store, &error));
  g_assert_no_error (error);
  g_autofree char *in_etcd = dump_etcd (prefix);
  g_assert_cmpstr (in_etcd, ==, before);
  g_assert_nonnull (strstr (in_etcd, "meta/master_old=m1"));
  g_assert_nonnull (strstr (in_etcd, "meta/keys_created=1"));
  g_assert_nonnull (strstr (in_etcd, "meta/client_ca_cert=-----BEGIN CERTIFICATE-----"));
  g_assert_nonnull (strstr (in_etcd, "client/0b01=laptop|sha256:l|"));
  g_assert_nonnull (strstr (in_etcd, "client/0b02=gone|sha256:g|2026-01-01T01:00:00Z|"
                                     "2099-01-01T00:00:00Z|2026-01-03T00:00:00Z|revoked"));
  g_assert_nonnull (strstr (in_etcd, "enroll/later="));
  g_assert_null (strstr (in_etcd, "2026-01-02T00:00:00Z"));
  g_assert_null (strstr (in_etcd, "instance"));
  start (store);
  g_assert_false (cg_vault_store_etcd_push_all (store, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_FAILED);
  g_clear_error (&error);
  g_autofree char *after = dump_replica (path);
  g_assert_cmpstr (after, ==, before);
  json_auto_t *keys = store->ops->key_list (store, &error);
  g_assert_cmpint (json_integer_value (json_object_get (json_array_get (keys, 0), "opened")), ==, 5);
  json_auto_t *toks = store->ops->token_list (store, &error);
  g_assert_cmpstr (json_string_value (json_object_get (json_array_get (toks, 0), "last_used")), ==,
                   "2026-02-03T00:00:00Z");
  g_autofree char *instance = store->ops->meta_get (store, "instance", &error);
  g_assert_cmpstr (instance, ==, "single-node");
  json_auto_t *laptop = store->ops->client_get (store, "0b01", &error);
  g_assert_cmpstr (json_string_value (json_object_get (laptop, "lastUsed")), ==,
                   "2026-01-02T00:00:00Z");

  /* Again into the same prefix, from another node's tables: refused. */
  g_autofree char *path2 = g_build_filename (dir, "other.db", NULL);
  sqlite3 *db2 = cg_db_open (path2, &error);
  CgVaultStore *single2 = cg_vault_store_sqlite_new (db2);
  json_auto_t *m = put (single2, "c000", "intruder", &error);
  g_assert_no_error (error);
  single2->ops->free (single2);
  sqlite3_close (db2);
  CgVaultStore *store2 = open_store (path2, prefix);
  g_assert_false (cg_vault_store_etcd_push_all (store2, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_EXISTS);
  g_autofree char *unchanged = dump_etcd (prefix);
  g_assert_cmpstr (unchanged, ==, before);
  store2->ops->free (store2);
  store->ops->free (store);
  cg_test_rm_rf (dir);
}

/* What etcd holds is sealed bytes and HMACs: a canary secret sealed into
 * records (AES-256-GCM under a key only this test has) and a canary token
 * (only its HMAC stored) appear nowhere in etcd, in no encoding, while the
 * sealed bytes themselves are found (the scan reads every value). */
static GBytes *
seal_canary_cb (gint64 version, gpointer user_data)
{
  (void) version;
  const char *canary = user_data;
  guint8 key[32], iv[12], out[256];
  gnutls_datum_t k = { key, sizeof key };
  gnutls_rnd (GNUTLS_RND_KEY, key, sizeof key);
  gnutls_rnd (GNUTLS_RND_NONCE, iv, sizeof iv);
  gnutls_aead_cipher_hd_t h = NULL;
  g_assert_cmpint (gnutls_aead_cipher_init (&h, GNUTLS_CIPHER_AES_256_GCM, &k), ==, 0);
  size_t out_len = sizeof out - sizeof iv;
  g_assert_cmpint (gnutls_aead_cipher_encrypt (h, iv, sizeof iv, NULL, 0, 16, canary,
                                               strlen (canary), out + sizeof iv, &out_len),
                   ==, 0);
  gnutls_aead_cipher_deinit (h);
  gnutls_memset (key, 0, sizeof key);
  memcpy (out, iv, sizeof iv);
  return g_bytes_new (out, out_len + sizeof iv);
}

static gboolean
contains (GBytes *hay, const char *needle)
{
  gsize len = 0;
  const char *data = hay ? g_bytes_get_data (hay, &len) : NULL;
  return data && g_strstr_len (data, len, needle) != NULL;
}

static void
test_canary (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (GError) error = NULL;
  g_autofree char *canary = g_strdup_printf ("canary-secret-%08x%08x", g_random_int (),
                                             g_random_int ());
  g_autofree char *canary_token = g_strdup_printf ("cgt_canarytoken%08x", g_random_int ());
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("secret%d", i);
      json_auto_t *m = f->store->ops->record_put (f->store, name, "sql", "{\"host\":\"db\"}",
                                                  "2026-03-01T00:00:00Z", seal_canary_cb, canary,
                                                  &error);
      g_assert_no_error (error);
    }
  guint8 mac[32];
  g_assert_cmpint (gnutls_hmac_fast (GNUTLS_MAC_SHA256, "token-key", 9, canary_token,
                                     strlen (canary_token), mac),
                   ==, 0);
  g_assert_true (f->store->ops->token_add (f->store, "ci", mac, "2026-03-01T00:00:00Z", &error));
  g_assert_true (f->store->ops->key_add_current (f->store, "k1", "2026-03-01T00:00:00Z", TRUE,
                                                 &error));
  /* An enrollment code goes to etcd as its HMAC alone. */
  g_autofree char *canary_code = g_strdup_printf ("cge_canarycode%08x", g_random_int ());
  guint8 code_mac[32];
  g_assert_cmpint (gnutls_hmac_fast (GNUTLS_MAC_SHA256, "token-key", 9, canary_code,
                                     strlen (canary_code), code_mac),
                   ==, 0);
  g_assert_true (f->store->ops->client_code_add (f->store, "laptop", code_mac,
                                                 "2026-03-01T00:00:00Z", "2099-01-01T00:00:00Z",
                                                 60, &error));

  g_autoptr (GBytes) sealed0 = get_sealed (f->store, "secret0", NULL);
  g_autofree char *sealed0_b64 = cg_b64url_encode (g_bytes_get_data (sealed0, NULL),
                                                   g_bytes_get_size (sealed0));
  const char *secrets[] = { canary, canary_token, canary_code };
  g_autoptr (GPtrArray) needles = g_ptr_array_new_with_free_func (g_free);
  for (gsize i = 0; i < G_N_ELEMENTS (secrets); i++)
    {
      const char *s = secrets[i];
      g_ptr_array_add (needles, g_strdup (s));
      g_ptr_array_add (needles, g_base64_encode ((const guchar *) s, strlen (s)));
      g_ptr_array_add (needles, cg_b64url_encode ((const guint8 *) s, strlen (s)));
      g_ptr_array_add (needles, hex_of (s, strlen (s)));
    }

  g_autoptr (GPtrArray) all = etcd_all ("");
  gboolean found_sealed = FALSE;
  guint ours = 0;
  for (guint i = 0; i < all->len; i++)
    {
      CgEtcdKv *kv = all->pdata[i];
      if (contains (kv->key, f->prefix))
        ours++;
      found_sealed |= contains (kv->value, sealed0_b64);
      for (guint n = 0; n < needles->len; n++)
        {
          g_assert_false (contains (kv->key, needles->pdata[n]));
          g_assert_false (contains (kv->value, needles->pdata[n]));
        }
      /* The sealed field decoded too. */
      json_auto_t *v = kv->value ? json_loadb (g_bytes_get_data (kv->value, NULL),
                                               g_bytes_get_size (kv->value), 0, NULL)
                                 : NULL;
      const char *sealed = json_string_value (json_object_get (v, "sealed"));
      if (sealed)
        {
          gsize len = 0;
          g_autofree guint8 *raw = cg_b64url_decode (sealed, strlen (sealed), &len);
          g_autoptr (GBytes) rb = g_bytes_new (raw, len);
          for (guint n = 0; n < needles->len; n++)
            g_assert_false (contains (rb, needles->pdata[n]));
        }
    }
  g_assert_true (found_sealed);
  g_assert_cmpuint (ours, ==, 5 + 1 + 1 + 1 + 1);
}

/* ---- phases with members stopped ------------------------------------------ */

static void
phase_lag_prepare (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *prefix = new_prefix ();
  save ("prefix", prefix);
  g_autofree char *pa = dir_path ("a.db"), *pb = dir_path ("b.db");
  CgVaultStore *a = open_store (pa, prefix), *b_store = open_store (pb, prefix);
  start (a);
  start (b_store);
  guint8 mac[32];
  for (int i = 0; i < 50; i++)
    {
      g_autofree char *name = g_strdup_printf ("r%02d", i);
      json_auto_t *m = put (a, name, "first", &error);
      g_assert_no_error (error);
    }
  memset (mac, 1, sizeof mac);
  g_assert_true (a->ops->token_add (a, "gone", mac, "2026-03-01T00:00:00Z", &error));
  g_assert_true (a->ops->key_add_current (a, "k1", "2026-03-01T00:00:00Z", TRUE, &error));
  const char *paths[] = { pa, pb, NULL };
  assert_converge (prefix, paths);
  CgVaultStoreEtcdState st;
  cg_vault_store_etcd_get_state (b_store, &st);
  g_autofree char *b_rev = g_strdup_printf ("%" G_GINT64_FORMAT, st.applied_revision);
  save ("b-applied", b_rev);
  b_store->ops->free (b_store);

  /* While B is down: replaces, deletes, a token gone, a new key. */
  for (int i = 0; i < 200; i++)
    {
      g_autofree char *name = g_strdup_printf ("r%02d", i % 60);
      g_autofree char *tag = g_strdup_printf ("lag%d", i);
      if (i % 7 == 6)
        {
          if (!a->ops->record_delete (a, name, &error))
            g_clear_error (&error);
          continue;
        }
      json_auto_t *m = put (a, name, tag, &error);
      g_assert_no_error (error);
    }
  g_assert_true (a->ops->token_delete (a, "gone", &error));
  memset (mac, 2, sizeof mac);
  g_assert_true (a->ops->token_add (a, "new", mac, "2026-03-02T00:00:00Z", &error));
  g_assert_true (a->ops->key_add_current (a, "k2", "2026-03-02T00:00:00Z", FALSE, &error));
  g_assert_no_error (error);
  cg_vault_store_etcd_get_state (a, &st);
  g_autofree char *a_rev = g_strdup_printf ("%" G_GINT64_FORMAT, st.etcd_revision);
  save ("a-revision", a_rev);
  a->ops->free (a);
}

static void
phase_lag_resync (void)
{
  g_autofree char *prefix = load ("prefix");
  g_autofree char *b_rev = load ("b-applied");
  g_autofree char *pa = dir_path ("a.db"), *pb = dir_path ("b.db");
  log_clear ();
  gint64 t0 = g_get_monotonic_time ();
  CgVaultStore *b_store = open_store (pb, prefix);
  start (b_store);
  const char *paths[] = { pb, NULL };
  assert_converge (prefix, paths);
  g_test_message ("resynced after the compaction in %.2f s", (g_get_monotonic_time () - t0) / 1e6);
  g_autofree char *said = g_strdup_printf ("resynced fully: etcd compacted past revision %s",
                                           b_rev);
  g_assert_true (log_has (said));
  /* A's replica, made by its own writes and its applier, is the same. */
  g_autofree char *da = dump_replica (pa), *db = dump_replica (pb);
  g_assert_cmpstr (da, ==, db);
  g_assert_null (strstr (db, "tok/gone="));
  g_assert_nonnull (strstr (db, "tok/new="));
  g_assert_nonnull (strstr (db, "key/k2="));
  b_store->ops->free (b_store);
}

/* Two of three members stopped (scenario 4 at store level). */
static void
phase_quorum_lost (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *prefix = load ("prefix");
  g_autofree char *pa = dir_path ("a.db");
  g_autofree char *before = dump_replica (pa);
  CgVaultStore *a = open_store (pa, prefix);
  /* A replica synced before starts without etcd. */
  start (a);

  gint64 t0 = g_get_monotonic_time ();
  g_assert_null (put (a, "outage", "outage", &error));
  gint64 put_ms = (g_get_monotonic_time () - t0) / 1000;
  g_assert_error (error, CG_ERROR, CG_ERROR_CLUSTER_UNAVAILABLE);
  g_clear_error (&error);
  g_test_message ("a write without quorum failed after %" G_GINT64_FORMAT " ms", put_ms);
  g_assert_cmpint (put_ms, <, 5000);

  /* A write of several keys at once: all or nothing, checked when the
   * members are back. */
  t0 = g_get_monotonic_time ();
  g_assert_false (a->ops->key_add_current (a, "outage-key", "2026-03-03T00:00:00Z", FALSE,
                                           &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_CLUSTER_UNAVAILABLE);
  g_clear_error (&error);
  g_assert_cmpint ((g_get_monotonic_time () - t0) / 1000, <, 5000);
  t0 = g_get_monotonic_time ();
  g_assert_false (a->ops->token_delete (a, "new", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_CLUSTER_UNAVAILABLE);
  g_clear_error (&error);
  g_assert_cmpint ((g_get_monotonic_time () - t0) / 1000, <, 5000);

  CgVaultStoreEtcdState st;
  cg_vault_store_etcd_get_state (a, &st);
  g_assert_false (st.writable);

  /* Reads go on from the replica, which holds nothing of the failed
   * writes. */
  json_auto_t *list = a->ops->record_list (a, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_size (list), >, 0);
  g_autoptr (GBytes) sealed = get_sealed (a, json_string_value (json_object_get (
                                                 json_array_get (list, 0), "name")),
                                          NULL);
  g_assert_nonnull (sealed);
  g_autofree char *mac_name = NULL;
  guint8 mac[32];
  memset (mac, 2, sizeof mac);
  mac_name = a->ops->token_find (a, mac, NULL, &error);
  g_assert_cmpstr (mac_name, ==, "new");
  g_autofree char *after = dump_replica (pa);
  g_assert_cmpstr (after, ==, before);
  a->ops->free (a);
}

static void
phase_recovered (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *prefix = load ("prefix");
  g_autofree char *pa = dir_path ("a.db"), *pb = dir_path ("b.db");
  CgVaultStore *a = open_store (pa, prefix), *b_store = open_store (pb, prefix);
  start (a);
  start (b_store);

  /* Writes resume (the first may meet an election still going on). */
  gint64 until = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  json_t *m = NULL;
  while (!(m = put (b_store, "after", "after", &error)))
    {
      g_assert_error (error, CG_ERROR, CG_ERROR_CLUSTER_UNAVAILABLE);
      g_clear_error (&error);
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      g_usleep (200 * 1000);
    }
  json_decref (m);
  CgVaultStoreEtcdState st;
  cg_vault_store_etcd_get_state (b_store, &st);
  g_assert_true (st.writable);

  /* Nothing half there: the failed key_add_current either made outage-key
   * the one current key or changed nothing; one current key in any case. */
  const char *paths[] = { pa, pb, NULL };
  assert_converge (prefix, paths);
  g_autofree char *dump = dump_etcd (prefix);
  g_auto (GStrv) lines = g_strsplit (dump, "\n", -1);
  int current = 0;
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], "key/") && g_str_has_suffix (lines[i], "|1|0"))
      current++;
  g_assert_cmpint (current, ==, 1);
  g_assert_nonnull (strstr (dump, "rec/after="));
  a->ops->free (a);
  b_store->ops->free (b_store);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gnutls_global_init ();
  log_text = g_string_new (NULL);
  g_log_set_writer_func (log_writer, NULL, NULL);
  /* The store warns when etcd cannot be reached: expected in these tests. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  const char *phase = env ("CG_STORE_PHASE");
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  if (g_str_equal (phase, "up"))
    {
      ADD ("/vault-store-etcd/contract/records", test_contract_records);
      ADD ("/vault-store-etcd/contract/keys", test_contract_keys);
      ADD ("/vault-store-etcd/contract/tokens", test_contract_tokens);
      ADD ("/vault-store-etcd/contract/meta", test_contract_meta);
      ADD ("/vault-store-etcd/contract/reseal", test_contract_reseal);
      ADD ("/vault-store-etcd/contract/clients", test_contract_clients);
      ADD ("/vault-store-etcd/enroll-race", test_enroll_race);
      ADD ("/vault-store-etcd/conflict", test_conflict);
      ADD ("/vault-store-etcd/reseal-conflict", test_reseal_conflict);
      ADD ("/vault-store-etcd/master-race", test_master_race);
      ADD ("/vault-store-etcd/applier", test_applier);
      ADD ("/vault-store-etcd/hostile-values", test_hostile_values);
      ADD ("/vault-store-etcd/apply-refused", test_apply_refused);
      ADD ("/vault-store-etcd/concurrent", test_concurrent);
      ADD ("/vault-store-etcd/catch-up", test_catch_up);
      ADD ("/vault-store-etcd/replay", test_replay);
      ADD ("/vault-store-etcd/prefix-move", test_prefix_move);
      ADD ("/vault-store-etcd/canary", test_canary);
      g_test_add_func ("/vault-store-etcd/push-all", test_push_all);
    }
  else if (g_str_equal (phase, "lag-prepare"))
    g_test_add_func ("/vault-store-etcd/lag/prepare", phase_lag_prepare);
  else if (g_str_equal (phase, "lag-resync"))
    g_test_add_func ("/vault-store-etcd/lag/resync", phase_lag_resync);
  else if (g_str_equal (phase, "quorum-lost"))
    g_test_add_func ("/vault-store-etcd/quorum-lost", phase_quorum_lost);
  else if (g_str_equal (phase, "recovered"))
    g_test_add_func ("/vault-store-etcd/recovered", phase_recovered);
  else
    g_error ("unknown phase %s", phase);
#undef ADD
  return g_test_run ();
}
