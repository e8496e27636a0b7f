/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The running member: the etcd store under the vault, the worker thread
 * (heartbeats, admissions, wraps), the store's callbacks, /v1/info. */
#include "config.h"

#include "agent/cg-cluster-private.h"
#include "agent/cg-cluster-entry.h"
#include "agent/cg-cluster-join.h"
#include "agent/cg-cluster-keys.h"
#include "agent/cg-keystore.h"
#include "agent/cg-record-seal.h"
#include "agent/cg-tls.h"
#include "certs/cg-cert.h"
#include "common/cg-error.h"
#include "common/cg-json.h"
#include "common/cg-time.h"
#include "protocol/cg-names.h"

#include <stdarg.h>
#include <string.h>

#define HEARTBEAT_S 3
#define LEASE_TTL_S 10
/* In contact with etcd within this long: the replica is not called stale. */
#define FRESH_S 10

/* ---- small helpers ------------------------------------------------------ */

GBytes *
cg_cluster_key_in (const char *prefix, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *rest = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  char *key = g_strconcat (prefix, rest, NULL);
  return g_bytes_new_take (key, strlen (key));
}

GBytes *
cg_cluster_key (CgCluster *c, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *rest = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  char *key = g_strconcat (c->prefix, rest, NULL);
  return g_bytes_new_take (key, strlen (key));
}

char *
cg_cluster_kv_name (const char *prefix, const char *area, const CgEtcdKv *kv)
{
  gsize len = 0;
  const char *key = g_bytes_get_data (kv->key, &len);
  gsize plen = strlen (prefix), alen = strlen (area);
  if (len <= plen + alen || memcmp (key, prefix, plen) != 0
      || memcmp (key + plen, area, alen) != 0)
    return NULL;
  char *name = g_strndup (key + plen + alen, len - plen - alen);
  if (strlen (name) != len - plen - alen) /* a NUL inside */
    g_clear_pointer (&name, g_free);
  return name;
}

json_t *
cg_cluster_kv_json (const CgEtcdKv *kv)
{
  if (!kv->value)
    return NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data (kv->value, &len);
  json_t *v = cg_json_load_strict (data, len, NULL);
  if (v && !json_is_object (v))
    g_clear_pointer (&v, json_decref);
  return v;
}

void
cg_cluster_entries_by_name (const char *prefix, const char *area, GPtrArray *kvs, json_t *out,
                            GHashTable *revs)
{
  for (guint i = 0; i < kvs->len; i++)
    {
      CgEtcdKv *kv = kvs->pdata[i];
      g_autofree char *name = cg_cluster_kv_name (prefix, area, kv);
      json_t *entry = name ? cg_cluster_kv_json (kv) : NULL;
      if (!entry)
        continue;
      json_object_set_new (out, name, entry);
      if (revs)
        g_hash_table_insert (revs, g_strdup (name), g_memdup2 (&kv->mod_revision, sizeof (gint64)));
    }
}

GBytes *
cg_cluster_json_bytes (json_t *value)
{
  char *text = cg_json_dump (value);
  return g_bytes_new_take (text, strlen (text));
}

void
cg_cluster_etcd_error (GError **error, GError *etcd_error, const char *what)
{
  if (g_error_matches (etcd_error, CG_ETCD_ERROR, CG_ETCD_ERROR_CONFLICT))
    g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT, "%s: it changed in etcd meanwhile", what);
  else if (etcd_error->domain == CG_ERROR)
    g_set_error (error, CG_ERROR, etcd_error->code, "%s: %s", what, etcd_error->message);
  else
    g_set_error (error, CG_ERROR, CG_ERROR_CLUSTER_UNAVAILABLE, "%s: %s", what,
                 etcd_error->message);
}

void
cg_cluster_vault_set_store_locked (CgVault *v, CgVaultStore *store)
{
  CgVaultStore *old = v->store;
  v->store = store;
  cg_vault_forget_keys_locked (v);
  if (old)
    old->ops->free (old);
}

/* ---- wraps addressed to this node --------------------------------------- */

gboolean
cg_cluster_install_wraps (CgVault *v, CgEtcd *etcd, const char *prefix, const char *cluster_id,
                          const char *self, CgSealKey *node_key, gboolean replace,
                          GError **error)
{
  g_autoptr (GBytes) key = cg_cluster_key_in (prefix, "wrap/%s/", self);
  g_autoptr (GPtrArray) kvs = NULL;
  GError *local = NULL;
  if (!cg_etcd_range (etcd, key, CG_ETCD_RANGE_PREFIX, 0, 0, &kvs, NULL, NULL, &local))
    {
      cg_cluster_etcd_error (error, local, "cannot read this node's wrapped keys");
      g_error_free (local);
      return FALSE;
    }
  g_autofree char *area = g_strdup_printf ("wrap/%s/", self);
  guint installed = 0;
  for (guint i = 0; i < kvs->len; i++)
    {
      CgEtcdKv *kv = kvs->pdata[i];
      g_autofree char *id = cg_cluster_kv_name (prefix, area, kv);
      if (!id || !cg_cluster_secret_id_valid (id) || !kv->value)
        continue;
      g_autofree char *jwe = g_strndup (g_bytes_get_data (kv->value, NULL),
                                        g_bytes_get_size (kv->value));
      g_autoptr (CgBuf) secret = cg_cluster_unwrap (node_key, id, jwe, NULL);
      if (!secret)
        {
          g_set_error (error, CG_ERROR, CG_ERROR_DECRYPT,
                       "the cluster secret %s wrapped to this node does not open with its "
                       "node key",
                       id);
          return FALSE;
        }
      g_autoptr (GError) missing = NULL;
      g_autoptr (CgBuf) have = cg_cluster_secret_read (v, id, &missing);
      if (!have && !g_error_matches (missing, CG_ERROR, CG_ERROR_KEYS_MISSING))
        {
          g_propagate_error (error, g_steal_pointer (&missing));
          return FALSE;
        }
      if (have && have->len == secret->len && cg_equal_ct (have->data, secret->data, have->len))
        continue;
      if (have && !replace && !cg_cluster_secret_replaces (v, id, have, secret))
        {
          /* Whoever can write to etcd can wrap a key of their choosing to
           * this node's public key: a running member installs only what it
           * lacks, never over a key it holds. */
          g_warning ("cluster: a wrap of %s for this node differs from the key it holds; "
                     "ignored (who writes to etcd under %s?)",
                     id, prefix);
          continue;
        }
      g_autoptr (GError) unvouched = NULL;
      if (!replace && !cg_cluster_secret_vouched (v, etcd, prefix, cluster_id, id, secret,
                                                  &unvouched))
        {
          /* A joining node (@replace) has no master key to check with yet:
           * it takes what the member that admitted it wrapped. */
          if (!g_error_matches (unvouched, CG_ERROR, CG_ERROR_DECRYPT))
            {
              g_propagate_error (error, g_steal_pointer (&unvouched));
              return FALSE;
            }
          g_warning ("cluster: %s", unvouched->message);
          continue;
        }
      if (!cg_cluster_secret_install (v, id, secret, error))
        return FALSE;
      installed++;
    }
  if (installed)
    g_message ("cluster: installed %u cluster secret(s) wrapped to this node", installed);
  return TRUE;
}

