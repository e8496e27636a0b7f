/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The admin's side of a cluster: init, join, invite, remove, status. */
#include "config.h"

#include "agent/cg-cluster-private.h"
#include "agent/cg-cluster-entry.h"
#include "agent/cg-cluster-join.h"
#include "agent/cg-cluster-keys.h"
#include "agent/cg-tls.h"
#include "certs/cg-cert.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "common/cg-time.h"
#include "protocol/cg-names.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define JOIN_WAIT_DEFAULT_S 60
#define JOIN_WAIT_MAX_S 600
#define INVITE_TTL_DEFAULT_S 3600
#define INVITE_TTL_MAX_S (7 * 24 * 3600)
/* A node whose replica has lacked a revision it knew of for longer than
 * this (seconds) is shown as lagging.  Time, not a revision count: how many
 * revisions a minute means depends on the write rate (heartbeats alone make
 * one a second), and what an admin weighs is how old the answers a node
 * gives may be (a token revoked elsewhere still accepted there).  A healthy
 * replica applies each revision within milliseconds and reports every
 * heartbeat (3 s); 10 s is also the lease after which a silent node is gone. */
#define LAG_WARN_S 10

/* One init or join at a time. */
static GMutex setup_lock;

static CgCluster *
get_cluster (CgAgent *agent)
{
  return g_atomic_pointer_get (&agent->cluster);
}

static CgCluster *
need_cluster (CgAgent *agent, GError **error)
{
  CgCluster *c = get_cluster (agent);
  if (!c)
    g_set_error_literal (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                         "this agent is a single node, not a cluster member (credgatectl "
                         "cluster init or join)");
  return c;
}

static gboolean
begin_setup (CgAgent *agent, GError **error)
{
  if (!g_mutex_trylock (&setup_lock))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_CONFLICT,
                           "another cluster init or join is running on this agent");
      return FALSE;
    }
  CgCluster *c = get_cluster (agent);
  if (c || cg_cluster_config_exists (agent->config->state_dir))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_EXISTS,
                   "this agent is already a member of cluster %s",
                   c ? c->cfg->id : "(see cluster.json in its state directory)");
      g_mutex_unlock (&setup_lock);
      return FALSE;
    }
  return TRUE;
}

/* The host name up to its first dot, if it is a valid name (transfer full). */
static char *
default_name (GError **error)
{
  g_autofree char *host = g_strdup (g_get_host_name ());
  char *dot = strchr (host, '.');
  if (dot)
    *dot = '\0';
  if (!cg_name_is_valid (host))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "this host's name is not a valid node name: give --name");
      return NULL;
    }
  return g_steal_pointer (&host);
}

/* host:port of the first listening URL; a wildcard address becomes the
 * host name (transfer full). */
static char *
default_address (CgAgent *agent)
{
  if (!agent->urls || !agent->urls[0] || !g_str_has_prefix (agent->urls[0], "https://"))
    return NULL;
  g_autofree char *hp = g_strdup (agent->urls[0] + strlen ("https://"));
  gsize n = strlen (hp);
  if (n && hp[n - 1] == '/')
    hp[n - 1] = '\0';
  char *colon = strrchr (hp, ':');
  if (!colon)
    return NULL;
  *colon = '\0';
  if (g_str_equal (hp, "0.0.0.0") || g_str_equal (hp, "[::]"))
    return g_strdup_printf ("%s:%s", g_get_host_name (), colon + 1);
  return g_strdup_printf ("%s:%s", hp, colon + 1);
}

static gboolean
check_address (const char *address, GError **error)
{
  const char *colon = address ? strrchr (address, ':') : NULL;
  if (!colon || colon == address || strlen (address) > 300 || !g_utf8_validate (address, -1, NULL)
      || strpbrk (address, "/?#@ \t\r\n") || strspn (colon + 1, "0123456789") == 0
      || colon[1 + strspn (colon + 1, "0123456789")] != '\0')
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the node's address must be HOST:PORT (--address)");
      return FALSE;
    }
  return TRUE;
}

/* Name, address, endpoints, files: everything of @s checked, and the
 * config made with the files under STATE_DIR/cluster/ (transfer full). */
static CgClusterConfig *
setup_config (CgAgent *agent, const CgClusterSetup *s, const char *id, GError **error)
{
  g_autofree char *name = s->name ? g_strdup (s->name) : default_name (error);
  if (!name)
    return NULL;
  if (!cg_name_is_valid (name))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "node names are 1 to 128 characters of A-Z a-z 0-9 . _ -");
      return NULL;
    }
  g_autofree char *address = s->address ? g_strdup (s->address) : default_address (agent);
  if (!check_address (address, error)
      || !cg_cluster_config_check_endpoints (s->endpoints, error))
    return NULL;
  g_autoptr (CgClusterConfig) cfg = g_new0 (CgClusterConfig, 1);
  cfg->id = g_strdup (id);
  cfg->name = g_steal_pointer (&name);
  cfg->address = g_steal_pointer (&address);
  cfg->endpoints = g_strdupv ((char **) s->endpoints);
  cfg->since = cg_time_now_rfc3339 ();
  if (!cg_cluster_config_install_files (cfg, agent->config->state_dir, s->ca_pem, s->cert_pem,
                                        s->key_pem, error))
    return NULL;
  return g_steal_pointer (&cfg);
}

