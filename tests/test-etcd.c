/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store/cg-etcd against a real three-member etcd cluster with mutual TLS,
 * started by tests/test-etcd.sh (tests/etcd-cluster.sh), which runs this
 * program once per phase (CG_ETCD_PHASE): "up" with every member running,
 * "first-down" with member 1 stopped, "quorum-lost" with members 1 and 2
 * stopped, "recovered" with all three back. */
#include "config.h"

#include "store/cg-etcd.h"

#include <jansson.h>
#include <string.h>

#define TIMEOUT_MS 3000

static const char *
env (const char *name)
{
  const char *v = g_getenv (name);
  if (v == NULL || *v == '\0')
    g_error ("%s is not set: run through tests/test-etcd.sh", name);
  return v;
}

static CgEtcd *
client_for (const char *endpoints, const char *cert, const char *key)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) eps = g_strsplit (endpoints, ",", -1);
  CgEtcd *etcd = cg_etcd_new ((const char *const *) eps, env ("ETCD_CA"), cert, key, TIMEOUT_MS,
                              &error);
  g_assert_no_error (error);
  return etcd;
}

static CgEtcd *
client (void)
{
  return client_for (env ("ETCD_ENDPOINTS"), env ("ETCD_CERT"), env ("ETCD_KEY"));
}

static GBytes *
b (const char *s)
{
  return g_bytes_new (s, strlen (s));
}

static void
assert_bytes (GBytes *got, const void *want, gsize len)
{
  g_assert_nonnull (got);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), want, len);
}

/* The value of @key (NULL when absent), linearizable. */
static GBytes *
get (CgEtcd *etcd, const char *key, gint64 *mod_revision)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) kvs = NULL;
  g_autoptr (GBytes) k = b (key);
  g_assert_true (cg_etcd_range (etcd, k, CG_ETCD_RANGE_NONE, 0, 0, &kvs, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (kvs->len, <=, 1);
  if (kvs->len == 0)
    return NULL;
  CgEtcdKv *kv = kvs->pdata[0];
  if (mod_revision)
    *mod_revision = kv->mod_revision;
  return g_bytes_ref (kv->value);
}

static gint64
put (CgEtcd *etcd, const char *key, const char *value)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) k = b (key), v = b (value);
  gint64 rev = 0;
  g_assert_true (cg_etcd_put (etcd, k, v, 0, &rev, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rev, >, 0);
  return rev;
}

/* ---- phase "up" ---- */

