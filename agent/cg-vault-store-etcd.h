/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* CgVaultStore over etcd (issue 13): the cluster's records, sealing-key
 * rows, token HMACs and settings live in etcd under one prefix
 * P = "/credgate/<cluster-id>/"; this node's STATE_DIR/state.db is its
 * replica, and every read is answered from the replica alone.
 *
 * etcd layout written here (values JSON, nothing secret in the clear):
 *   P/rec/<name>  {"type","properties" (the JSON text),"version","created",
 *                  "updated","sealed": base64url of the sealed bytes}
 *   P/key/<kid>   {"created","current","retired"}
 *   P/tok/<name>  {"hmac": base64url (32 bytes),"created"}
 *   P/meta/<key>  {"value"} (among them "client_ca_cert": the client CA's
 *                 certificate, public; its key is the cluster secret
 *                 "clientca", wrapped to each node in the same txn)
 *   P/client/<serial>  {"name","spki","enrolled","expires","revoked"?,
 *                 "revokedReason"?}: a certificate the client CA signed
 *   P/enroll/<name>  {"hmac": base64url (32 bytes),"created","expires",
 *                 "validity"}: a pending enrollment code, as its HMAC
 * An enrollment uses up its code with a compare on P/enroll/<name>'s
 * mod_revision in the txn that records the certificate: one code, one
 * certificate, cluster-wide.  Everything else under P (node/, alive/,
 * wrap/, join/, pending/, ready) is
 * the member module's (agent/cg-cluster*.h); the applier hands those events
 * to the @other callback and keeps nothing of them.
 *
 * Writes: each is ONE etcd txn comparing the mod_revision of every key it
 * changes against the replica's (0: must not exist), so of two nodes
 * writing one name at once one wins and the other gets CG_ERROR_CONFLICT
 * (no update is lost, none is silently overwritten); a new current sealing
 * key also compares that no key row changed since the replica's last one
 * (one current key, even across nodes).  After the txn the write is applied
 * to the replica at its revision before the call returns (a client reads its
 * own write).  etcd unreachable, no leader, no quorum or no answer in time:
 * CG_ERROR_CLUSTER_UNAVAILABLE within 4.8 s of the request's arrival
 * (cg-write-clock.h; the time it waited for the vault's lock counted), so
 * a write fails within 5 s, also behind other writes: its quorum check
 * waits 2.5 s at most, and a write that was already waiting when another
 * found etcd unavailable is refused at once.  A txn sent to a leader that has
 * just lost its quorum stays in its raft log, and etcd may commit it when
 * the members come back (seen in the cluster tests, in the second after two
 * of three members stopped), although the caller was told it failed; so
 * each write first reads linearizably (the leader must hear from a quorum
 * to answer), and proposes its txn only then, within what is left of the
 * 4.8 s budget: without quorum the write fails and nothing was proposed.
 * Only a quorum lost between that read and the txn leaves the outcome
 * unknown; the error's message says so, and the watch brings the write if
 * it was made.  What is never seen is half of one write: a txn is all or
 * nothing.  The
 * other errors are the SQLite store's: NOT_FOUND, EXISTS, IO.
 *
 * What stays local to each node (never in etcd): the meta key "instance";
 * a token's last_used (token_touch), a client certificate's (client_touch);
 * the key use counters "opened" and
 * "lastOpened" (key_note_use: a write per decrypt would put etcd in the
 * read path; status shows them as this node's); the replica's own
 * bookkeeping: meta "cluster_applied_revision" and "cluster_prefix", and
 * the table cluster_revs (each replicated row's etcd mod_revision, and
 * tombstones of deleted ones until the applier has passed them).  Every
 * other meta key given to meta_set is written through etcd.
 *
 * The applier: a thread with its own SQLite connection (WAL) and its own
 * etcd client watches P from the last applied revision + 1 and applies
 * each watch message (whole revisions) in one SQLite transaction, skipping
 * an event whose revision is not above the row's recorded mod_revision (own
 * writes were applied already).  If etcd compacted past the applied
 * revision, or the replica was never synced on this prefix, a full resync:
 * a range of P at one revision, in pages, replaces the replica's cluster
 * rows in one SQLite transaction (local counters and last_used kept), and
 * the log says "resynced fully: etcd compacted past revision N".
 *
 * Thread-safety: the store's operations are called under the vault's lock
 * (one caller at a time); get_state may be called from any thread.  Free
 * the store without holding a lock its callbacks take: free waits for the
 * applier thread, which may be inside a callback. */

#include "agent/cg-vault-store.h"
#include "store/cg-etcd.h"

G_BEGIN_DECLS

typedef struct
{
  const char *const *endpoints; /* https URLs */
  const char *ca_file, *cert_file, *key_file;
  const char *prefix; /* "/credgate/<id>/" (must end in '/') */
  guint timeout_ms;   /* per etcd call; 0: 3000; above 4500 it is 4500 */
} CgClusterEtcdConfig;

/* Opens the etcd store on @db_path (this node's state.db, opened here with
 * cg_db_open; the applier opens its own connection); does NOT start the
 * watch and does not talk to etcd.  The config is copied. */
CgVaultStore *cg_vault_store_etcd_new (const char *db_path, const CgClusterEtcdConfig *cfg,
                                       GError **error);

/* Called from the applier thread after each applied watch message (no
 * store lock held), and from cg_vault_store_etcd_start's thread after the
 * full sync it makes.  @other: every event under P that is not rec/ key/ tok/
 * meta/, with the key in full (P included), borrowed for the call; after a
 * full sync, a PUT for each such key in the snapshot.  @changed: which
 * areas the revisions touched (CG_STORE_CHANGED_*, own writes included), and
 * the revision now applied. */
typedef void (*CgVaultStoreEtcdOther) (CgEtcdEventType type, const CgEtcdKv *kv, gpointer data);
typedef void (*CgVaultStoreEtcdChanged) (guint areas, gint64 revision, gpointer data);

enum
{
  CG_STORE_CHANGED_RECORDS = 1 << 0,
  CG_STORE_CHANGED_KEYS = 1 << 1,
  CG_STORE_CHANGED_TOKENS = 1 << 2,
  CG_STORE_CHANGED_META = 1 << 3,
  CG_STORE_CHANGED_CLIENTS = 1 << 4, /* client certificates, enrollment codes */
};

/* Adds the wrapped copies of a new key to the SAME etcd txn that records
 * it: key_add_current calls it with "seal/<kid>", meta_set
 * ("master_current", MKID) with "master/<MKID>" ("master/0" for ""). Called
 * on the caller's thread, inside the write.  FALSE + @error: nothing is
 * written. */
typedef gboolean (*CgVaultStoreEtcdKeyWraps) (const char *secret_id, CgEtcdTxn *txn,
                                              gpointer data, GError **error);

/* Sets the callbacks (all nullable), makes a full sync if the replica was
 * never synced on this prefix (CG_ERROR_CLUSTER_UNAVAILABLE when etcd cannot
 * be reached for it), then starts the applier thread.  The full sync makes
 * the replica's records, key rows, tokens and cluster settings exactly
 * etcd's: whatever this node held before and etcd does not is gone from
 * state.db (for `cluster init`, call push_all first; a joining node's own
 * records are replaced by the cluster's).  A replica that was
 * synced before starts even with etcd down: reads go on, the applier
 * retries. */
gboolean cg_vault_store_etcd_start (CgVaultStore *store, CgVaultStoreEtcdOther other,
                                    CgVaultStoreEtcdChanged changed,
                                    CgVaultStoreEtcdKeyWraps key_wraps, gpointer data,
                                    GError **error);

/* Record writes (record_put, record_reseal) also compare meta
 * master_current's mod_revision with the replica's: bytes sealed under a
 * master key cannot land after another node made a newer one current (its
 * key rotate --all's last pass would miss them).  When that compare lost,
 * the store refreshes the replica, calls @func with "master/<MKID>" of the
 * master key now current and the store's etcd client (borrowed; may be
 * NULL) so this node's keyring holds it (its wrap may not be installed
 * yet), then calls the seal func once more and retries (the vault's seal
 * func seals under the replica's master_current).  @func is called on the
 * caller's thread, inside the write (the vault's lock held).  Nullable. */
typedef gboolean (*CgVaultStoreEtcdMasterNeeded) (const char *secret_id, CgEtcd *etcd,
                                                  gpointer data, GError **error);
void cg_vault_store_etcd_set_master_needed (CgVaultStore *store,
                                            CgVaultStoreEtcdMasterNeeded func, gpointer data);

/* Writes the replica's records, key rows, tokens and settings (every meta
 * key but the node-local ones listed above: "keys_created", "master_current",
 * "master_old", …) into etcd under the prefix, in batches of txns that each
 * compare create_revision == 0 on every key: it never overwrites.  Refused
 * with CG_ERROR_EXISTS, before writing anything, when rec/ key/ tok/ or meta/
 * under the prefix already hold a key.  For `cluster init`, before start
 * (after start it is refused: the replica is etcd's by then);
 * a failure half-way leaves the keys of the batches written (the caller
 * deletes the prefix: no "ready" key marks it done). */
gboolean cg_vault_store_etcd_push_all (CgVaultStore *store, GError **error);

/* A new etcd client with this store's config, for the member module's own
 * calls (transfer full; not thread-safe: one per thread). */
CgEtcd *cg_vault_store_etcd_client (CgVaultStore *store, GError **error);

/* Before a write takes the vault's lock, from any thread (the store keeps
 * its own locks): may it go on to its own quorum check under the lock?
 * While etcd is not known to be unavailable, TRUE at once.  Once a check
 * found it unavailable (and none got through since), the writes are
 * checked here, one at a time, refused at once when a check failed after
 * their arrival (cg-write-clock.h), so that during an outage no refused
 * write holds the vault's lock, which reads wait on.  FALSE with
 * CG_ERROR_CLUSTER_UNAVAILABLE. */
gboolean cg_vault_store_etcd_write_ready (CgVaultStore *store, GError **error);

typedef struct
{
  gint64 applied_revision; /* the replica holds every change under P up to it */
  gint64 etcd_revision;    /* the latest revision seen from etcd (a write's, an event's,
                            * a sync's); revisions that touched nothing under P leave
                            * applied_revision below it without any lag */
  gint64 last_contact;     /* unix seconds of the last answer from etcd, 0: none */
  gboolean writable;       /* the last write or watch round reached etcd's quorum */
  gint64 behind_since;     /* unix seconds since which this node has known of a revision
                            * under P that its replica does not hold yet (to within a
                            * second); 0: it holds every one it has seen */
} CgVaultStoreEtcdState;

void cg_vault_store_etcd_get_state (CgVaultStore *store, CgVaultStoreEtcdState *out);

/* @revision, one that changed something under the prefix (the heartbeat's
 * own put), seen by the caller: the replica is behind until it applies it. */
void cg_vault_store_etcd_note_revision (CgVaultStore *store, gint64 revision);

/* TRUE when @store is the etcd store. */
gboolean cg_vault_store_is_etcd (CgVaultStore *store);

G_END_DECLS
