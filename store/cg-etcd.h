/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A small, typed client for etcd v3's JSON gateway (/v3/kv/..., /v3/lease/...,
 * /v3/watch) over libcurl with mutual TLS, for the cluster storage layer
 * (issue 13: several nodes sharing one set of credentials).  Keys and values are bytes (GBytes); the base64 of
 * the gateway stays inside.  Every call is bounded by the client's timeout
 * (a lost quorum gives CG_ETCD_ERROR_UNAVAILABLE, never a hang) and tries
 * the endpoints in turn when one cannot be connected to; the endpoint that
 * answered is tried first next time.  Every reply is capped in size before
 * it is parsed.  Keys, values and key material never reach a log or an error
 * message.
 *
 * A CgEtcd is not thread-safe: use one per thread (the watch runs in its
 * own thread with its own CgEtcd). */

#include <gio/gio.h>
#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

/* The errors of this layer.  The storage layer above maps them onto
 * CG_ERROR (UNREACHABLE and UNAVAILABLE become 503 cluster_unavailable,
 * CONFLICT 409, COMPACTED a full resync). */
#define CG_ETCD_ERROR (cg_etcd_error_quark ())
GQuark cg_etcd_error_quark (void);

typedef enum
{
  CG_ETCD_ERROR_UNREACHABLE, /* no endpoint could be connected to */
  CG_ETCD_ERROR_UNAVAILABLE, /* timed out, no leader, no quorum: outcome of a write unknown */
  CG_ETCD_ERROR_COMPACTED,   /* the revision asked for was compacted away */
  CG_ETCD_ERROR_CONFLICT,    /* a txn's compare failed: nothing was written */
  CG_ETCD_ERROR_BAD_REPLY,   /* a reply too large, not JSON, or not the expected shape */
  CG_ETCD_ERROR_TLS,         /* TLS failed: certificate refused either way */
  CG_ETCD_ERROR_REFUSED,     /* etcd refused the request (e.g. lease not found) */
} CgEtcdErrorCode;

typedef struct _CgEtcd CgEtcd;

/* @endpoints: "https://host:port" URLs, NULL-terminated, at least one.
 * @ca_file, @cert_file, @key_file: PEM paths (the key file is read by
 * libcurl at each connection; it is never copied here).
 * @timeout_ms: the bound of every call, all endpoints included.
 * Returns (transfer full) or NULL with @error on bad arguments. */
CgEtcd *cg_etcd_new (const char *const *endpoints, const char *ca_file, const char *cert_file,
                     const char *key_file, guint timeout_ms, GError **error);
void cg_etcd_free (CgEtcd *etcd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgEtcd, cg_etcd_free)

/* The endpoint that answered last (borrowed), for status and tests. */
const char *cg_etcd_get_current_endpoint (CgEtcd *etcd);

/* The bound of each call (ms), all endpoints included; set it for the calls
 * that follow (> 0), e.g. to fit a second call into what is left of one
 * budget. */
guint cg_etcd_get_timeout (CgEtcd *etcd);
void cg_etcd_set_timeout (CgEtcd *etcd, guint timeout_ms);

/* One key-value as etcd holds it.  key and value are (transfer full) in the
 * struct and freed with it. */
typedef struct
{
  GBytes *key;
  GBytes *value;
  gint64 create_revision;
  gint64 mod_revision;
  gint64 version;
  gint64 lease;
} CgEtcdKv;

void cg_etcd_kv_free (CgEtcdKv *kv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgEtcdKv, cg_etcd_kv_free)

typedef enum
{
  CG_ETCD_RANGE_NONE = 0,
  CG_ETCD_RANGE_PREFIX = 1 << 0,       /* every key starting with @key */
  CG_ETCD_RANGE_SERIALIZABLE = 1 << 1, /* answered by the member alone: works
                                        * without quorum, may be stale */
  CG_ETCD_RANGE_KEYS_ONLY = 1 << 2,    /* values left NULL */
} CgEtcdRangeFlags;

/* Reads @key (or every key under it with CG_ETCD_RANGE_PREFIX) at
 * @revision (0: the latest), at most @limit keys (0: no limit), sorted by
 * key.  *out_kvs (transfer full, free with g_ptr_array_unref) holds
 * CgEtcdKv; *out_revision the store's revision of the answer (may be NULL);
 * *out_more whether @limit cut the answer short (may be NULL). */
gboolean cg_etcd_range (CgEtcd *etcd, GBytes *key, CgEtcdRangeFlags flags, gint64 revision,
                        gint64 limit, GPtrArray **out_kvs, gint64 *out_revision,
                        gboolean *out_more, GError **error);

/* One page of the prefix range @prefix, starting at @from (nullable: the
 * prefix itself): the keys k with @from <= k < end of @prefix, at most
 * @limit, sorted by key, at @revision (0: the latest; pass the first page's
 * *out_revision to the next pages so that every page is one snapshot).
 * The next page starts at the last key returned with a "\0" appended
 * (cg_etcd_key_after).  Otherwise as cg_etcd_range. */
gboolean cg_etcd_range_from (CgEtcd *etcd, GBytes *prefix, GBytes *from, CgEtcdRangeFlags flags,
                             gint64 revision, gint64 limit, GPtrArray **out_kvs,
                             gint64 *out_revision, gboolean *out_more, GError **error);
/* @key with a "\0" appended: the smallest key after it (transfer full). */
GBytes *cg_etcd_key_after (GBytes *key);

/* Writes @key = @value, attached to @lease (0: none).  *out_revision: the
 * revision of the write (may be NULL). */
gboolean cg_etcd_put (CgEtcd *etcd, GBytes *key, GBytes *value, gint64 lease,
                      gint64 *out_revision, GError **error);