static CgEtcd *
setup_etcd (const CgClusterConfig *cfg, GError **error)
{
  return cg_etcd_new ((const char *const *) cfg->endpoints, cfg->ca_file, cfg->cert_file,
                      cfg->key_file, CG_CLUSTER_ETCD_TIMEOUT_MS, error);
}

static gboolean
etcd_failed (GError **error, GError *local, const char *what)
{
  cg_cluster_etcd_error (error, local, what);
  g_error_free (local);
  return FALSE;
}

/* The first call to etcd of init and join: when it fails to connect, the
 * likely causes, which the admin can check. */
static void
first_contact_hint (GError **error)
{
  if (error && *error && (*error)->domain == CG_ERROR
      && (*error)->code == CG_ERROR_CLUSTER_UNAVAILABLE)
    {
      char *m = g_strdup_printf ("%s (check --etcd, --etcd-ca, and that etcd accepts the "
                                 "client certificate --etcd-cert: signed by the CA it trusts "
                                 "for clients)",
                                 (*error)->message);
      g_free ((*error)->message);
      (*error)->message = m;
    }
}

/* The entry under @key as JSON, *@rev its mod_revision; NULL with *@rev 0
 * when absent (no error).  FALSE when etcd could not be read. */
static gboolean
get_entry (CgEtcd *etcd, GBytes *key, json_t **out, gint64 *rev, GError **error)
{
  g_autoptr (GPtrArray) kvs = NULL;
  GError *local = NULL;
  *out = NULL;
  if (rev)
    *rev = 0;
  if (!cg_etcd_range (etcd, key, CG_ETCD_RANGE_NONE, 0, 0, &kvs, NULL, NULL, &local))
    return etcd_failed (error, local, "cannot read etcd");
  if (kvs->len == 1)
    {
      CgEtcdKv *kv = kvs->pdata[0];
      *out = cg_cluster_kv_json (kv);
      if (!*out)
        *out = json_object (); /* there, but not JSON: still "there" */
      if (rev)
        *rev = kv->mod_revision;
    }
  return TRUE;
}

/* Deletes a prefix that is not a finished cluster (no P/ready), or any
 * with @force; logs what it could not. */
static void
abandon_prefix (CgEtcd *etcd, const char *prefix, gboolean force)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) ready = cg_cluster_key_in (prefix, "ready");
  json_auto_t *entry = NULL;
  if (!force && (!get_entry (etcd, ready, &entry, NULL, &error) || entry))
    {
      if (error)
        g_warning ("cluster: could not check the half-done prefix %s in etcd: %s", prefix,
                   error->message);
      return;
    }
  g_autoptr (GBytes) key = g_bytes_new (prefix, strlen (prefix));
  if (!cg_etcd_delete_range (etcd, key, TRUE, NULL, NULL, &error))
    g_warning ("cluster: the half-done prefix %s stays in etcd (it has no \"ready\" key; the "
               "next cluster init on this agent deletes it): %s",
               prefix, error->message);
  else
    g_message ("cluster: deleted the half-done prefix %s from etcd", prefix);
}

static char *
attempt_path (CgAgent *agent)
{
  return g_build_filename (agent->config->state_dir, "cluster", "init-attempt", NULL);
}

/* A previous init that failed and could not clean up named its cluster id
 * here: its prefix goes now, unless it was finished. */
static void
clean_last_attempt (CgAgent *agent, CgEtcd *etcd)
{
  g_autofree char *path = attempt_path (agent);
  g_autofree char *id = NULL;
  if (!g_file_get_contents (path, &id, NULL, NULL))
    return;
  g_strstrip (id);
  if (cg_name_is_valid (id))
    {
      g_autofree char *prefix = cg_cluster_config_prefix (id);
      abandon_prefix (etcd, prefix, FALSE);
    }
}

static json_t *
node_entry (CgSealKey *node_key, const CgClusterConfig *cfg)
{
  g_autoptr (CgCertPair) pair = cg_tls_get_pair ();
  g_autofree char *now = cg_time_now_rfc3339 ();
  return json_pack ("{s:s, s:o, s:s, s:s?, s:s}", "name", cfg->name, "pub",
                    cg_seal_key_to_public_jwk (node_key), "address", cfg->address, "pin",
                    pair ? cg_cert_pair_get_spki_pin (pair) : NULL, "joined", now);
}

/* Init: the first node's entry, MAC'd under the master key its state
 * names current (what it pushes into etcd); that key's id in *@mkid and
 * its entry key, which vouches for the secrets init wraps (transfer full). */
static CgBuf *
seal_own_entry (CgVault *v, const CgClusterConfig *cfg, json_t *entry, char **mkid,
                GError **error)
{
  g_autofree char *current = NULL, *old = NULL;
  g_mutex_lock (&v->lock);
  gboolean ok = cg_vault_master_meta_locked (v, &current, &old, error);
  g_mutex_unlock (&v->lock);
  if (!ok)
    return NULL;
  g_autoptr (CgBuf) key = cg_cluster_mac_key_from_vault (v, current);
  if (!key)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                   "the current master key %s is missing from this node's secret store",
                   current);
      return NULL;
    }
  if (!cg_cluster_entry_seal (CG_CLUSTER_ENTRY_NODE, key, cfg->id, cfg->name, entry, error))
    return NULL;
  *mkid = g_steal_pointer (&current);
  return g_steal_pointer (&key);
}

/* The end of init and join, with the vault's lock held: start the store
 * (its full sync), write cluster.json, put the store under the vault.
 * On failure the store is freed and nothing of it stays. */