/* ---- the store's callbacks (applier thread: only hand over) ------------- */

void
cg_cluster_other_cb (CgEtcdEventType type, const CgEtcdKv *kv, gpointer data)
{
  CgCluster *c = data;
  g_autofree char *mine = g_strdup_printf ("wrap/%s/", c->cfg->name);
  g_autofree char *wrap = cg_cluster_kv_name (c->prefix, mine, kv);
  g_autofree char *pending = cg_cluster_kv_name (c->prefix, "pending/", kv);
  g_autofree char *node = cg_cluster_kv_name (c->prefix, "node/", kv);
  if (!wrap && !(pending && type == CG_ETCD_EVENT_PUT) && !node)
    return; /* heartbeats, joins, other nodes' wraps: read by the worker */
  g_mutex_lock (&c->lock);
  if (wrap && type == CG_ETCD_EVENT_PUT)
    c->sync_wraps = TRUE;
  if (wrap && type == CG_ETCD_EVENT_DELETE && g_str_has_prefix (wrap, "master/"))
    g_hash_table_add (c->retired_masters, g_strdup (wrap + strlen ("master/")));
  c->wake = TRUE;
  g_cond_signal (&c->cond);
  g_mutex_unlock (&c->lock);
}

void
cg_cluster_changed_cb (guint areas, gint64 revision, gpointer data)
{
  CgCluster *c = data;
  if (!(areas & (CG_STORE_CHANGED_KEYS | CG_STORE_CHANGED_META)))
    return;
  /* A key made or retired on another node: its wrap (same revision) is
   * installed first, then the vault loads its keys again. */
  g_mutex_lock (&c->lock);
  c->sync_wraps = TRUE;
  c->reload_keys = TRUE;
  c->wake = TRUE;
  g_cond_signal (&c->cond);
  g_mutex_unlock (&c->lock);
}

/* A wrap of a new key goes only to the nodes whose entry verifies under
 * the current master key; when the new key is the master key becoming
 * current, those entries are MAC'd again under it in the same txn. */
gboolean
cg_cluster_key_wraps_cb (const char *secret_id, CgEtcdTxn *txn, gpointer data, GError **error)
{
  CgCluster *c = data;
  g_autoptr (CgBuf) secret = cg_cluster_secret_read (c->vault, secret_id, error);
  if (!secret)
    return FALSE;
  g_autoptr (GBytes) key = cg_cluster_key (c, "node/");
  g_autoptr (GPtrArray) kvs = NULL;
  g_autofree char *mkid = NULL;
  gint64 read_rev = 0, mrev = 0;
  GError *local = NULL;
  g_mutex_lock (&c->etcd_lock);
  gboolean ok = cg_etcd_range (c->etcd, key, CG_ETCD_RANGE_PREFIX, 0, 0, &kvs, &read_rev, NULL,
                               &local);
  g_mutex_unlock (&c->etcd_lock);
  if (!ok)
    {
      cg_cluster_etcd_error (error, local, "cannot read the cluster's nodes");
      g_error_free (local);
      return FALSE;
    }
  g_mutex_lock (&c->etcd_lock);
  ok = cg_cluster_master_current (c->etcd, c->prefix, &mkid, &mrev, error);
  g_mutex_unlock (&c->etcd_lock);
  if (!ok)
    return FALSE;
  g_autoptr (CgBuf) mac_key = cg_cluster_mac_key (c, mkid);
  if (!mac_key)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                   "this node does not hold the current master key %s yet, so it cannot tell "
                   "which nodes are members; try again in a few seconds",
                   mkid);
      return FALSE;
    }
  /* Vouched for under the current master key, which every member holds:
   * so they install it (a key merely wrapped to them they would not). */
  cg_cluster_txn_put_voucher (txn, c->prefix, c->cfg->id, mkid, mac_key, secret_id, secret);
  g_autoptr (GHashTable) verified = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *new_id = g_str_has_prefix (secret_id, "master/") ? secret_id + strlen ("master/")
                                                                : NULL;
  gboolean remac = new_id && !g_str_equal (new_id, mkid);
  if (remac)
    {
      if (!cg_cluster_remac_entries (c, txn, kvs, read_rev, mac_key, new_id, secret, verified,
                                     error))
        return FALSE;
    }
  for (guint i = 0; i < kvs->len; i++)
    {
      CgEtcdKv *kv = kvs->pdata[i];
      g_autofree char *name = cg_cluster_kv_name (c->prefix, "node/", kv);
      json_auto_t *entry = name ? cg_cluster_kv_json (kv) : NULL;
      if (name && entry && !remac && cg_cluster_node_verified (c, mac_key, name, entry))
        g_hash_table_add (verified, g_strdup (name));
      g_autoptr (CgSealKey) pub = entry ? cg_cluster_node_pub (entry, NULL) : NULL;
      if (!pub || !g_hash_table_contains (verified, name))
        {
          g_warning ("cluster: the node entry %s does not verify under master key %s (not "
                     "written by a member); it gets no wrap of %s",
                     name ? name : "?", mkid, secret_id);
          continue;
        }
      if (!cg_cluster_txn_put_wrap (txn, c->prefix, name, pub, secret_id, secret, error))
        return FALSE;
    }
  return TRUE;
}

/* The store lost a record write to another node's new master key: this
 * node's keyring gets that key now from its wrap (the worker may not have
 * installed it yet).  Called with the vault's lock held: the keyring only. */