static void
test_roundtrip_binary (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  guint8 value[512];
  const guint8 key_data[] = { '/', 'c', 'g', 0x00, 0xff, 0x80, '\n', '"' };
  for (guint i = 0; i < sizeof value; i++)
    value[i] = (guint8) (i * 7 + 3);
  g_autoptr (GBytes) key = g_bytes_new (key_data, sizeof key_data);
  g_autoptr (GBytes) val = g_bytes_new (value, sizeof value);
  gint64 rev = 0;

  g_assert_true (cg_etcd_put (etcd, key, val, 0, &rev, &error));
  g_assert_no_error (error);

  /* Read back through another member. */
  g_autoptr (CgEtcd) other = client_for (env ("ETCD_ENDPOINT_3"), env ("ETCD_CERT"), env ("ETCD_KEY"));
  g_autoptr (GPtrArray) kvs = NULL;
  gint64 header_rev = 0;
  g_assert_true (cg_etcd_range (other, key, CG_ETCD_RANGE_NONE, 0, 0, &kvs, &header_rev, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (kvs->len, ==, 1);
  CgEtcdKv *kv = kvs->pdata[0];
  assert_bytes (kv->key, key_data, sizeof key_data);
  assert_bytes (kv->value, value, sizeof value);
  g_assert_cmpint (kv->mod_revision, ==, rev);
  g_assert_cmpint (kv->create_revision, ==, rev);
  g_assert_cmpint (kv->version, ==, 1);
  g_assert_cmpint (header_rev, >=, rev);

  /* An empty value is a value, not an absent key. */
  g_autoptr (GBytes) empty = g_bytes_new (NULL, 0);
  g_assert_true (cg_etcd_put (etcd, key, empty, 0, NULL, &error));
  g_autoptr (GPtrArray) kvs2 = NULL;
  g_assert_true (cg_etcd_range (etcd, key, CG_ETCD_RANGE_NONE, 0, 0, &kvs2, NULL, NULL, &error));
  g_assert_cmpuint (kvs2->len, ==, 1);
  g_assert_cmpuint (g_bytes_get_size (((CgEtcdKv *) kvs2->pdata[0])->value), ==, 0);
  g_assert_cmpint (((CgEtcdKv *) kvs2->pdata[0])->version, ==, 2);

  /* The earlier revision still holds the first value. */
  g_autoptr (GPtrArray) old = NULL;
  g_assert_true (cg_etcd_range (etcd, key, CG_ETCD_RANGE_NONE, rev, 0, &old, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (old->len, ==, 1);
  assert_bytes (((CgEtcdKv *) old->pdata[0])->value, value, sizeof value);

  /* The value that survives into the later phases. */
  put (etcd, "/cg/persist", "kept");
}

static void
test_prefix (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  const guint8 ff_prefix[] = { 0x01, 0xff };
  const guint8 inside[] = { 0x01, 0xff, 0x00 };
  const guint8 outside[] = { 0x02 };

  put (etcd, "/cg/p/b", "2");
  put (etcd, "/cg/p/a", "1");
  put (etcd, "/cg/p0", "not under /cg/p/");
  put (etcd, "/cg/q", "no");

  g_autoptr (GBytes) prefix = b ("/cg/p/");
  g_autoptr (GPtrArray) kvs = NULL;
  gboolean more = TRUE;
  g_assert_true (cg_etcd_range (etcd, prefix, CG_ETCD_RANGE_PREFIX, 0, 0, &kvs, NULL, &more, &error));
  g_assert_no_error (error);
  g_assert_false (more);
  g_assert_cmpuint (kvs->len, ==, 2);
  assert_bytes (((CgEtcdKv *) kvs->pdata[0])->key, "/cg/p/a", 7);
  assert_bytes (((CgEtcdKv *) kvs->pdata[0])->value, "1", 1);
  assert_bytes (((CgEtcdKv *) kvs->pdata[1])->key, "/cg/p/b", 7);

  /* A limit says there is more. */
  g_autoptr (GPtrArray) one = NULL;
  g_assert_true (cg_etcd_range (etcd, prefix, CG_ETCD_RANGE_PREFIX | CG_ETCD_RANGE_KEYS_ONLY, 0, 1,
                                &one, NULL, &more, &error));
  g_assert_cmpuint (one->len, ==, 1);
  g_assert_true (more);
  g_assert_null (((CgEtcdKv *) one->pdata[0])->value);

  /* A prefix ending in 0xff: its end is the byte before it incremented. */
  g_autoptr (GBytes) kin = g_bytes_new (inside, sizeof inside);
  g_autoptr (GBytes) kout = g_bytes_new (outside, sizeof outside);
  g_autoptr (GBytes) v = b ("x");
  g_assert_true (cg_etcd_put (etcd, kin, v, 0, NULL, &error));
  g_assert_true (cg_etcd_put (etcd, kout, v, 0, NULL, &error));
  g_autoptr (GBytes) pff = g_bytes_new (ff_prefix, sizeof ff_prefix);
  g_autoptr (GPtrArray) ffs = NULL;
  g_assert_true (cg_etcd_range (etcd, pff, CG_ETCD_RANGE_PREFIX, 0, 0, &ffs, NULL, NULL, &error));
  g_assert_cmpuint (ffs->len, ==, 1);
  assert_bytes (((CgEtcdKv *) ffs->pdata[0])->key, inside, sizeof inside);

  /* Delete the prefix: exactly its two keys go. */
  gint64 deleted = 0;
  g_assert_true (cg_etcd_delete_range (etcd, prefix, TRUE, &deleted, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (deleted, ==, 2);
  g_autoptr (GBytes) still = get (etcd, "/cg/p0", NULL);
  g_assert_nonnull (still);
}

typedef struct
{
  const char *endpoint;
  const char *value;
  gint64 mod_revision;
  GError *error;
  gboolean ok;
} Competitor;

static gpointer
compete (gpointer data)
{
  Competitor *c = data;
  g_autoptr (CgEtcd) etcd = client_for (c->endpoint, env ("ETCD_CERT"), env ("ETCD_KEY"));
  g_autoptr (CgEtcdTxn) txn = cg_etcd_txn_new ();
  g_autoptr (GBytes) k = b ("/cg/txn/record"), v = b (c->value);
  cg_etcd_txn_compare_mod_revision (txn, k, c->mod_revision);
  cg_etcd_txn_put (txn, k, v, 0);
  c->ok = cg_etcd_txn (etcd, txn, NULL, &c->error);
  return NULL;
}

static void
test_txn_conflict (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) k = b ("/cg/txn/record");

  /* Create only if absent: once, then a conflict. */
  for (int round = 0; round < 2; round++)
    {
      g_autoptr (CgEtcdTxn) create = cg_etcd_txn_new ();
      g_autoptr (GBytes) v = b ("v0");
      g_autoptr (GError) e = NULL;
      gint64 rev = 0;
      cg_etcd_txn_compare_mod_revision (create, k, 0);
      cg_etcd_txn_put (create, k, v, 0);
      gboolean ok = cg_etcd_txn (etcd, create, &rev, &e);
      g_assert_cmpint (rev, >, 0);
      if (round == 0)
        {
          g_assert_no_error (e);
          g_assert_true (ok);
        }
      else
        {
          g_assert_error (e, CG_ETCD_ERROR, CG_ETCD_ERROR_CONFLICT);
          g_assert_false (ok);
        }
    }

  gint64 base = 0;
  g_autoptr (GBytes) v0 = get (etcd, "/cg/txn/record", &base);
  assert_bytes (v0, "v0", 2);

  /* Two nodes update the same version at once through two members. */
  Competitor a = { env ("ETCD_ENDPOINT_1"), "from-a", base, NULL, FALSE };
  Competitor c = { env ("ETCD_ENDPOINT_2"), "from-b", base, NULL, FALSE };
  GThread *ta = g_thread_new ("a", compete, &a);
  GThread *tc = g_thread_new ("b", compete, &c);
  g_thread_join (ta);
  g_thread_join (tc);
  g_assert_true (a.ok != c.ok);
  Competitor *winner = a.ok ? &a : &c, *loser = a.ok ? &c : &a;
  g_assert_no_error (winner->error);
  g_assert_error (loser->error, CG_ETCD_ERROR, CG_ETCD_ERROR_CONFLICT);
  g_clear_error (&loser->error);

  gint64 now = 0;
  g_autoptr (GBytes) final = get (etcd, "/cg/txn/record", &now);
  assert_bytes (final, winner->value, strlen (winner->value));
  g_assert_cmpint (now, >, base);

  /* A txn that deletes, on the current version. */
  g_autoptr (CgEtcdTxn) del = cg_etcd_txn_new ();
  cg_etcd_txn_compare_mod_revision (del, k, now);
  cg_etcd_txn_delete (del, k, FALSE);
  g_assert_true (cg_etcd_txn (etcd, del, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (GBytes) gone = get (etcd, "/cg/txn/record", NULL);
  g_assert_null (gone);
}

static void
test_lease_revoke (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  gint64 id = 0, ttl = 0;
  g_autoptr (GBytes) k = b ("/cg/lease/revoked"), v = b ("node");

  g_assert_true (cg_etcd_lease_grant (etcd, 30, &id, &ttl, &error));
  g_assert_no_error (error);
  g_assert_cmpint (id, !=, 0);
  g_assert_cmpint (ttl, >=, 30);
  g_assert_true (cg_etcd_put (etcd, k, v, id, NULL, &error));
  g_assert_no_error (error);
  gint64 left = 0;
  g_assert_true (cg_etcd_lease_keepalive_once (etcd, id, &left, &error));
  g_assert_no_error (error);
  g_assert_cmpint (left, >, 0);

  g_autoptr (GPtrArray) kvs = NULL;
  g_assert_true (cg_etcd_range (etcd, k, CG_ETCD_RANGE_NONE, 0, 0, &kvs, NULL, NULL, &error));
  g_assert_cmpuint (kvs->len, ==, 1);
  g_assert_cmpint (((CgEtcdKv *) kvs->pdata[0])->lease, ==, id);

  g_assert_true (cg_etcd_lease_revoke (etcd, id, &error));
  g_assert_no_error (error);
  g_autoptr (GBytes) gone = get (etcd, "/cg/lease/revoked", NULL);
  g_assert_null (gone);

  /* A revoked lease cannot be kept alive, nor used. */
  g_assert_false (cg_etcd_lease_keepalive_once (etcd, id, &left, &error));
  g_assert_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (cg_etcd_put (etcd, k, v, id, NULL, &error));
  g_assert_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_REFUSED);
}

static void
test_lease_expiry (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  gint64 id = 0, ttl = 0;
  g_autoptr (GBytes) k = b ("/cg/lease/expiring"), v = b ("node");

  g_assert_true (cg_etcd_lease_grant (etcd, 1, &id, &ttl, &error));
  g_assert_no_error (error);
  g_assert_true (cg_etcd_put (etcd, k, v, id, NULL, &error));
  gint64 start = g_get_monotonic_time ();
  gboolean gone = FALSE;
  while (!gone && g_get_monotonic_time () - start < (ttl + 10) * G_USEC_PER_SEC)
    {
      g_autoptr (GBytes) still = get (etcd, "/cg/lease/expiring", NULL);
      gone = still == NULL;
      if (!gone)
        g_usleep (100 * 1000);
    }
  g_assert_true (gone);
  /* Not before its TTL (etcd may have raised it to its minimum). */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, (ttl - 1) * G_USEC_PER_SEC);
}

typedef struct
{
  GString *log;
  guint seen;
  guint stop_after;
  gint64 last_revision;
} Events;

static gboolean
collect_cb (CgEtcdEventType type, const CgEtcdKv *kv, gpointer user_data)
{
  Events *ev = user_data;
  g_assert_cmpint (kv->mod_revision, >, ev->last_revision);
  ev->last_revision = kv->mod_revision;
  g_string_append_printf (ev->log, "%s %.*s%s%.*s;", type == CG_ETCD_EVENT_PUT ? "put" : "del",
                          (int) g_bytes_get_size (kv->key),
                          (const char *) g_bytes_get_data (kv->key, NULL),
                          kv->value ? "=" : "", kv->value ? (int) g_bytes_get_size (kv->value) : 0,
                          kv->value ? (const char *) g_bytes_get_data (kv->value, NULL) : "");
  return ++ev->seen < ev->stop_after;
}

static void
test_watch_order (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) prefix = b ("/cg/w/");

  gint64 first = put (etcd, "/cg/w/a", "1");
  put (etcd, "/cg/other", "not watched");
  put (etcd, "/cg/w/b", "2");
  g_autoptr (GBytes) ka = b ("/cg/w/a");
  gint64 del_rev = 0;
  g_assert_true (cg_etcd_delete_range (etcd, ka, FALSE, NULL, &del_rev, &error));
  gint64 last = put (etcd, "/cg/w/b", "3");

  Events ev = { g_string_new (NULL), 0, 4, 0 };
  gint64 next = 0;
  gint64 started = g_get_monotonic_time ();
  g_assert_true (cg_etcd_watch (etcd, prefix, TRUE, first, 5000, collect_cb, &ev, NULL, &next,
                                NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (ev.log->str, ==, "put /cg/w/a=1;put /cg/w/b=2;del /cg/w/a;put /cg/w/b=3;");
  g_assert_cmpint (next, ==, last + 1);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 4 * G_USEC_PER_SEC);

  /* From where it stopped: nothing new, so it runs its bound and ends
   * cleanly; then a later put arrives. */
  g_string_truncate (ev.log, 0);
  ev.seen = 0;
  ev.stop_after = 1;
  g_assert_true (cg_etcd_watch (etcd, prefix, TRUE, next, 800, collect_cb, &ev, NULL, &next, NULL,
                                &error));
  g_assert_no_error (error);
  g_assert_cmpstr (ev.log->str, ==, "");
  g_assert_cmpint (next, ==, last + 1);
  gint64 later = put (etcd, "/cg/w/c", "4");
  g_assert_true (cg_etcd_watch (etcd, prefix, TRUE, next, 5000, collect_cb, &ev, NULL, &next, NULL,
                                &error));
  g_assert_no_error (error);
  g_assert_cmpstr (ev.log->str, ==, "put /cg/w/c=4;");
  g_assert_cmpint (next, ==, later + 1);
  g_string_free (ev.log, TRUE);
}

static void
etcdctl (const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *eps = g_strdup_printf ("--endpoints=%s", env ("ETCD_ENDPOINTS"));
  g_autofree char *ca = g_strdup_printf ("--cacert=%s", env ("ETCD_CA"));
  g_autofree char *cert = g_strdup_printf ("--cert=%s", env ("ETCD_CERT"));
  g_autofree char *key = g_strdup_printf ("--key=%s", env ("ETCD_KEY"));
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_ptr_array_add (argv, (char *) "etcdctl");
  g_ptr_array_add (argv, eps);
  g_ptr_array_add (argv, ca);
  g_ptr_array_add (argv, cert);
  g_ptr_array_add (argv, key);
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "ETCDCTL_API", "3", TRUE);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("etcdctl failed: %s", err);
}

static void
test_watch_compacted (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  gint64 old = put (etcd, "/cg/c/x", "1");
  put (etcd, "/cg/c/x", "2");
  gint64 compact = put (etcd, "/cg/c/x", "3");
  g_autofree char *rev = g_strdup_printf ("%" G_GINT64_FORMAT, compact);
  etcdctl ((const char *const[]) { "compact", rev, NULL });

  Events ev = { g_string_new (NULL), 0, 100, 0 };
  g_autoptr (GBytes) prefix = b ("/cg/c/");
  gint64 next = -1, compact_rev = 0;
  g_assert_false (cg_etcd_watch (etcd, prefix, TRUE, old, 5000, collect_cb, &ev, NULL, &next,
                                 &compact_rev, &error));
  g_assert_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_COMPACTED);
  g_assert_cmpint (compact_rev, ==, compact);
  g_assert_cmpint (next, ==, old);
  g_assert_cmpstr (ev.log->str, ==, "");
  g_clear_error (&error);

  /* A range at a compacted revision says so too. */
  g_autoptr (GPtrArray) kvs = NULL;
  g_assert_false (cg_etcd_range (etcd, prefix, CG_ETCD_RANGE_PREFIX, old, 0, &kvs, NULL, NULL, &error));
  g_assert_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_COMPACTED);
  g_clear_error (&error);

  /* From the compact revision on, the watch works. */
  ev.stop_after = 1;
  g_assert_true (cg_etcd_watch (etcd, prefix, TRUE, compact, 5000, collect_cb, &ev, NULL, &next,
                                NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (ev.log->str, ==, "put /cg/c/x=3;");
  g_string_free (ev.log, TRUE);
}

static void
test_foreign_cert (void)
{
  g_autoptr (CgEtcd) foreign = client_for (env ("ETCD_ENDPOINTS"), env ("ETCD_FOREIGN_CERT"),
                                           env ("ETCD_FOREIGN_KEY"));
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) k = b ("/cg/foreign"), v = b ("must not land");

  g_assert_false (cg_etcd_put (foreign, k, v, 0, NULL, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == CG_ETCD_ERROR);
  g_assert_true (error->code == CG_ETCD_ERROR_TLS || error->code == CG_ETCD_ERROR_UNREACHABLE);
  g_test_message ("foreign certificate: %s", error->message);
  g_clear_error (&error);

  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GBytes) none = get (etcd, "/cg/foreign", NULL);
  g_assert_null (none);
}

static void
test_bad_arguments (void)
{
  g_autoptr (GError) error = NULL;
  const char *none[] = { NULL };
  const char *http[] = { "http://127.0.0.1:2379", NULL };
  const char *path[] = { "https://127.0.0.1:2379/v3", NULL };
  g_assert_null (cg_etcd_new (none, "ca", "c", "k", 1000, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (cg_etcd_new (http, "ca", "c", "k", 1000, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (cg_etcd_new (path, "ca", "c", "k", 1000, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

/* Pages of a prefix at one revision: every key once, in order, and a
 * write between the pages does not show. */
static void
test_range_pages (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  for (int i = 0; i < 25; i++)
    {
      g_autofree char *k = g_strdup_printf ("/cg/pages/k%02d", i);
      put (etcd, k, "v");
    }
  put (etcd, "/cg/pages0", "outside");
  g_autoptr (GBytes) prefix = b ("/cg/pages/");
  g_autoptr (GBytes) from = NULL;
  gint64 revision = 0;
  gboolean more = TRUE;
  int seen = 0, pages = 0;
  while (more)
    {
      g_autoptr (GPtrArray) kvs = NULL;
      gint64 rev = 0;
      g_assert_true (cg_etcd_range_from (etcd, prefix, from, CG_ETCD_RANGE_NONE, revision, 10,
                                         &kvs, &rev, &more, &error));
      g_assert_no_error (error);
      if (revision == 0)
        {
          revision = rev;
          put (etcd, "/cg/pages/k00a", "after the snapshot");
        }
      for (guint i = 0; i < kvs->len; i++, seen++)
        {
          g_autofree char *want = g_strdup_printf ("/cg/pages/k%02d", seen);
          assert_bytes (((CgEtcdKv *) kvs->pdata[i])->key, want, strlen (want));
        }
      pages++;
      if (more)
        {
          g_clear_pointer (&from, g_bytes_unref);
          from = cg_etcd_key_after (((CgEtcdKv *) kvs->pdata[kvs->len - 1])->key);
        }
    }
  g_assert_cmpint (seen, ==, 25);
  g_assert_cmpint (pages, ==, 3);
}

/* A txn comparing a whole prefix: it holds while no key under the prefix
 * changed at or after the revision, and fails once one did. */
static void
test_txn_prefix_compare (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) prefix = b ("/cg/pc/"), k = b ("/cg/pc/new"), v = b ("x");
  g_autoptr (CgEtcdTxn) empty = cg_etcd_txn_new ();
  cg_etcd_txn_compare_prefix_mod_below (empty, prefix, 1);
  cg_etcd_txn_put (empty, k, v, 0);
  g_assert_cmpuint (cg_etcd_txn_get_n_compares (empty), ==, 1);
  g_assert_cmpuint (cg_etcd_txn_get_n_ops (empty), ==, 1);
  gint64 rev = 0;
  g_assert_true (cg_etcd_txn (etcd, empty, &rev, &error)); /* an empty range holds */
  g_assert_no_error (error);

  g_autoptr (CgEtcdTxn) holds = cg_etcd_txn_new ();
  cg_etcd_txn_compare_prefix_mod_below (holds, prefix, rev + 1);
  cg_etcd_txn_put (holds, k, v, 0);
  gint64 rev2 = 0;
  g_assert_true (cg_etcd_txn (etcd, holds, &rev2, &error));
  g_assert_no_error (error);

  g_autoptr (CgEtcdTxn) stale = cg_etcd_txn_new ();
  cg_etcd_txn_compare_prefix_mod_below (stale, prefix, rev + 1);
  cg_etcd_txn_put (stale, k, v, 0);
  g_assert_false (cg_etcd_txn (etcd, stale, NULL, &error));
  g_assert_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_CONFLICT);
}

typedef struct
{
  GArray *revs;    /* the revision of each event */
  GArray *batches; /* each batch's last revision */
} Batches;

static gboolean
batch_event_cb (CgEtcdEventType type, const CgEtcdKv *kv, gpointer data)
{
  (void) type;
  g_array_append_val (((Batches *) data)->revs, kv->mod_revision);
  return TRUE;
}

static gboolean
batch_done_cb (gint64 revision, gpointer data)
{
  Batches *bt = data;
  g_array_append_val (bt->batches, revision);
  return bt->revs->len < 4;
}

/* The batch callback follows each message, with its last event's
 * revision: a txn's two puts come in one batch. */
static void
test_watch_batches (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) prefix = b ("/cg/wb/"), k1 = b ("/cg/wb/a"), k2 = b ("/cg/wb/b"),
                     v = b ("x");
  gint64 first = put (etcd, "/cg/wb/a", "1");
  g_autoptr (CgEtcdTxn) txn = cg_etcd_txn_new ();
  cg_etcd_txn_put (txn, k1, v, 0);
  cg_etcd_txn_put (txn, k2, v, 0);
  gint64 both = 0;
  g_assert_true (cg_etcd_txn (etcd, txn, &both, &error));
  put (etcd, "/cg/wb/b", "3");
  Batches bt = { g_array_new (FALSE, FALSE, sizeof (gint64)),
                 g_array_new (FALSE, FALSE, sizeof (gint64)) };
  gint64 next = 0;
  g_assert_true (cg_etcd_watch_batched (etcd, prefix, TRUE, first, 5000, batch_event_cb,
                                        batch_done_cb, &bt, NULL, &next, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (bt.revs->len, ==, 4);
  g_assert_cmpint (g_array_index (bt.revs, gint64, 1), ==, both);
  g_assert_cmpint (g_array_index (bt.revs, gint64, 2), ==, both);
  g_assert_cmpuint (bt.batches->len, >=, 1);
  /* No batch ends inside the txn's revision. */
  for (guint i = 0; i < bt.batches->len; i++)
    g_assert_cmpint (g_array_index (bt.batches, gint64, i), !=, first == both ? 0 : both - 1);
  g_assert_cmpint (g_array_index (bt.batches, gint64, bt.batches->len - 1), ==, both + 1);
  g_array_unref (bt.revs);
  g_array_unref (bt.batches);
}

static gboolean
never_cb (CgEtcdEventType type, const CgEtcdKv *kv, gpointer data)
{
  (void) type, (void) kv, (void) data;
  return TRUE;
}

static gpointer
cancel_later (gpointer data)
{
  g_usleep (300 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

/* A watch waiting for events ends as soon as it is cancelled (a store
 * being freed), not at the next tick of curl's progress callback. */
static void
test_watch_cancel (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) prefix = b ("/cg/quiet/");
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  GThread *t = g_thread_new ("cancel", cancel_later, cancellable);
  gint64 start = g_get_monotonic_time ();
  g_assert_false (cg_etcd_watch (etcd, prefix, TRUE, 0, 10000, never_cb, NULL, cancellable, NULL,
                                 NULL, &error));
  gint64 ms = (g_get_monotonic_time () - start) / 1000;
  g_thread_join (t);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_test_message ("cancelled after %" G_GINT64_FORMAT " ms", ms);
  g_assert_cmpint (ms, <, 700);

  /* The client works on after it. */
  put (etcd, "/cg/quiet/after", "ok");
}

/* The members, and each one's status asked of it alone. */
static void
test_members (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  json_auto_t *members = NULL;
  g_assert_true (cg_etcd_member_list (etcd, &members, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_size (members), ==, 3);
  const char *leader = NULL;
  for (int n = 1; n <= 3; n++)
    {
      g_autofree char *var = g_strdup_printf ("ETCD_ENDPOINT_%d", n);
      json_auto_t *status = NULL;
      g_assert_true (cg_etcd_member_status (etcd, env (var), &status, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (json_string_value (json_object_get (status, "endpoint")), ==, env (var));
      g_assert_cmpint (json_integer_value (json_object_get (status, "revision")), >, 0);
      g_assert_cmpstr (json_string_value (json_object_get (status, "leader")), !=, "0");
      if (leader == NULL)
        leader = g_intern_string (json_string_value (json_object_get (status, "leader")));
      g_assert_cmpstr (json_string_value (json_object_get (status, "leader")), ==, leader);
      /* Its id is one of the members'. */
      gboolean listed = FALSE;
      for (guint i = 0; i < json_array_size (members); i++)
        listed |= g_strcmp0 (json_string_value (json_object_get (json_array_get (members, i), "id")),
                             json_string_value (json_object_get (status, "id")))
                  == 0;
      g_assert_true (listed);
    }
  json_auto_t *none = NULL;
  g_assert_false (cg_etcd_member_status (etcd, "https://127.0.0.1:1", &none, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

/* ---- phase "first-down": member 1 stopped ---- */

static void
test_failover (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  put (etcd, "/cg/failover", "through another member");
  g_assert_cmpint (g_get_monotonic_time () - start, <, TIMEOUT_MS * 1000);
  g_assert_cmpstr (cg_etcd_get_current_endpoint (etcd), !=, env ("ETCD_ENDPOINT_1"));
  g_autoptr (GBytes) v = get (etcd, "/cg/failover", NULL);
  assert_bytes (v, "through another member", strlen ("through another member"));

  /* Only the stopped member: unreachable, quickly. */
  g_autoptr (CgEtcd) only = client_for (env ("ETCD_ENDPOINT_1"), env ("ETCD_CERT"), env ("ETCD_KEY"));
  g_autoptr (GBytes) k = b ("/cg/failover");
  g_autoptr (GPtrArray) kvs = NULL;
  g_assert_false (cg_etcd_range (only, k, CG_ETCD_RANGE_NONE, 0, 0, &kvs, NULL, NULL, &error));
  g_assert_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_UNREACHABLE);
}

/* ---- phase "quorum-lost": members 1 and 2 stopped ---- */

static void
test_quorum_lost (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) k = b ("/cg/persist"), v = b ("not written");

  /* A write fails within 5 s, it does not hang. */
  gint64 start = g_get_monotonic_time ();
  g_assert_false (cg_etcd_put (etcd, k, v, 0, NULL, &error));
  g_assert_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_UNAVAILABLE);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_clear_error (&error);

  /* So does a txn and a linearizable read. */
  g_autoptr (CgEtcdTxn) txn = cg_etcd_txn_new ();
  cg_etcd_txn_compare_mod_revision (txn, k, 1);
  cg_etcd_txn_put (txn, k, v, 0);
  start = g_get_monotonic_time ();
  g_assert_false (cg_etcd_txn (etcd, txn, NULL, &error));
  g_assert_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_UNAVAILABLE);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_clear_error (&error);

  g_autoptr (GPtrArray) kvs = NULL;
  start = g_get_monotonic_time ();
  g_assert_false (cg_etcd_range (etcd, k, CG_ETCD_RANGE_NONE, 0, 0, &kvs, NULL, NULL, &error));
  g_assert_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_UNAVAILABLE);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_clear_error (&error);

  /* A serializable read is answered by the member left, from its own
   * (possibly stale) copy. */
  g_autoptr (GPtrArray) local = NULL;
  g_assert_true (cg_etcd_range (etcd, k, CG_ETCD_RANGE_SERIALIZABLE, 0, 0, &local, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (local->len, ==, 1);
  assert_bytes (((CgEtcdKv *) local->pdata[0])->value, "kept", 4);

  /* The member left answers for its status, with no leader; the member
   * list needs one. */
  json_auto_t *status = NULL;
  g_assert_true (cg_etcd_member_status (etcd, env ("ETCD_ENDPOINT_3"), &status, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (status, "leader")), ==, "0");
  json_auto_t *down = NULL;
  start = g_get_monotonic_time ();
  g_assert_false (cg_etcd_member_status (etcd, env ("ETCD_ENDPOINT_1"), &down, &error));
  g_assert_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_UNREACHABLE);
  g_clear_error (&error);
  json_auto_t *members = NULL;
  g_assert_false (cg_etcd_member_list (etcd, &members, &error));
  /* (the last endpoint tried decides which: no leader, or not running) */
  g_assert_true (g_error_matches (error, CG_ETCD_ERROR, CG_ETCD_ERROR_UNAVAILABLE)
                 || g_error_matches (error, CG_ETCD_ERROR, CG_ETCD_ERROR_UNREACHABLE));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
}

/* ---- phase "recovered": all members back ---- */

static void
test_recovered (void)
{
  g_autoptr (CgEtcd) etcd = client ();
  put (etcd, "/cg/recovered", "yes");
  g_autoptr (GBytes) v = get (etcd, "/cg/recovered", NULL);
  assert_bytes (v, "yes", 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *phase = env ("CG_ETCD_PHASE");

  if (g_str_equal (phase, "up"))
    {
      g_test_add_func ("/etcd/arguments", test_bad_arguments);
      g_test_add_func ("/etcd/kv/roundtrip-binary", test_roundtrip_binary);
      g_test_add_func ("/etcd/kv/prefix", test_prefix);
      g_test_add_func ("/etcd/txn/conflict", test_txn_conflict);
      g_test_add_func ("/etcd/lease/revoke", test_lease_revoke);
      g_test_add_func ("/etcd/lease/expiry", test_lease_expiry);
      g_test_add_func ("/etcd/watch/order", test_watch_order);
      g_test_add_func ("/etcd/watch/compacted", test_watch_compacted);
      g_test_add_func ("/etcd/tls/foreign-cert", test_foreign_cert);
      g_test_add_func ("/etcd/kv/range-pages", test_range_pages);
      g_test_add_func ("/etcd/txn/prefix-compare", test_txn_prefix_compare);
      g_test_add_func ("/etcd/watch/batches", test_watch_batches);
      g_test_add_func ("/etcd/watch/cancel", test_watch_cancel);
      g_test_add_func ("/etcd/cluster/members", test_members);
    }
  else if (g_str_equal (phase, "first-down"))
    g_test_add_func ("/etcd/failover/first-down", test_failover);
  else if (g_str_equal (phase, "quorum-lost"))
    g_test_add_func ("/etcd/quorum/lost", test_quorum_lost);
  else if (g_str_equal (phase, "recovered"))
    g_test_add_func ("/etcd/quorum/recovered", test_recovered);
  else
    g_error ("unknown CG_ETCD_PHASE");
  return g_test_run ();
}