static gboolean
switch_over_locked (CgAgent *agent, CgCluster *c, GError **error)
{
  if (!cg_vault_store_etcd_start (c->store, cg_cluster_other_cb, cg_cluster_changed_cb,
                                  cg_cluster_key_wraps_cb, c, error)
      || !cg_cluster_config_save (c->cfg, agent->config->state_dir, error))
    return FALSE;
  cg_cluster_vault_set_store_locked (agent->vault, c->store);
  return TRUE;
}

static void
discard (CgCluster *c)
{
  if (!c)
    return;
  if (c->store)
    c->store->ops->free (c->store);
  c->store = NULL;
  cg_cluster_free (c);
}

static void
go_live (CgAgent *agent, CgCluster *c)
{
  g_atomic_pointer_set (&agent->cluster, c);
  cg_cluster_run (c);
}

/* ---- init ---------------------------------------------------------------- */

static json_t *
do_init (CgAgent *agent, const CgClusterSetup *s, GError **error)
{
  CgVault *v = agent->vault;
  if (!cg_vault_keys_ready (v, error))
    return NULL;
  g_autofree char *id = cg_cluster_new_id (error);
  if (!id)
    return NULL;
  g_autoptr (CgClusterConfig) cfg = setup_config (agent, s, id, error);
  if (!cfg)
    return NULL;
  g_autofree char *prefix = cg_cluster_config_prefix (id);
  g_autoptr (CgEtcd) etcd = setup_etcd (cfg, error);
  if (!etcd)
    return NULL;
  clean_last_attempt (agent, etcd);

  /* Nothing under the new prefix (16 random bytes: anything else is a
   * mistake worth stopping for). */
  g_autoptr (GBytes) pkey = g_bytes_new (prefix, strlen (prefix));
  g_autoptr (GPtrArray) kvs = NULL;
  GError *local = NULL;
  if (!cg_etcd_range (etcd, pkey, CG_ETCD_RANGE_PREFIX | CG_ETCD_RANGE_KEYS_ONLY, 0, 1, &kvs,
                      NULL, NULL, &local))
    {
      etcd_failed (error, local, "cannot reach etcd");
      first_contact_hint (error);
      return NULL;
    }
  if (kvs->len)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_EXISTS, "etcd already holds keys under %s", prefix);
      return NULL;
    }

  g_autoptr (CgSealKey) node_key = cg_cluster_node_key (v, TRUE, error);
  g_autoptr (GPtrArray) ids = node_key ? cg_cluster_secret_ids (v, FALSE, error) : NULL;
  if (!ids)
    return NULL;

  g_autofree char *attempt = attempt_path (agent);
  if (!cg_file_write_atomic (attempt, id, strlen (id), 0600, error))
    return NULL;

  /* This node and its wraps: one txn. */
  g_autoptr (CgEtcdTxn) txn = cg_etcd_txn_new ();
  g_autoptr (GBytes) nkey = cg_cluster_key_in (prefix, "node/%s", cfg->name);
  json_auto_t *entry = node_entry (node_key, cfg);
  g_autofree char *mkid = NULL;
  g_autoptr (CgBuf) mac_key = seal_own_entry (v, cfg, entry, &mkid, error);
  if (!mac_key)
    return NULL;
  g_autoptr (GBytes) nvalue = cg_cluster_json_bytes (entry);
  cg_etcd_txn_compare_mod_revision (txn, nkey, 0);
  cg_etcd_txn_put (txn, nkey, nvalue, 0);
  for (guint i = 0; i < ids->len; i++)
    {
      const char *sid = ids->pdata[i];
      g_autoptr (CgBuf) secret = cg_cluster_secret_read (v, sid, error);
      if (!secret || !cg_cluster_txn_put_wrap (txn, prefix, cfg->name, node_key, sid, secret, error))
        return NULL;
      cg_cluster_txn_put_voucher (txn, prefix, cfg->id, mkid, mac_key, sid, secret);
    }
  if (!cg_etcd_txn (etcd, txn, NULL, &local))
    {
      etcd_failed (error, local, "cannot write this node into etcd");
      abandon_prefix (etcd, prefix, FALSE);
      return NULL;
    }

  CgVaultStore *store = cg_cluster_open_store (agent->config->state_dir, cfg, error);
  if (!store)
    {
      abandon_prefix (etcd, prefix, FALSE);
      return NULL;
    }
  CgCluster *c = cg_cluster_new (agent, g_steal_pointer (&cfg), store,
                                 g_steal_pointer (&node_key), error);
  if (!c)
    {
      store->ops->free (store);
      abandon_prefix (etcd, prefix, FALSE);
      return NULL;
    }
  const char *name = c->cfg->name;

  /* Writes wait while this agent's tables move into etcd, so none is
   * left behind on the single node. */
  g_mutex_lock (&v->lock);
  g_autoptr (GBytes) rkey = cg_cluster_key_in (prefix, "ready");
  g_autofree char *now = cg_time_now_rfc3339 ();
  json_auto_t *ready = json_pack ("{s:s, s:s}", "created", now, "by", name);
  g_autoptr (GBytes) rvalue = cg_cluster_json_bytes (ready);
  g_autoptr (CgEtcdTxn) rtxn = cg_etcd_txn_new ();
  cg_etcd_txn_compare_mod_revision (rtxn, rkey, 0);
  cg_etcd_txn_put (rtxn, rkey, rvalue, 0);
  gboolean ok = cg_vault_store_etcd_push_all (store, error);
  if (ok && !cg_etcd_txn (etcd, rtxn, NULL, &local))
    ok = etcd_failed (error, local, "cannot mark the cluster ready in etcd");
  if (ok)
    ok = switch_over_locked (agent, c, error);
  g_mutex_unlock (&v->lock);
  if (!ok)
    {
      g_autofree char *cfg_path = g_build_filename (agent->config->state_dir, "cluster.json",
                                                    NULL);
      unlink (cfg_path);
      discard (c);
      abandon_prefix (etcd, prefix, TRUE);
      return NULL;
    }
  unlink (attempt);
  go_live (agent, c);
  g_message ("cluster %s: made by this node %s; this agent's state is in etcd under %s", id,
             name, prefix);
  return json_pack ("{s:s, s:s, s:s, s:s, s:I}", "id", id, "name", name, "address",
                    c->cfg->address, "prefix", prefix, "secrets", (json_int_t) ids->len);
}