static gboolean
master_needed_cb (const char *secret_id, CgEtcd *etcd, gpointer data, GError **error)
{
  CgCluster *c = data;
  g_autoptr (GError) missing = NULL;
  g_autoptr (CgBuf) have = cg_cluster_secret_read (c->vault, secret_id, &missing);
  if (have)
    return TRUE;
  if (!g_error_matches (missing, CG_ERROR, CG_ERROR_KEYS_MISSING))
    {
      g_propagate_error (error, g_steal_pointer (&missing));
      return FALSE;
    }
  CgSealKey *node_key = g_atomic_pointer_get (&c->node_key);
  if (!node_key)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING, "this node's node key is not loaded");
      return FALSE;
    }
  g_autoptr (GBytes) key = cg_cluster_key (c, "wrap/%s/%s", c->cfg->name, secret_id);
  g_autoptr (GPtrArray) kvs = NULL;
  GError *local = NULL;
  gboolean ok;
  if (etcd)
    ok = cg_etcd_range (etcd, key, CG_ETCD_RANGE_NONE, 0, 0, &kvs, NULL, NULL, &local);
  else
    {
      g_mutex_lock (&c->etcd_lock);
      ok = cg_etcd_range (c->etcd, key, CG_ETCD_RANGE_NONE, 0, 0, &kvs, NULL, NULL, &local);
      g_mutex_unlock (&c->etcd_lock);
    }
  if (!ok)
    {
      cg_cluster_etcd_error (error, local, "cannot read this node's wrapped keys");
      g_error_free (local);
      return FALSE;
    }
  CgEtcdKv *kv = kvs->len == 1 ? kvs->pdata[0] : NULL;
  if (!kv || !kv->value)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                   "no wrap of cluster secret %s for this node", secret_id);
      return FALSE;
    }
  g_autofree char *jwe = g_strndup (g_bytes_get_data (kv->value, NULL),
                                    g_bytes_get_size (kv->value));
  g_autoptr (CgBuf) secret = cg_cluster_unwrap (node_key, secret_id, jwe, error);
  return secret
         && cg_cluster_secret_vouched (c->vault, etcd ? etcd : c->etcd, c->prefix, c->cfg->id,
                                       secret_id, secret, error)
         && cg_cluster_secret_install (c->vault, secret_id, secret, error);
}

/* ---- the worker ---------------------------------------------------------- */

typedef struct
{
  CgEtcd *etcd;        /* the worker's own */
  gint64 lease;
  gint64 next_beat;    /* monotonic µs */
  gboolean beat_ok;    /* for logging changes only */
  gboolean wraps_done; /* every wrap to this node installed */
  gboolean removed;    /* its node entry is gone: said once */
  /* What the last refresh read. */
  GHashTable *node_revs;  /* name → mod_revision (gint64 boxed) */
  GHashTable *wrap_keys;  /* "wrap/<node>/<id>" present in etcd */
  GPtrArray *my_ids;      /* secret ids wrapped to this node */
  GPtrArray *pending;     /* CgEtcdKv of P/pending/ */
  char *mkid;             /* the current master key id as etcd names it */
  gint64 mrev;            /* P/meta/master_current's mod_revision */
  CgBuf *mac_key;         /* the entry MAC key under it; NULL: not held here */
  GHashTable *warned;     /* name → the entry revision (gint64 boxed) warned about */
  char *warned_mkid;      /* the master key id this node said it lacks */
} Worker;

static char *
current_pin (void)
{
  g_autoptr (CgCertPair) pair = cg_tls_get_pair ();
  return pair ? g_strdup (cg_cert_pair_get_spki_pin (pair)) : NULL;
}

static void
beat (CgCluster *c, Worker *w)
{
  g_autoptr (GError) error = NULL;
  if (w->lease && !cg_etcd_lease_keepalive_once (w->etcd, w->lease, NULL, &error))
    {
      if (g_error_matches (error, CG_ETCD_ERROR, CG_ETCD_ERROR_REFUSED))
        {
          /* Expired while etcd was out of reach: a new one, a new entry. */
          w->lease = 0;
          g_clear_error (&error);
        }
    }
  if (!error && !w->lease && !cg_etcd_lease_grant (w->etcd, LEASE_TTL_S, &w->lease, NULL, &error))
    w->lease = 0;
  if (!error)
    {
      CgVaultStoreEtcdState st = { 0 };
      cg_vault_store_etcd_get_state (c->store, &st);
      g_autofree char *pin = current_pin ();
      g_autofree char *now = cg_time_now_rfc3339 ();
      g_autofree char *behind = st.behind_since ? cg_time_rfc3339 (st.behind_since) : NULL;
      json_auto_t *alive = json_pack ("{s:s?, s:s?, s:I, s:I, s:s?, s:s}", "address",
                                      c->cfg->address, "pin", pin, "applied",
                                      (json_int_t) st.applied_revision, "etcdRevision",
                                      (json_int_t) st.etcd_revision, "behindSince", behind,
                                      "time", now);
      /* MAC'd so that a reader trusts the pin in it (clients learn it
       * through /v1/info); without the key yet it goes without. */
      if (w->mac_key)
        cg_cluster_entry_seal (CG_CLUSTER_ENTRY_ALIVE, w->mac_key, c->cfg->id, c->cfg->name,
                               alive, NULL);
      g_autoptr (GBytes) key = cg_cluster_key (c, "alive/%s", c->cfg->name);
      g_autoptr (GBytes) value = cg_cluster_json_bytes (alive);
      gint64 rev = 0;
      /* The beat is a revision under P too: one the watch must bring, so a
       * watch that brings nothing shows as behind. */
      if (cg_etcd_put (w->etcd, key, value, w->lease, &rev, &error))
        cg_vault_store_etcd_note_revision (c->store, rev);
    }
  if (error && w->beat_ok)
    g_warning ("cluster: heartbeat failed: %s; this node shows as gone once its lease "
               "(%d s) runs out",
               error->message, LEASE_TTL_S);
  else if (!error && !w->beat_ok)
    g_message ("cluster: heartbeats to etcd as node %s", c->cfg->name);
  w->beat_ok = !error;
  if (!error)
    g_atomic_int_set (&c->last_beat, (gint) (g_get_real_time () / G_USEC_PER_SEC - c->epoch));
}

/* Which entries verify under the current master key (w->mac_key): the
 * others are only warned about, once per entry revision, never deleted
 * (while a key rotate --all makes a new master current, a node may not
 * hold it yet). */