/* Deletes @key (or every key under it with @prefix); *out_deleted the
 * number deleted, *out_revision the revision (both may be NULL). */
gboolean cg_etcd_delete_range (CgEtcd *etcd, GBytes *key, gboolean prefix, gint64 *out_deleted,
                               gint64 *out_revision, GError **error);

/* A txn: all compares must hold, then all operations run at one revision;
 * if one compare fails nothing is written and the call fails with
 * CG_ETCD_ERROR_CONFLICT (*out_revision still set).  Build it with the
 * functions below; the txn owns what is added to it. */
typedef struct _CgEtcdTxn CgEtcdTxn;

CgEtcdTxn *cg_etcd_txn_new (void);
void cg_etcd_txn_free (CgEtcdTxn *txn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgEtcdTxn, cg_etcd_txn_free)

/* Compare: @key's mod_revision equals @mod_revision.  A @mod_revision of 0
 * means "the key does not exist" (compared as create_revision == 0). */
void cg_etcd_txn_compare_mod_revision (CgEtcdTxn *txn, GBytes *key, gint64 mod_revision);
/* Compare: every key under @prefix has a mod_revision below @below, i.e.
 * none was created or changed at or after revision @below (an empty range
 * holds). */
void cg_etcd_txn_compare_prefix_mod_below (CgEtcdTxn *txn, GBytes *prefix, gint64 below);
/* How many compares and operations the txn holds (etcd refuses more than
 * its --max-txn-ops, 128 by default, of either). */
guint cg_etcd_txn_get_n_compares (CgEtcdTxn *txn);
guint cg_etcd_txn_get_n_ops (CgEtcdTxn *txn);
void cg_etcd_txn_put (CgEtcdTxn *txn, GBytes *key, GBytes *value, gint64 lease);
void cg_etcd_txn_delete (CgEtcdTxn *txn, GBytes *key, gboolean prefix);

/* *out_revision: the revision of the writes, or on conflict the store's
 * revision at the failed compare (may be NULL). */
gboolean cg_etcd_txn (CgEtcd *etcd, CgEtcdTxn *txn, gint64 *out_revision, GError **error);

/* Leases.  @ttl in seconds (etcd may raise it to its minimum). */
gboolean cg_etcd_lease_grant (CgEtcd *etcd, gint64 ttl, gint64 *out_id, gint64 *out_ttl,
                              GError **error);
/* One keepalive; *out_ttl the remaining TTL.  A lease that has expired or
 * been revoked gives CG_ETCD_ERROR_REFUSED. */
gboolean cg_etcd_lease_keepalive_once (CgEtcd *etcd, gint64 id, gint64 *out_ttl, GError **error);
gboolean cg_etcd_lease_revoke (CgEtcd *etcd, gint64 id, GError **error);

/* Watch. */
typedef enum
{
  CG_ETCD_EVENT_PUT,
  CG_ETCD_EVENT_DELETE,
} CgEtcdEventType;

/* @kv is borrowed for the call: for a delete, value is NULL and
 * mod_revision is the revision of the delete.  Return FALSE to end the
 * watch (cg_etcd_watch then returns TRUE). */
typedef gboolean (*CgEtcdWatchFunc) (CgEtcdEventType type, const CgEtcdKv *kv,
                                     gpointer user_data);

/* Watches @key (or the prefix) from @start_revision (0: from now), calling
 * @func for each event in revision order, for at most @duration_ms (the
 * caller re-watches from *out_next_revision: a watch is bounded like every
 * other call).  Returns TRUE when @duration_ms elapsed or @func returned
 * FALSE; FALSE with @error otherwise: CG_ETCD_ERROR_COMPACTED when
 * @start_revision was compacted (*out_compact_revision then says from where
 * etcd still has history: a full resync is needed), UNAVAILABLE when the
 * member lost its leader, G_IO_ERROR_CANCELLED on @cancellable.
 * *out_next_revision: the revision to watch from next (one past the last
 * event delivered, or @start_revision). */
gboolean cg_etcd_watch (CgEtcd *etcd, GBytes *key, gboolean prefix, gint64 start_revision,
                        guint duration_ms, CgEtcdWatchFunc func, gpointer user_data,
                        GCancellable *cancellable, gint64 *out_next_revision,
                        gint64 *out_compact_revision, GError **error);

/* Like cg_etcd_watch; in addition @batch_done (nullable) is called after
 * the events of each watch message, with the revision of its last event.
 * etcd never splits the events of one revision across messages, so a
 * batch is whole revisions: the caller applies it as one unit.  Return
 * FALSE from @batch_done to end the watch (then TRUE is returned). */
typedef gboolean (*CgEtcdWatchBatchFunc) (gint64 revision, gpointer user_data);
gboolean cg_etcd_watch_batched (CgEtcd *etcd, GBytes *key, gboolean prefix,
                                gint64 start_revision, guint duration_ms, CgEtcdWatchFunc func,
                                CgEtcdWatchBatchFunc batch_done, gpointer user_data,
                                GCancellable *cancellable, gint64 *out_next_revision,
                                gint64 *out_compact_revision, GError **error);

/* The cluster's members, for status: each {"id": hex string, "name",
 * "peerURLs": [...], "clientURLs": [...]} (a member added but not started
 * yet has no name) (transfer full in *out_members). */
gboolean cg_etcd_member_list (CgEtcd *etcd, json_t **out_members, GError **error);

/* The status of the member at @endpoint (one of the client's endpoints),
 * asked of that member alone: {"endpoint", "id": hex, "leader": hex,
 * "version", "dbSize", "raftTerm", "raftIndex", "revision", "errors": [..]}
 * (transfer full in *out_status). */
gboolean cg_etcd_member_status (CgEtcd *etcd, const char *endpoint, json_t **out_status,
                                GError **error);

G_END_DECLS