json_t *
cg_cluster_init (CgAgent *agent, const CgClusterSetup *s, GError **error)
{
  if (!begin_setup (agent, error))
    return NULL;
  json_t *result = do_init (agent, s, error);
  g_mutex_unlock (&setup_lock);
  return result;
}

/* ---- join ---------------------------------------------------------------- */

static gboolean
check_empty (CgVault *v, GError **error)
{
  json_auto_t *status = cg_vault_status (v);
  json_int_t creds = json_integer_value (json_object_get (status, "credentials"));
  json_int_t tokens = json_integer_value (json_object_get (status, "tokens"));
  json_int_t clients = json_integer_value (json_object_get (status, "clients"));
  if (creds || tokens || clients)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_EXISTS,
                   "this agent holds %" JSON_INTEGER_FORMAT " credential(s), %" JSON_INTEGER_FORMAT
                   " token(s) and %" JSON_INTEGER_FORMAT " client(s); a node joins "
                   "empty (they would be lost): move them with a backup and restore them into "
                   "the cluster, or join a new agent",
                   creds, tokens, clients);
      return FALSE;
    }
  return TRUE;
}

/* Polls until a member admitted (TRUE), refused (FALSE, JOIN_REFUSED) or
 * the time ran out (FALSE, CLUSTER_UNAVAILABLE). */
static gboolean
wait_admitted (CgEtcd *etcd, const char *prefix, const char *name, const char *kid, guint wait_s,
               GError **error)
{
  g_autoptr (GBytes) nkey = cg_cluster_key_in (prefix, "node/%s", name);
  g_autoptr (GBytes) pkey = cg_cluster_key_in (prefix, "pending/%s", name);
  gint64 until = g_get_monotonic_time () + (gint64) wait_s * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until)
    {
      json_auto_t *node = NULL, *pending = NULL;
      g_autoptr (GError) transient = NULL;
      if (get_entry (etcd, nkey, &node, NULL, &transient) && node)
        {
          g_autoptr (CgSealKey) pub = cg_cluster_node_pub (node, NULL);
          if (pub && g_str_equal (cg_seal_key_get_kid (pub), kid))
            return TRUE;
          g_set_error (error, CG_ERROR, CG_ERROR_EXISTS,
                       "another node named %s joined meanwhile", name);
          return FALSE;
        }
      if (!transient && get_entry (etcd, pkey, &pending, NULL, &transient) && !pending)
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_JOIN_REFUSED, CG_CLUSTER_JOIN_REFUSED);
          return FALSE;
        }
      g_usleep (G_USEC_PER_SEC / 2);
    }
  g_set_error (error, CG_ERROR, CG_ERROR_CLUSTER_UNAVAILABLE,
               "no member admitted this node within %u s (is a member's agent running?); "
               "nothing was kept",
               wait_s);
  return FALSE;
}

/* Checks the code (a cluster with this id, the code's entry, gone once
 * used, its expiry and its HMAC) before writing anything, then asks to
 * join and waits until a member admitted this node: its node key
 * (transfer full), or NULL with @error (the pending entry removed). */