static void
verify_entries (CgCluster *c, Worker *w, json_t *nodes, json_t *alive, GHashTable *verified,
                GHashTable *alive_verified)
{
  if (!w->mac_key)
    {
      if (!w->warned_mkid || !g_str_equal (w->warned_mkid, w->mkid))
        g_message ("cluster: this node does not hold the current master key %s yet: it trusts "
                   "no node entry and hands no cluster secret on until it does",
                   w->mkid);
      g_free (w->warned_mkid);
      w->warned_mkid = g_strdup (w->mkid);
      return;
    }
  const char *name;
  json_t *entry;
  json_object_foreach (nodes, name, entry)
    {
      if (cg_cluster_node_verified (c, w->mac_key, name, entry))
        {
          g_hash_table_add (verified, g_strdup (name));
          g_hash_table_remove (w->warned, name);
          continue;
        }
      gint64 *rev = g_hash_table_lookup (w->node_revs, name);
      gint64 *said = g_hash_table_lookup (w->warned, name);
      if (rev && (!said || *said != *rev))
        {
          g_warning ("cluster: the entry of node %s in etcd (revision %" G_GINT64_FORMAT ") "
                     "does not verify under the current master key %s: no member wrote it as "
                     "it is (someone with an etcd client certificate?); it gets no cluster "
                     "secret and clients do not learn its pin",
                     name, *rev, w->mkid);
          g_hash_table_insert (w->warned, g_strdup (name), g_memdup2 (rev, sizeof *rev));
        }
    }
  json_object_foreach (alive, name, entry)
    if (cg_cluster_entry_verify (CG_CLUSTER_ENTRY_ALIVE, w->mac_key, c->cfg->id, name, entry))
      g_hash_table_add (alive_verified, g_strdup (name));
}

/* Reads node/, alive/, pending/ and the names under wrap/ into the worker
 * and the caches /v1/info and status read. */
static gboolean
refresh (CgCluster *c, Worker *w, GError **error)
{
  static const char *const areas[] = { "node/", "alive/", "pending/", "wrap/" };
  GPtrArray *got[G_N_ELEMENTS (areas)] = { NULL };
  gboolean ok = TRUE;
  for (gsize i = 0; ok && i < G_N_ELEMENTS (areas); i++)
    {
      g_autoptr (GBytes) key = cg_cluster_key (c, "%s", areas[i]);
      CgEtcdRangeFlags flags = CG_ETCD_RANGE_PREFIX;
      if (g_str_equal (areas[i], "wrap/"))
        flags |= CG_ETCD_RANGE_KEYS_ONLY;
      ok = cg_etcd_range (w->etcd, key, flags, 0, 0, &got[i], NULL, NULL, error);
    }
  g_autofree char *mkid = NULL;
  gint64 mrev = 0;
  if (ok)
    ok = cg_cluster_master_current (w->etcd, c->prefix, &mkid, &mrev, error);
  if (!ok)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (areas); i++)
        if (got[i])
          g_ptr_array_unref (got[i]);
      return FALSE;
    }
  if (!w->mkid || !g_str_equal (w->mkid, mkid))
    {
      g_clear_pointer (&w->mac_key, cg_buf_free);
      g_free (w->mkid);
      w->mkid = g_strdup (mkid);
    }
  w->mrev = mrev;
  /* Picked up as soon as this node holds it (installed from its wrap). */
  if (!w->mac_key)
    w->mac_key = cg_cluster_mac_key (c, w->mkid);

  json_t *nodes = json_object (), *alive = json_object ();
  g_hash_table_remove_all (w->node_revs);
  cg_cluster_entries_by_name (c->prefix, "node/", got[0], nodes, w->node_revs);
  cg_cluster_entries_by_name (c->prefix, "alive/", got[1], alive, NULL);
  g_clear_pointer (&w->pending, g_ptr_array_unref);
  w->pending = g_steal_pointer (&got[2]);
  g_hash_table_remove_all (w->wrap_keys);
  g_ptr_array_set_size (w->my_ids, 0);
  g_autofree char *mine = g_strdup_printf ("wrap/%s/", c->cfg->name);
  for (guint i = 0; i < got[3]->len; i++)
    {
      CgEtcdKv *kv = got[3]->pdata[i];
      g_autofree char *rest = cg_cluster_kv_name (c->prefix, "", kv);
      if (!rest)
        continue;
      if (g_str_has_prefix (rest, mine))
        g_ptr_array_add (w->my_ids, g_strdup (rest + strlen (mine)));
      g_hash_table_add (w->wrap_keys, g_steal_pointer (&rest));
    }
  g_ptr_array_unref (got[0]);
  g_ptr_array_unref (got[1]);
  g_ptr_array_unref (got[3]);

  GHashTable *verified = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTable *alive_verified = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  verify_entries (c, w, nodes, alive, verified, alive_verified);
  g_mutex_lock (&c->lock);
  json_decref (c->nodes);
  json_decref (c->alive);
  c->nodes = nodes;
  c->alive = alive;
  g_hash_table_unref (c->verified);
  g_hash_table_unref (c->alive_verified);
  c->verified = verified;
  c->alive_verified = alive_verified;
  g_mutex_unlock (&c->lock);
  return TRUE;
}

static void
delete_pending (CgCluster *c, Worker *w, const char *name, gint64 rev)
{
  g_autoptr (CgEtcdTxn) txn = cg_etcd_txn_new ();
  g_autoptr (GBytes) key = cg_cluster_key (c, "pending/%s", name);
  cg_etcd_txn_compare_mod_revision (txn, key, rev);
  cg_etcd_txn_delete (txn, key, FALSE);
  cg_etcd_txn (w->etcd, txn, NULL, NULL);
}

/* Wraps of @ids to @pub for node @name into @txn. */
static gboolean
add_wraps (CgCluster *c, CgEtcdTxn *txn, const char *name, CgSealKey *pub, GPtrArray *ids,
           GError **error)
{
  for (guint i = 0; i < ids->len; i++)
    {
      const char *id = ids->pdata[i];
      g_autoptr (CgBuf) secret = cg_cluster_secret_read (c->vault, id, error);
      if (!secret || !cg_cluster_txn_put_wrap (txn, c->prefix, name, pub, id, secret, error))
        return FALSE;
    }
  return TRUE;
}

/* One pending join addressed to this node: admitted in one txn that
 * deletes the join code and the pending entry, or refused (the pending
 * entry deleted). */