static CgSealKey *
join_request (CgEtcd *etcd, const char *prefix, CgVault *v, const CgClusterConfig *cfg,
              const CgClusterCode *code, json_t *ready, json_t *taken, guint wait_s,
              GError **error)
{
  g_autoptr (GBytes) jkey = cg_cluster_key_in (prefix, "join/%s", code->code_id);
  g_autoptr (GBytes) nkey = cg_cluster_key_in (prefix, "node/%s", cfg->name);
  g_autoptr (GBytes) pkey = cg_cluster_key_in (prefix, "pending/%s", cfg->name);
  json_auto_t *join = NULL, *pending = NULL;
  if (!get_entry (etcd, jkey, &join, NULL, error))
    return NULL;
  if (!ready || !join
      || !cg_cluster_code_check (code, join, g_get_real_time () / G_USEC_PER_SEC, error))
    {
      if (error && !*error)
        g_set_error_literal (error, CG_ERROR, CG_ERROR_JOIN_REFUSED, CG_CLUSTER_JOIN_REFUSED);
      return NULL;
    }
  if (!get_entry (etcd, pkey, &pending, NULL, error))
    return NULL;
  if (taken || pending)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_EXISTS,
                   taken ? "a node named %s is already a member" : "a join of %s is pending",
                   cfg->name);
      return NULL;
    }

  g_autoptr (CgSealKey) node_key = cg_cluster_node_key (v, TRUE, error);
  if (!node_key)
    return NULL;
  const char *kid = cg_seal_key_get_kid (node_key);

  /* The proof, to every member. */
  g_autoptr (GBytes) members_key = cg_cluster_key_in (prefix, "node/");
  g_autoptr (GPtrArray) members = NULL;
  GError *local = NULL;
  if (!cg_etcd_range (etcd, members_key, CG_ETCD_RANGE_PREFIX, 0, 0, &members, NULL, NULL,
                      &local))
    {
      etcd_failed (error, local, "cannot read the cluster's members");
      return NULL;
    }
  /* Only to the members the invite named (its list checked with the code
   * in cg_cluster_code_check): the proof carries the code's secret. */
  json_t *trusted = json_object_get (join, "members");
  json_t *proofs = json_object ();
  for (guint i = 0; i < members->len; i++)
    {
      CgEtcdKv *kv = members->pdata[i];
      g_autofree char *member = cg_cluster_kv_name (prefix, "node/", kv);
      json_auto_t *entry = cg_cluster_kv_json (kv);
      g_autoptr (CgSealKey) pub = entry ? cg_cluster_node_pub (entry, NULL) : NULL;
      const char *listed = member ? json_string_value (json_object_get (trusted, member)) : NULL;
      if (pub && (!listed || !g_str_equal (listed, cg_seal_key_get_kid (pub))))
        {
          g_message ("cluster: no proof of the join code for node %s: the invite did not name "
                     "it with this key",
                     member);
          continue;
        }
      g_autofree char *jwe = pub && member
                                 ? cg_cluster_proof_seal (pub, code, cfg->name, kid, NULL)
                                 : NULL;
      if (jwe)
        json_object_set_new (proofs, member, json_string (jwe));
    }
  if (json_object_size (proofs) == 0)
    {
      json_decref (proofs);
      g_set_error_literal (error, CG_ERROR, CG_ERROR_JOIN_REFUSED,
                           "none of the members the join code names is in the cluster now: "
                           "make a new code with 'credgatectl cluster invite' on a member");
      return NULL;
    }
  json_auto_t *entry = node_entry (node_key, cfg);
  json_object_set_new (entry, "code", json_string (code->code_id));
  json_object_set_new (entry, "proof", proofs);
  json_object_del (entry, "joined");
  g_autoptr (GBytes) pvalue = cg_cluster_json_bytes (entry);
  g_autoptr (CgEtcdTxn) txn = cg_etcd_txn_new ();
  cg_etcd_txn_compare_mod_revision (txn, pkey, 0);
  cg_etcd_txn_compare_mod_revision (txn, nkey, 0);
  cg_etcd_txn_put (txn, pkey, pvalue, 0);
  if (!cg_etcd_txn (etcd, txn, NULL, &local))
    {
      etcd_failed (error, local, "cannot ask to join");
      return NULL;
    }

  wait_s = wait_s ? MIN (wait_s, JOIN_WAIT_MAX_S) : JOIN_WAIT_DEFAULT_S;
  if (!wait_admitted (etcd, prefix, cfg->name, kid, wait_s, error))
    {
      g_autoptr (CgEtcdTxn) del = cg_etcd_txn_new ();
      cg_etcd_txn_delete (del, pkey, FALSE);
      cg_etcd_txn (etcd, del, NULL, NULL);
      return NULL;
    }
  return g_steal_pointer (&node_key);
}

static json_t *
do_join (CgAgent *agent, const CgClusterSetup *s, GError **error)
{
  CgVault *v = agent->vault;
  g_autoptr (CgClusterCode) code = cg_cluster_code_parse (s->code, error);
  if (!code)
    return NULL;
  g_autoptr (CgClusterConfig) cfg = setup_config (agent, s, code->cluster_id, error);
  if (!cfg)
    return NULL;
  g_autofree char *prefix = cg_cluster_config_prefix (code->cluster_id);
  g_autoptr (CgEtcd) etcd = setup_etcd (cfg, error);
  if (!etcd)
    return NULL;

  g_autoptr (GBytes) rkey = cg_cluster_key_in (prefix, "ready");
  g_autoptr (GBytes) nkey = cg_cluster_key_in (prefix, "node/%s", cfg->name);
  json_auto_t *ready = NULL, *taken = NULL;
  if (!get_entry (etcd, rkey, &ready, NULL, error))
    {
      first_contact_hint (error);
      return NULL;
    }
  /* A join admitted before whose end failed (etcd gone right then, or the
   * agent stopped before cluster.json was written): this agent holds the
   * admitted node key, so it goes on from there, whatever its replica
   * holds (the cluster's).  Anyone else gives a good code and joins empty. */
  g_autoptr (CgSealKey) node_key = NULL;
  if (ready && !get_entry (etcd, nkey, &taken, NULL, error))
    return NULL;
  if (taken)
    {
      g_autoptr (CgSealKey) mine = cg_cluster_node_key (v, FALSE, NULL);
      g_autoptr (CgSealKey) pub = cg_cluster_node_pub (taken, NULL);
      if (mine && pub && g_str_equal (cg_seal_key_get_kid (mine), cg_seal_key_get_kid (pub)))
        {
          g_message ("cluster: node %s was admitted before; finishing its join", cfg->name);
          node_key = g_steal_pointer (&mine);
        }
    }
  if (!node_key
      && (!check_empty (v, error)
          || !(node_key = join_request (etcd, prefix, v, cfg, code, ready, taken, s->wait_s,
                                        error))))
    return NULL;

  /* Admitted: the cluster's keys into this node's keyring, then its state. */
  if (!cg_cluster_install_wraps (v, etcd, prefix, cfg->id, cfg->name, node_key, TRUE, error))
    {
      g_prefix_error (error, "admitted, but (run the same cluster join again to finish) ");
      return NULL;
    }
  CgVaultStore *store = cg_cluster_open_store (agent->config->state_dir, cfg, error);
  if (!store)
    return NULL;
  g_autofree char *name = g_strdup (cfg->name);
  CgCluster *c = cg_cluster_new (agent, g_steal_pointer (&cfg), store,
                                 g_steal_pointer (&node_key), error);
  if (!c)
    {
      store->ops->free (store);
      return NULL;
    }
  g_mutex_lock (&v->lock);
  gboolean ok = switch_over_locked (agent, c, error);
  g_mutex_unlock (&v->lock);
  if (!ok)
    {
      discard (c);
      g_prefix_error (error, "admitted as %s, but (run the same cluster join again to finish): ",
                      name);
      return NULL;
    }
  cg_vault_reload_keys (v);
  go_live (agent, c);
  g_message ("cluster %s: joined as node %s", c->cfg->id, name);
  return json_pack ("{s:s, s:s, s:s}", "id", c->cfg->id, "name", name, "address",
                    c->cfg->address);
}