static void
consider_pending (CgCluster *c, Worker *w, CgEtcdKv *kv)
{
  g_autofree char *name = cg_cluster_kv_name (c->prefix, "pending/", kv);
  json_auto_t *entry = cg_cluster_kv_json (kv);
  if (!name)
    return;
  json_t *proofs = entry ? json_object_get (entry, "proof") : NULL;
  const char *proof = json_string_value (json_object_get (proofs, c->cfg->name));
  if (entry && !proof)
    return; /* for another member (made before this one joined) */
  if (w->my_ids->len == 0 || !w->mac_key)
    return; /* this node holds no cluster secret to hand on, or cannot vouch (yet) */
  const char *code_id = json_string_value (json_object_get (entry, "code"));
  g_autoptr (CgSealKey) pub = entry ? cg_cluster_node_pub (entry, NULL) : NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (CgClusterCode) code = NULL;
  json_auto_t *join = NULL;
  gint64 join_rev = 0;

  if (!pub || !code_id || !cg_name_is_valid (name) || !cg_name_is_valid (code_id)
      || g_hash_table_contains (w->node_revs, name))
    g_set_error_literal (&error, CG_ERROR, CG_ERROR_JOIN_REFUSED,
                         "the pending entry is damaged or names a member");
  if (!error)
    {
      g_autoptr (GBytes) jkey = cg_cluster_key (c, "join/%s", code_id);
      g_autoptr (GPtrArray) kvs = NULL;
      if (!cg_etcd_range (w->etcd, jkey, CG_ETCD_RANGE_NONE, 0, 0, &kvs, NULL, NULL, &error))
        {
          g_message ("cluster: cannot check the join of %s yet: %s", name, error->message);
          return;
        }
      if (kvs->len == 1)
        {
          join = cg_cluster_kv_json (kvs->pdata[0]);
          join_rev = ((CgEtcdKv *) kvs->pdata[0])->mod_revision;
        }
      code = cg_cluster_proof_open (c->node_key, proof, c->cfg->id, code_id, name,
                                    cg_seal_key_get_kid (pub), &error);
      if (code && !join)
        g_set_error_literal (&error, CG_ERROR, CG_ERROR_JOIN_REFUSED, CG_CLUSTER_JOIN_REFUSED);
      if (code && join)
        cg_cluster_code_check (code, join, g_get_real_time () / G_USEC_PER_SEC, &error);
    }
  if (error)
    {
      g_warning ("cluster: refused the join of node %s: %s", name, error->message);
      delete_pending (c, w, name, kv->mod_revision);
      return;
    }

  g_autoptr (CgEtcdTxn) txn = cg_etcd_txn_new ();
  g_autoptr (GBytes) jkey = cg_cluster_key (c, "join/%s", code_id);
  g_autoptr (GBytes) pkey = cg_cluster_key (c, "pending/%s", name);
  g_autoptr (GBytes) nkey = cg_cluster_key (c, "node/%s", name);
  cg_etcd_txn_compare_mod_revision (txn, jkey, join_rev);
  cg_etcd_txn_compare_mod_revision (txn, pkey, kv->mod_revision);
  cg_etcd_txn_compare_mod_revision (txn, nkey, 0);
  cg_etcd_txn_delete (txn, jkey, FALSE);
  cg_etcd_txn_delete (txn, pkey, FALSE);
  /* The entry, MAC'd under the master key current as this txn lands. */
  g_autoptr (GBytes) mkey = cg_cluster_key (c, "meta/%s", CG_VAULT_META_MASTER_CURRENT);
  cg_etcd_txn_compare_mod_revision (txn, mkey, w->mrev);
  g_autofree char *now = cg_time_now_rfc3339 ();
  json_auto_t *node = cg_cluster_node_entry_new (
      name, pub, json_string_value (json_object_get (entry, "address")),
      json_string_value (json_object_get (entry, "pin")), now, c->cfg->name);
  if (!cg_cluster_entry_seal (CG_CLUSTER_ENTRY_NODE, w->mac_key, c->cfg->id, name, node, &error))
    {
      g_warning ("cluster: refused the join of node %s: %s", name, error->message);
      delete_pending (c, w, name, kv->mod_revision);
      return;
    }
  g_autoptr (GBytes) nvalue = cg_cluster_json_bytes (node);
  cg_etcd_txn_put (txn, nkey, nvalue, 0);
  if (!add_wraps (c, txn, name, pub, w->my_ids, &error)
      || !cg_etcd_txn (w->etcd, txn, NULL, &error))
    {
      if (!g_error_matches (error, CG_ETCD_ERROR, CG_ETCD_ERROR_CONFLICT))
        g_warning ("cluster: could not admit node %s yet: %s", name, error->message);
      return; /* a conflict: another member admitted it, or it changed */
    }
  g_message ("cluster: admitted node %s (%s) with %u cluster secrets", name,
             cg_seal_key_get_kid (pub), w->my_ids->len);
}

/* Every member gets a wrap of each secret this node holds that it lacks:
 * a node admitted while another rotated a key.  Each write compares the
 * node's entry, so a node removed meanwhile gets nothing. */
static void
repair (CgCluster *c, Worker *w, json_t *nodes, GHashTable *verified)
{
  const char *name;
  json_t *entry;
  json_object_foreach (nodes, name, entry)
    {
      /* Only to a node whose entry a member wrote (cg-cluster-entry.h). */
      if (g_str_equal (name, c->cfg->name) || !g_hash_table_contains (verified, name))
        continue;
      g_autoptr (GPtrArray) lacking = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < w->my_ids->len; i++)
        {
          g_autofree char *k = g_strdup_printf ("wrap/%s/%s", name,
                                                (char *) w->my_ids->pdata[i]);
          if (!g_hash_table_contains (w->wrap_keys, k))
            g_ptr_array_add (lacking, g_strdup (w->my_ids->pdata[i]));
        }
      gint64 *rev = g_hash_table_lookup (w->node_revs, name);
      g_autoptr (CgSealKey) pub = cg_cluster_node_pub (entry, NULL);
      if (!lacking->len || !rev || !pub)
        continue;
      g_autoptr (CgEtcdTxn) txn = cg_etcd_txn_new ();
      g_autoptr (GBytes) nkey = cg_cluster_key (c, "node/%s", name);
      cg_etcd_txn_compare_mod_revision (txn, nkey, *rev);
      for (guint i = 0; i < lacking->len; i++)
        {
          g_autoptr (GBytes) wkey = cg_cluster_key (c, "wrap/%s/%s", name,
                                                    (char *) lacking->pdata[i]);
          cg_etcd_txn_compare_mod_revision (txn, wkey, 0);
        }
      g_autoptr (GError) error = NULL;
      if (add_wraps (c, txn, name, pub, lacking, &error) && cg_etcd_txn (w->etcd, txn, NULL, &error))
        g_message ("cluster: gave node %s %u cluster secret(s) it lacked", name, lacking->len);
      else if (!g_error_matches (error, CG_ETCD_ERROR, CG_ETCD_ERROR_CONFLICT))
        g_message ("cluster: could not give node %s its wraps yet: %s", name, error->message);
    }
}

/* This node's own entry does not verify (written before entries carried a
 * MAC, or changed by someone with etcd access): a member that holds the
 * current master key vouches for itself and writes its entry again from
 * what it knows (its node key, address and pin), so a cluster made before
 * needs no step and a tampered entry of a running member is put right.  A
 * member never vouches for another node: that is admission's job. */
static void
vouch_for_self (CgCluster *c, Worker *w, json_t *entry)
{
  gint64 *rev = g_hash_table_lookup (w->node_revs, c->cfg->name);
  if (!entry || !rev || !w->mac_key || !c->node_key)
    return;
  const char *joined = json_string_value (json_object_get (entry, "joined"));
  const char *by = json_string_value (json_object_get (entry, "admittedBy"));
  gint64 t = 0;
  g_autofree char *now = cg_time_now_rfc3339 ();
  g_autofree char *pin = current_pin ();
  json_auto_t *mine = cg_cluster_node_entry_new (
      c->cfg->name, c->node_key, c->cfg->address, pin,
      joined && cg_time_parse_rfc3339 (joined, &t) ? joined : now,
      by && cg_name_is_valid (by) ? by : NULL);
  g_autoptr (GError) error = NULL;
  if (!cg_cluster_entry_seal (CG_CLUSTER_ENTRY_NODE, w->mac_key, c->cfg->id, c->cfg->name, mine,
                              &error))
    {
      g_warning ("cluster: cannot vouch for this node's entry: %s", error->message);
      return;
    }
  g_autoptr (CgEtcdTxn) txn = cg_etcd_txn_new ();
  g_autoptr (GBytes) nkey = cg_cluster_key (c, "node/%s", c->cfg->name);
  g_autoptr (GBytes) mkey = cg_cluster_key (c, "meta/%s", CG_VAULT_META_MASTER_CURRENT);
  g_autoptr (GBytes) value = cg_cluster_json_bytes (mine);
  cg_etcd_txn_compare_mod_revision (txn, nkey, *rev);
  cg_etcd_txn_compare_mod_revision (txn, mkey, w->mrev);
  cg_etcd_txn_put (txn, nkey, value, 0);
  if (cg_etcd_txn (w->etcd, txn, NULL, &error))
    g_message ("cluster: this node's entry in etcd did not verify under master key %s "
               "(written before entries carried a MAC, or changed in etcd): written again "
               "from this node's own key, address and pin",
               w->mkid);
  else if (!g_error_matches (error, CG_ETCD_ERROR, CG_ETCD_ERROR_CONFLICT))
    g_message ("cluster: cannot write this node's entry yet: %s", error->message);
}

/* The master key ids the vault holds (current and earlier) as candidates
 * for removal: after a reload of the keys, those no longer named go. */
static void
note_held_masters (CgCluster *c)
{
  CgVault *v = c->vault;
  g_mutex_lock (&v->lock);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  if (v->master_id)
    g_ptr_array_add (ids, g_strdup (v->master_id));
  GHashTableIter it;
  gpointer id;
  g_hash_table_iter_init (&it, v->old_masters);
  while (g_hash_table_iter_next (&it, &id, NULL))
    g_ptr_array_add (ids, g_strdup (id));
  g_mutex_unlock (&v->lock);
  g_mutex_lock (&c->lock);
  for (guint i = 0; i < ids->len; i++)
    g_hash_table_add (c->retired_masters, g_strdup (ids->pdata[i]));
  g_mutex_unlock (&c->lock);
}

typedef enum
{
  MASTER_NAMED,   /* the replica names it: kept, looked at again later */
  MASTER_WRAPPED, /* etcd still holds its wrap to this node: kept */
  MASTER_UNKNOWN, /* cannot tell now: looked at again later */
  MASTER_RETIRED, /* neither: it goes */
} MasterUse;

/* Is master key @mkid named by the replica (current, or earlier while a key
 * rotate --all is unfinished), or still wrapped to this node in etcd (a
 * rotation from before wraps were deleted)? */
static MasterUse
master_use (CgCluster *c, Worker *w, const char *mkid)
{
  CgVault *v = c->vault;
  g_autofree char *current = NULL, *old = NULL;
  g_mutex_lock (&v->lock);
  gboolean read = cg_vault_master_meta_locked (v, &current, &old, NULL);
  g_mutex_unlock (&v->lock);
  if (!read)
    return MASTER_UNKNOWN;
  g_auto (GStrv) olds = g_strsplit (old, " ", -1);
  if (g_str_equal (current, mkid)
      || g_strv_contains ((const char *const *) olds, mkid))
    return MASTER_NAMED;
  g_autoptr (GBytes) key = cg_cluster_key (c, "wrap/%s/master/%s", c->cfg->name, mkid);
  g_autoptr (GPtrArray) kvs = NULL;
  if (!cg_etcd_range (w->etcd, key, CG_ETCD_RANGE_KEYS_ONLY, 0, 0, &kvs, NULL, NULL, NULL))
    return MASTER_UNKNOWN;
  return kvs->len > 0 ? MASTER_WRAPPED : MASTER_RETIRED;
}

/* Master keys key rotate --all retired (on any node: their wraps were
 * deleted when it finished) leave this node's keyring too.  A node that was
 * down meanwhile does it when it is back: from the watch's deletes, or,
 * after a full resync, from the keys its vault held before. */
static void
drop_retired_masters (CgCluster *c, Worker *w)
{
  g_mutex_lock (&c->lock);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter it;
  gpointer id;
  g_hash_table_iter_init (&it, c->retired_masters);
  while (g_hash_table_iter_next (&it, &id, NULL))
    g_ptr_array_add (ids, g_strdup (id));
  g_mutex_unlock (&c->lock);
  gboolean installed = FALSE;
  for (guint i = 0; i < ids->len; i++)
    {
      const char *mkid = ids->pdata[i];
      MasterUse use = cg_record_master_id_valid (mkid) ? master_use (c, w, mkid) : MASTER_WRAPPED;
      if (use == MASTER_NAMED || use == MASTER_UNKNOWN)
        continue;
      if (use == MASTER_WRAPPED)
        {
          g_mutex_lock (&c->lock);
          g_hash_table_remove (c->retired_masters, mkid);
          g_mutex_unlock (&c->lock);
          continue;
        }
      /* Before the key goes, the wraps addressed to this node, read from
       * etcd after the read that found this key's own wrap gone, are
       * installed: one vouched for under it (the sealing key a rotation
       * made before its new master was current) would otherwise reach a
       * node whose replica is behind only once nothing here can verify it
       * (tests/test-cluster-rotate.sh, the master race). */
      if (!installed)
        {
          g_autoptr (GError) ierr = NULL;
          if (!c->node_key || !cg_cluster_install_wraps (c->vault, w->etcd, c->prefix, c->cfg->id,
                                                         c->cfg->name, c->node_key, FALSE, &ierr))
            {
              g_message ("cluster: the retired master key %s stays until this node's wraps are "
                         "installed: %s",
                         mkid, ierr ? ierr->message : "no node key yet");
              continue; /* tried again next round */
            }
          installed = TRUE;
          cg_vault_reload_keys (c->vault);
        }
      const char *kid = cg_record_master_keyring_kid (mkid);
      g_autoptr (GError) error = NULL;
      g_autoptr (CgBuf) have = cg_keystore_lookup (c->vault->instance, "master", kid, &error);
      if (error || (have && !cg_keystore_delete (c->vault->instance, "master", kid, &error)))
        {
          g_message ("cluster: cannot remove the retired master key %s yet: %s", mkid,
                     error->message);
          continue; /* tried again next round */
        }
      if (have)
        g_message ("cluster: master key %s was retired by key rotate --all; removed from this "
                   "node's secret store",
                   mkid);
      g_mutex_lock (&c->lock);
      g_hash_table_remove (c->retired_masters, mkid);
      g_mutex_unlock (&c->lock);
    }
}