json_t *
cg_cluster_join (CgAgent *agent, const CgClusterSetup *s, GError **error)
{
  if (!begin_setup (agent, error))
    return NULL;
  json_t *result = do_join (agent, s, error);
  g_mutex_unlock (&setup_lock);
  return result;
}

/* ---- invite, remove ---------------------------------------------------- */

/* NAME → kid of the members whose entries verified in the worker's last
 * round, and this node (cg-cluster-join.h: the joining node seals its proof
 * only to these) (transfer full). */
static json_t *
trusted_members (CgCluster *c)
{
  json_t *members = json_object ();
  g_mutex_lock (&c->lock);
  GHashTableIter it;
  gpointer name;
  g_hash_table_iter_init (&it, c->verified);
  while (g_hash_table_iter_next (&it, &name, NULL))
    {
      g_autoptr (CgSealKey) pub = cg_cluster_node_pub (json_object_get (c->nodes, name), NULL);
      if (pub)
        json_object_set_new (members, name, json_string (cg_seal_key_get_kid (pub)));
    }
  g_mutex_unlock (&c->lock);
  CgSealKey *self = g_atomic_pointer_get (&c->node_key);
  if (self)
    json_object_set_new (members, c->cfg->name, json_string (cg_seal_key_get_kid (self)));
  return members;
}

json_t *
cg_cluster_invite (CgAgent *agent, gint64 ttl_s, GError **error)
{
  CgCluster *c = need_cluster (agent, error);
  if (!c)
    return NULL;
  if (ttl_s == 0)
    ttl_s = INVITE_TTL_DEFAULT_S;
  if (ttl_s < 0 || ttl_s > INVITE_TTL_MAX_S)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "a join code lasts 1 second to %d days", INVITE_TTL_MAX_S / 86400);
      return NULL;
    }
  g_autofree char *text = NULL;
  g_autoptr (CgClusterCode) code = cg_cluster_code_new (c->cfg->id, &text, error);
  if (!code)
    return NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *expires = cg_time_rfc3339 (now + ttl_s);
  g_autofree char *created = cg_time_rfc3339 (now);
  g_autofree char *hmac = cg_cluster_code_hmac (code);
  json_t *members = trusted_members (c);
  g_autofree char *members_mac = cg_cluster_code_members_mac (code, members);
  json_auto_t *entry = json_pack ("{s:s, s:s, s:s, s:s, s:o, s:s}", "hmac", hmac, "expires",
                                  expires, "by", c->cfg->name, "created", created, "members",
                                  members, "membersMac", members_mac);
  g_autoptr (GBytes) key = cg_cluster_key (c, "join/%s", code->code_id);
  g_autoptr (GBytes) value = cg_cluster_json_bytes (entry);
  g_autoptr (CgEtcdTxn) txn = cg_etcd_txn_new ();
  cg_etcd_txn_compare_mod_revision (txn, key, 0);
  GError *local = NULL;
  gint64 lease = 0;
  g_mutex_lock (&c->etcd_lock);
  /* The entry goes by itself a little after it expires. */
  gboolean ok = cg_etcd_lease_grant (c->etcd, ttl_s + 60, &lease, NULL, &local);
  if (ok)
    {
      cg_etcd_txn_put (txn, key, value, lease);
      ok = cg_etcd_txn (c->etcd, txn, NULL, &local);
    }
  g_mutex_unlock (&c->etcd_lock);
  if (!ok)
    {
      etcd_failed (error, local, "cannot record the join code in etcd");
      cg_wipe_str (g_steal_pointer (&text));
      return NULL;
    }
  json_t *result = json_pack ("{s:s, s:s, s:s, s:I}", "code", text, "codeId", code->code_id,
                              "expires", expires, "expiresSeconds", (json_int_t) ttl_s);
  cg_wipe_str (g_steal_pointer (&text));
  return result;
}

json_t *
cg_cluster_remove (CgAgent *agent, const char *name, GError **error)
{
  CgCluster *c = need_cluster (agent, error);
  if (!c)
    return NULL;
  if (!cg_name_is_valid (name))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "not a node name");
      return NULL;
    }
  if (g_str_equal (name, c->cfg->name))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "a node does not remove itself: run 'credgatectl cluster remove' "
                           "on another member");
      return NULL;
    }
  g_autoptr (GBytes) nkey = cg_cluster_key (c, "node/%s", name);
  g_autoptr (GBytes) wkey = cg_cluster_key (c, "wrap/%s/", name);
  g_autoptr (GBytes) akey = cg_cluster_key (c, "alive/%s", name);
  g_autoptr (GBytes) pkey = cg_cluster_key (c, "pending/%s", name);
  json_auto_t *node = NULL;
  gint64 rev = 0;
  g_mutex_lock (&c->etcd_lock);
  gboolean ok = get_entry (c->etcd, nkey, &node, &rev, error);
  if (ok && !node)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no node %s in this cluster", name);
      ok = FALSE;
    }
  if (ok)
    {
      g_autoptr (CgEtcdTxn) txn = cg_etcd_txn_new ();
      cg_etcd_txn_compare_mod_revision (txn, nkey, rev);
      cg_etcd_txn_delete (txn, nkey, FALSE);
      cg_etcd_txn_delete (txn, wkey, TRUE);
      cg_etcd_txn_delete (txn, akey, FALSE);
      cg_etcd_txn_delete (txn, pkey, FALSE);
      GError *local = NULL;
      if (!cg_etcd_txn (c->etcd, txn, NULL, &local))
        ok = etcd_failed (error, local, "cannot remove the node");
    }
  g_mutex_unlock (&c->etcd_lock);
  if (!ok)
    return NULL;
  g_message ("cluster: removed node %s; its copy of the keys still opens what was sealed "
             "before, and with its etcd client certificate it can still write to etcd: revoke "
             "that certificate, then run 'credgatectl key rotate --all'",
             name);
  return json_pack ("{s:s, s:b, s:s, s:s}", "name", name, "removed", TRUE, "next",
                    "credgatectl key rotate --all", "revoke",
                    "the node's etcd client certificate (etcd --client-crl-file)");
}

/* ---- status -------------------------------------------------------------- */

static json_t *
etcd_members (CgCluster *c)
{
  g_autoptr (GError) error = NULL;
  json_t *members = NULL;
  g_mutex_lock (&c->etcd_lock);
  gboolean ok = cg_etcd_member_list (c->etcd, &members, &error);
  g_mutex_unlock (&c->etcd_lock);
  if (!ok)
    return json_pack ("{s:b, s:s, s:[]}", "reachable", FALSE, "error", error->message,
                      "members");
  /* Each member asked alone, through a client of its own. */
  gsize i;
  json_t *m;
  guint healthy = 0;
  json_array_foreach (members, i, m)
    {
      json_t *urls = json_object_get (m, "clientURLs");
      const char *url = json_string_value (json_array_get (urls, 0));
      json_t *status = NULL;
      g_autoptr (GError) merr = NULL;
      g_autoptr (CgEtcd) one = NULL;
      if (url)
        {
          const char *eps[] = { url, NULL };
          one = cg_etcd_new (eps, c->cfg->ca_file, c->cfg->cert_file, c->cfg->key_file, 2000,
                             &merr);
        }
      gboolean up = one && cg_etcd_member_status (one, url, &status, &merr);
      if (up)
        {
          healthy++;
          const char *id = json_string_value (json_object_get (status, "id"));
          const char *leader = json_string_value (json_object_get (status, "leader"));
          json_object_set_new (m, "leader", json_boolean (id && leader && g_str_equal (id, leader)));
          json_object_set (m, "revision", json_object_get (status, "revision"));
          json_object_set (m, "version", json_object_get (status, "version"));
          json_object_set (m, "dbSize", json_object_get (status, "dbSize"));
          json_decref (status);
        }
      else
        json_object_set_new (m, "error", json_string (merr ? merr->message : "no client URL"));
      json_object_set_new (m, "healthy", json_boolean (up));
    }
  json_t *out = json_pack ("{s:b, s:o, s:b}", "reachable", TRUE, "members", members, "quorum",
                           healthy * 2 > json_array_size (members));
  return out;
}

gboolean
cg_cluster_write_ready (CgAgent *agent, GError **error)
{
  CgCluster *c = g_atomic_pointer_get (&agent->cluster);
  return c == NULL || cg_vault_store_etcd_write_ready (c->store, error);
}