static void
round_once (CgCluster *c, Worker *w, gboolean sync, gboolean reload)
{
  gint64 now = g_get_monotonic_time ();
  if (now >= w->next_beat)
    {
      beat (c, w);
      w->next_beat = now + HEARTBEAT_S * G_USEC_PER_SEC;
    }
  if (!c->node_key)
    {
      g_autoptr (GError) error = NULL;
      CgSealKey *node_key = cg_cluster_node_key (c->vault, FALSE, &error);
      if (!node_key)
        {
          g_message ("cluster: node key not available: %s", error->message);
          return;
        }
      g_atomic_pointer_set (&c->node_key, node_key); /* read by master_needed_cb */
      sync = TRUE;
    }
  if (sync || !w->wraps_done)
    {
      g_autoptr (GError) error = NULL;
      w->wraps_done = cg_cluster_install_wraps (c->vault, w->etcd, c->prefix, c->cfg->id,
                                                c->cfg->name,
                                                c->node_key, FALSE, &error);
      if (!w->wraps_done)
        g_message ("cluster: cannot install this node's wrapped keys yet: %s", error->message);
      else
        reload = TRUE;
    }
  if (reload)
    {
      note_held_masters (c);
      cg_vault_reload_keys (c->vault);
    }
  g_mutex_lock (&c->lock);
  gboolean prune = g_hash_table_size (c->retired_masters) > 0;
  g_mutex_unlock (&c->lock);
  if (prune)
    drop_retired_masters (c, w);

  g_autoptr (GError) error = NULL;
  if (!refresh (c, w, &error))
    return; /* the heartbeat says so already */
  g_mutex_lock (&c->lock);
  gboolean member = json_object_get (c->nodes, c->cfg->name) != NULL;
  g_mutex_unlock (&c->lock);
  if (!member)
    {
      if (!w->removed)
        g_warning ("cluster: this node (%s) is no longer a member of cluster %s: it was "
                   "removed; it serves its replica as it is and admits no one",
                   c->cfg->name, c->cfg->id);
      w->removed = TRUE;
      return;
    }
  w->removed = FALSE;
  for (guint i = 0; w->pending && i < w->pending->len; i++)
    consider_pending (c, w, w->pending->pdata[i]);
  g_mutex_lock (&c->lock);
  json_auto_t *nodes = json_incref (c->nodes);
  g_autoptr (GHashTable) verified = g_hash_table_ref (c->verified);
  g_mutex_unlock (&c->lock);
  if (!g_hash_table_contains (verified, c->cfg->name))
    vouch_for_self (c, w, json_object_get (nodes, c->cfg->name));
  repair (c, w, nodes, verified);
}

static gpointer
worker_main (gpointer data)
{
  CgCluster *c = data;
  Worker w = { 0 };
  g_autoptr (GError) error = NULL;
  w.etcd = cg_vault_store_etcd_client (c->store, &error);
  if (!w.etcd)
    {
      g_warning ("cluster: no etcd client for heartbeats: %s", error->message);
      return NULL;
    }
  w.beat_ok = TRUE;
  w.node_revs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  w.wrap_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  w.my_ids = g_ptr_array_new_with_free_func (g_free);
  w.warned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_mutex_lock (&c->lock);
  while (!c->stop)
    {
      gboolean sync = c->sync_wraps, reload = c->reload_keys;
      c->sync_wraps = c->reload_keys = c->wake = FALSE;
      g_mutex_unlock (&c->lock);
      round_once (c, &w, sync, reload);
      g_mutex_lock (&c->lock);
      gint64 until = MIN (w.next_beat, g_get_monotonic_time () + HEARTBEAT_S * G_USEC_PER_SEC);
      while (!c->stop && !c->wake)
        if (!g_cond_wait_until (&c->cond, &c->lock, until))
          break;
    }
  g_mutex_unlock (&c->lock);

  /* Leaving: the node is gone now, not 10 s from now. */
  if (w.lease)
    cg_etcd_lease_revoke (w.etcd, w.lease, NULL);
  cg_etcd_free (w.etcd);
  g_hash_table_unref (w.node_revs);
  g_hash_table_unref (w.wrap_keys);
  g_ptr_array_unref (w.my_ids);
  g_clear_pointer (&w.pending, g_ptr_array_unref);
  g_hash_table_unref (w.warned);
  g_free (w.mkid);
  g_free (w.warned_mkid);
  cg_buf_free (w.mac_key);
  return NULL;
}

/* ---- life -------------------------------------------------------------- */

CgCluster *
cg_cluster_new (CgAgent *agent, CgClusterConfig *cfg, CgVaultStore *store, CgSealKey *node_key,
                GError **error)
{
  CgEtcd *etcd = cg_vault_store_etcd_client (store, error);
  if (!etcd)
    return NULL;
  CgCluster *c = g_new0 (CgCluster, 1);
  c->agent = agent;
  c->vault = agent->vault;
  c->cfg = cfg;
  c->prefix = cg_cluster_config_prefix (cfg->id);
  c->store = store;
  c->node_key = node_key;
  c->etcd = etcd;
  c->nodes = json_object ();
  c->alive = json_object ();
  c->verified = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  c->alive_verified = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  c->epoch = g_get_real_time () / G_USEC_PER_SEC;
  c->last_beat = -1;
  g_mutex_init (&c->lock);
  g_mutex_init (&c->etcd_lock);
  g_cond_init (&c->cond);
  cg_vault_store_etcd_set_master_needed (store, master_needed_cb, c);
  /* The master keys the replica names before the applier brings what
   * happened while this node was away (a full resync forgets them): the
   * first one always, as every cluster began with it. */
  c->retired_masters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (c->retired_masters, g_strdup (CG_RECORD_MASTER_FIRST));
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *ids = store->ops->meta_get (
          store, i ? CG_VAULT_META_MASTER_OLD : CG_VAULT_META_MASTER_CURRENT, NULL);
      g_auto (GStrv) list = g_strsplit (ids ? ids : "", " ", -1);
      for (char **id = list; *id; id++)
        if (**id)
          g_hash_table_add (c->retired_masters, g_strdup (*id));
    }
  return c;
}

void
cg_cluster_run (CgCluster *c)
{
  c->thread = g_thread_new ("cg-cluster", worker_main, c);
}

CgVaultStore *
cg_cluster_open_store (const char *state_dir, const CgClusterConfig *cfg, GError **error)
{
  g_autofree char *prefix = cg_cluster_config_prefix (cfg->id);
  g_autofree char *db_path = g_build_filename (state_dir, "state.db", NULL);
  CgClusterEtcdConfig ecfg = {
    .endpoints = (const char *const *) cfg->endpoints,
    .ca_file = cfg->ca_file,
    .cert_file = cfg->cert_file,
    .key_file = cfg->key_file,
    .prefix = prefix,
    .timeout_ms = CG_CLUSTER_ETCD_TIMEOUT_MS,
  };
  return cg_vault_store_etcd_new (db_path, &ecfg, error);
}

CgCluster *
cg_cluster_open (CgAgent *agent, GError **error)
{
  const char *state_dir = agent->config->state_dir;
  GError *local = NULL;
  g_autoptr (CgClusterConfig) cfg = cg_cluster_config_load (state_dir, &local);
  if (!cfg)
    {
      if (local)
        g_propagate_error (error, local);
      return NULL;
    }
  CgVaultStore *store = cg_cluster_open_store (state_dir, cfg, error);
  if (!store)
    return NULL;
  /* A locked keyring does not stop the start: the worker picks the node
   * key up once it is unlocked. */
  g_autoptr (GError) key_error = NULL;
  CgSealKey *node_key = cg_cluster_node_key (agent->vault, FALSE, &key_error);
  if (!node_key)
    g_warning ("cluster: %s", key_error->message);
  CgClusterConfig *owned = g_steal_pointer (&cfg);
  CgCluster *c = cg_cluster_new (agent, owned, store, node_key, error);
  if (!c)
    {
      cg_cluster_config_free (owned);
      if (node_key)
        cg_seal_key_unref (node_key);
      store->ops->free (store);
      return NULL;
    }
  if (!cg_vault_store_etcd_start (store, cg_cluster_other_cb, cg_cluster_changed_cb,
                                  cg_cluster_key_wraps_cb, c, error))
    {
      store->ops->free (store);
      c->store = NULL;
      cg_cluster_free (c);
      return NULL;
    }
  g_mutex_lock (&c->vault->lock);
  cg_cluster_vault_set_store_locked (c->vault, store);
  g_mutex_unlock (&c->vault->lock);
  g_message ("cluster %s: node %s, etcd %s", owned->id, owned->name,
             cg_etcd_get_current_endpoint (c->etcd));
  cg_cluster_run (c);
  return c;
}

void
cg_cluster_stop (CgCluster *c)
{
  if (!c || !c->thread)
    return;
  g_mutex_lock (&c->lock);
  c->stop = TRUE;
  g_cond_signal (&c->cond);
  g_mutex_unlock (&c->lock);
  g_thread_join (c->thread);
  c->thread = NULL;
}

void
cg_cluster_free (CgCluster *c)
{
  if (!c)
    return;
  cg_cluster_stop (c);
  cg_cluster_config_free (c->cfg);
  g_free (c->prefix);
  if (c->node_key)
    cg_seal_key_unref (c->node_key);
  json_decref (c->nodes);
  json_decref (c->alive);
  g_hash_table_unref (c->verified);
  g_hash_table_unref (c->alive_verified);
  g_free (c->mac_mkid);
  cg_buf_free (c->mac_key);
  g_clear_pointer (&c->retired_masters, g_hash_table_unref);
  cg_etcd_free (c->etcd);
  g_mutex_clear (&c->lock);
  g_mutex_clear (&c->etcd_lock);
  g_cond_clear (&c->cond);
  g_free (c);
}

gboolean
cg_cluster_can_write (CgCluster *c)
{
  CgVaultStoreEtcdState st = { 0 };
  cg_vault_store_etcd_get_state (c->store, &st);
  gint last = g_atomic_int_get (&c->last_beat);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC - c->epoch;
  return st.writable && last >= 0 && now - last <= LEASE_TTL_S;
}

/* ---- /v1/info -------------------------------------------------------------- */

json_t *
cg_cluster_info (CgCluster *c)
{
  CgVaultStoreEtcdState st = { 0 };
  cg_vault_store_etcd_get_state (c->store, &st);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  json_t *nodes = json_array ();
  g_mutex_lock (&c->lock);
  const char *name;
  json_t *entry;
  json_object_foreach (c->nodes, name, entry)
    {
      /* Clients learn these pins: only from entries a member wrote, the
       * heartbeat's (a new TLS key) only when it verifies too. */
      if (!g_hash_table_contains (c->verified, name))
        continue;
      json_t *alive = json_object_get (c->alive, name);
      json_t *pin = g_hash_table_contains (c->alive_verified, name)
                        ? json_object_get (alive, "pin")
                        : NULL;
      json_array_append_new (
          nodes, json_pack ("{s:s, s:O?, s:O?, s:b}", "name", name, "address",
                            json_object_get (entry, "address"), "pin",
                            pin ? pin : json_object_get (entry, "pin"), "alive", alive != NULL));
    }
  g_mutex_unlock (&c->lock);
  json_t *stale = (st.writable && st.last_contact && now - st.last_contact <= FRESH_S)
                      ? json_null ()
                      : json_integer (now - (st.last_contact ? st.last_contact
                                                             : c->agent->started / G_USEC_PER_SEC));
  return json_pack ("{s:s, s:s, s:o, s:I, s:o}", "id", c->cfg->id, "node", c->cfg->name, "nodes",
                    nodes, "applied", (json_int_t) st.applied_revision, "stale_seconds", stale);
}