json_t *
cg_cluster_status (CgAgent *agent, GError **error)
{
  CgCluster *c = need_cluster (agent, error);
  if (!c)
    return NULL;
  g_autoptr (GPtrArray) needed = cg_cluster_secret_ids (c->vault, TRUE, error);
  if (!needed)
    return NULL;
  /* Which entries a member wrote: under the master key the replica names. */
  g_autofree char *mkid = NULL, *mold = NULL;
  g_mutex_lock (&c->vault->lock);
  gboolean have_meta = cg_vault_master_meta_locked (c->vault, &mkid, &mold, error);
  g_mutex_unlock (&c->vault->lock);
  if (!have_meta)
    return NULL;
  g_autoptr (CgBuf) mac_key = cg_cluster_mac_key (c, mkid);
  CgVaultStoreEtcdState st = { 0 };
  cg_vault_store_etcd_get_state (c->store, &st);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  /* Fresh from etcd when it answers, else what the worker read last. */
  json_auto_t *nodes = json_object (), *alive = json_object ();
  g_autoptr (GHashTable) wraps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GError) etcd_error = NULL;
  gboolean fresh = TRUE;
  static const char *const areas[] = { "node/", "alive/", "wrap/" };
  g_mutex_lock (&c->etcd_lock);
  for (gsize a = 0; fresh && a < G_N_ELEMENTS (areas); a++)
    {
      g_autoptr (GBytes) key = cg_cluster_key (c, "%s", areas[a]);
      g_autoptr (GPtrArray) kvs = NULL;
      /* Answered by the member alone: status works without a quorum. */
      CgEtcdRangeFlags flags = CG_ETCD_RANGE_PREFIX | CG_ETCD_RANGE_SERIALIZABLE;
      if (a == 2)
        flags |= CG_ETCD_RANGE_KEYS_ONLY;
      fresh = cg_etcd_range (c->etcd, key, flags, 0, 0, &kvs, NULL, NULL, &etcd_error);
      if (fresh && a < 2)
        cg_cluster_entries_by_name (c->prefix, areas[a], kvs, a == 0 ? nodes : alive, NULL);
      for (guint i = 0; fresh && a == 2 && i < kvs->len; i++)
        {
          char *name = cg_cluster_kv_name (c->prefix, areas[a], kvs->pdata[i]);
          if (name)
            g_hash_table_add (wraps, name);
        }
    }
  g_mutex_unlock (&c->etcd_lock);
  if (!fresh)
    {
      g_mutex_lock (&c->lock);
      json_object_update (nodes, c->nodes);
      json_object_update (alive, c->alive);
      g_mutex_unlock (&c->lock);
    }

  json_t *list = json_array ();
  const char *name;
  json_t *entry;
  json_object_foreach (nodes, name, entry)
    {
      json_t *a = json_object_get (alive, name);
      json_t *pin = json_object_get (a, "pin");
      json_t *n = json_pack ("{s:s, s:O?, s:O?, s:O?, s:b, s:b}", "name", name, "address",
                             json_object_get (entry, "address"), "pin",
                             pin ? pin : json_object_get (entry, "pin"), "joined",
                             json_object_get (entry, "joined"), "alive", a != NULL, "self",
                             g_str_equal (name, c->cfg->name));
      if (a)
        {
          json_int_t applied = json_integer_value (json_object_get (a, "applied"));
          json_int_t seen = json_integer_value (json_object_get (a, "etcdRevision"));
          json_int_t lag = seen > applied ? seen - applied : 0;
          gint64 beat = 0, behind = 0;
          cg_time_parse_rfc3339 (json_string_value (json_object_get (a, "time")), &beat);
          cg_time_parse_rfc3339 (json_string_value (json_object_get (a, "behindSince")), &behind);
          /* Still behind now as far as anyone knows: its next beat says. */
          gint64 lag_s = behind ? MAX (now - behind, 0) : 0;
          json_object_set (n, "lastHeartbeat", json_object_get (a, "time"));
          json_object_set_new (n, "heartbeatAgeSeconds", json_integer (beat ? now - beat : -1));
          json_object_set_new (n, "applied", json_integer (applied));
          json_object_set_new (n, "lag", json_integer (lag));
          json_object_set_new (n, "lagSeconds", json_integer (lag_s));
          json_object_set_new (n, "state", json_string (lag_s > LAG_WARN_S ? "lagging" : "ok"));
        }
      else
        json_object_set_new (n, "state", json_string ("gone"));
      gboolean verified = cg_cluster_node_verified (c, mac_key, name, entry);
      json_object_set_new (n, "verified", json_boolean (verified));
      if (!verified)
        json_object_set_new (n, "state", json_string ("unverified"));
      if (fresh)
        {
          json_t *missing = json_array ();
          guint present = 0;
          for (guint i = 0; i < needed->len; i++)
            {
              g_autofree char *k = g_strdup_printf ("%s/%s", name, (char *) needed->pdata[i]);
              if (g_hash_table_contains (wraps, k))
                present++;
              else
                json_array_append_new (missing, json_string (needed->pdata[i]));
            }
          json_object_set_new (n, "keys", json_pack ("{s:I, s:I, s:o}", "present",
                                                     (json_int_t) present, "needed",
                                                     (json_int_t) needed->len, "missing",
                                                     missing));
        }
      json_array_append_new (list, n);
    }

  g_autofree char *contact = st.last_contact ? cg_time_rfc3339 (st.last_contact) : NULL;
  json_t *info = cg_cluster_info (c);
  json_t *self = json_pack ("{s:s, s:b, s:I, s:I, s:s?, s:O, s:s, s:b}", "name", c->cfg->name,
                            "writable", cg_cluster_can_write (c), "applied",
                            (json_int_t) st.applied_revision, "etcdRevision",
                            (json_int_t) st.etcd_revision, "lastContact", contact,
                            "staleSeconds", json_object_get (info, "stale_seconds"), "master",
                            mkid, "holdsMaster", mac_key != NULL);
  json_decref (info);
  json_t *etcd = fresh ? etcd_members (c)
                       : json_pack ("{s:b, s:s, s:[]}", "reachable", FALSE, "error",
                                    etcd_error->message, "members");
  return json_pack ("{s:s, s:s, s:o, s:o, s:o, s:b}", "id", c->cfg->id, "prefix", c->prefix,
                    "self", self, "nodes", list, "etcd", etcd, "fromEtcd", fresh);
}
