/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* CgVaultStore: where the vault keeps what it keeps outside the keyring:
 * sealed credential records, the sealing keys' rows (which is current,
 * which retired, how often each opened a value), token HMACs and a few
 * named settings.  The vault asks "put this sealed record", "which keys
 * are there", never "which backend am I on".
 *
 * Two implementations: SQLite (cg_vault_store_sqlite_new,
 * STATE_DIR/state.db, every change committed before the call returns), and
 * for the cluster (issue 13) cg-vault-store-etcd.h, which keeps the same
 * SQLite file as a replica of etcd (store/cg-etcd.h) and writes through
 * etcd; what it needs from this interface, and why the operations are
 * shaped as they are:
 *   - Whole operations, not SQL or transactions: each write below is one
 *     etcd txn there (compare on the key's mod_revision, so of two nodes
 *     writing one name at once one wins and the other gets
 *     CG_ERROR_CONFLICT; no update is lost), one SQLite transaction here.
 *   - record_put bumps the version itself and asks the vault to seal under
 *     it (CgVaultSealFunc): the version is bound into the sealed bytes, so
 *     it must be chosen where the write is decided (inside the SQLite
 *     transaction; from the revision read before the etcd txn, sealing
 *     again if the txn loses).
 *   - Reads come from the local SQLite file in both: the etcd store
 *     applies its watch (from the last applied revision, kept in meta)
 *     to the same tables, and a write returns only once the replica has
 *     applied that revision, so a client reads its own write.
 *   - Every write that cannot reach etcd's quorum fails within seconds
 *     with CG_ERROR_CLUSTER_UNAVAILABLE ("cluster_unavailable"), never
 *     hangs; reads go on.
 *   - What goes through here is what etcd may hold: sealed bytes, HMACs,
 *     key ids and states, never a key or a plaintext.
 * Left outside for now, on the SQLite file directly: escrow's bookkeeping
 * (cg-escrow.c) and backup/restore (cg-vault-backup.c, one transaction
 * over every table, refused on a cluster member); the cluster moves them
 * here as it needs them.
 *
 * The caller serialises calls (the vault's lock).  Errors are CG_ERROR:
 * CG_ERROR_NOT_FOUND for a missing name, CG_ERROR_EXISTS for a taken one,
 * CG_ERROR_IO for the storage itself (full disk, read-only, damaged). */
typedef struct CgVaultStore CgVaultStore;

/* Seal the record's secret for @version (transfer full). */
typedef GBytes *(*CgVaultSealFunc) (gint64 version, gpointer user_data);
/* Re-seal a record's secret (key rotation): gets the sealed bytes stored
 * for @version and returns their replacement for the same version
 * (transfer full), or NULL with @error set to stop. */
typedef GBytes *(*CgVaultResealFunc) (GBytes *old_sealed, gint64 version, gpointer data,
                                      GError **error);

typedef struct
{
  /* Records.  Metadata is {"name","type","properties","version","created",
   * "updated"}; @sealed (nullable) receives the sealed bytes. */
  json_t *(*record_get) (CgVaultStore *store, const char *name, GBytes **sealed,
                         GError **error);
  json_t *(*record_list) (CgVaultStore *store, GError **error); /* metadata, by name */
  /* Store or replace @name as version N+1 (1 for a new name), sealed by
   * @seal; @now is the update time, and the creation time of a new name.
   * Returns the metadata stored. */
  json_t *(*record_put) (CgVaultStore *store, const char *name, const char *type,
                         const char *properties_json, const char *now, CgVaultSealFunc seal,
                         gpointer seal_data, GError **error);
  gboolean (*record_delete) (CgVaultStore *store, const char *name, GError **error);
  /* Replace @name's sealed bytes without changing its version or metadata,
   * if it is still at @version: @reseal gets the old sealed bytes and
   * returns the new ones (NULL + error stops, nothing written).
   * CG_ERROR_CONFLICT when the record changed meanwhile (the caller
   * re-reads); CG_ERROR_NOT_FOUND when it is gone.  One SQLite
   * transaction here; one etcd txn comparing the key's mod_revision in the
   * cluster (key rotation re-seals every record through this, batch by
   * batch, while PUTs go on). */
  gboolean (*record_reseal) (CgVaultStore *store, const char *name, gint64 version,
                             CgVaultResealFunc reseal, gpointer data, GError **error);

  /* Sealing keys: [{"kid","created","current","retired","opened",
   * "lastOpened" (null until the key opened a value)}] oldest first. */
  json_t *(*key_list) (CgVaultStore *store, GError **error);
  /* @kid becomes the one current key; with @first, the store also records
   * that keys were made (meta "keys_created"), in the same write. */
  gboolean (*key_add_current) (CgVaultStore *store, const char *kid, const char *now,
                               gboolean first, GError **error);
  gboolean (*key_retire) (CgVaultStore *store, const char *kid, GError **error);
  /* @count more openings, the last at @last. */
  gboolean (*key_note_use) (CgVaultStore *store, const char *kid, gint64 count,
                            const char *last, GError **error);

  /* Tokens, by HMAC (32 bytes). */
  gboolean (*token_add) (CgVaultStore *store, const char *name, const guint8 *hmac,
                         const char *now, GError **error);
  /* The name (transfer full) and @last_used (nullable, transfer full), or
   * NULL without an error when no token has this HMAC. */
  char *(*token_find) (CgVaultStore *store, const guint8 *hmac, char **last_used,
                       GError **error);
  gboolean (*token_touch) (CgVaultStore *store, const char *name, const char *when,
                           GError **error);
  /* [{"name","created","last_used" (or null)}] by name. */
  json_t *(*token_list) (CgVaultStore *store, GError **error);
  gboolean (*token_delete) (CgVaultStore *store, const char *name, GError **error);

  /* Named settings (this agent's instance id, "keys_created"); get gives
   * NULL without an error when absent (transfer full). */
  char *(*meta_get) (CgVaultStore *store, const char *key, GError **error);
  gboolean (*meta_set) (CgVaultStore *store, const char *key, const char *value,
                        GError **error);

  /* Client certificates (cg-vault-clients.c), so that a client enrolled on
   * one node of a cluster is one on every node.  The client CA's
   * certificate (public) is the setting "client_ca_cert" (meta_get,
   * meta_set); in the cluster, setting it also wraps the CA's key (cluster
   * secret "clientca") to every node in the same write, as a new master
   * key is.  Codes are kept by their HMAC (32 bytes), never in the clear;
   * times are RFC 3339 UTC text, compared as text.
   *
   * A pending enrollment code for @name, for certificates of @validity_s:
   * a new one replaces the name's last. */
  gboolean (*client_code_add) (CgVaultStore *store, const char *name, const guint8 *hmac,
                               const char *created, const char *expires, gint64 validity_s,
                               GError **error);
  /* The name (transfer full) and the validity the live code with @hmac
   * grants, or NULL without an error when no code has it or it expired at
   * @now (the SQLite store drops an expired one on the way). */
  char *(*client_code_find) (CgVaultStore *store, const guint8 *hmac, const char *now,
                             gint64 *validity_s, GError **error);
  /* One write, all or nothing: uses up the code with @hmac, which must
   * still be @name's pending code (CG_ERROR_NOT_FOUND when it is gone:
   * used meanwhile, on this node or another, or replaced), marks @name's
   * live certificates superseded at @now and records the new one
   * (@serial, its key's SPKI pin @spki, until @expires).  Of two nodes
   * redeeming one code at once, exactly one succeeds. */
  gboolean (*client_enroll) (CgVaultStore *store, const guint8 *hmac, const char *name,
                             const char *serial, const char *spki, const char *now,
                             const char *expires, GError **error);
  /* The certificate with @serial: {"name","spki","enrolled","expires",
   * "revoked","revokedReason","lastUsed" (the last three null when
   * unset)}, or NULL without an error when there is none. */
  json_t *(*client_get) (CgVaultStore *store, const char *serial, GError **error);
  /* Its last use (this node's own in the cluster, like a token's). */
  gboolean (*client_touch) (CgVaultStore *store, const char *serial, const char *when,
                            GError **error);
  /* `client list`: every certificate by name and enrollment
   * ({"name","serial","fingerprint","enrolled","expires","revoked"?,
   * "lastUsed"?,"state"}: active, expired at @now, revoked or superseded),
   * then the codes still live at @now ({"name","codeCreated",
   * "codeExpires","state": "pending"}). */
  json_t *(*client_list) (CgVaultStore *store, const char *now, GError **error);
  /* One write: @name's live certificates revoked at @now and its pending
   * code dropped; CG_ERROR_NOT_FOUND when it has neither. */
  gboolean (*client_revoke) (CgVaultStore *store, const char *name, const char *now,
                             GError **error);

  /* For status: credentials, tokens, client certificates valid at @now. */
  gboolean (*counts) (CgVaultStore *store, const char *now, gint64 *credentials,
                      gint64 *tokens, gint64 *clients);

  void (*free) (CgVaultStore *store);
} CgVaultStoreOps;

struct CgVaultStore
{
  const CgVaultStoreOps *ops;
};

/* The SQLite store on an open state database (cg_db_open), borrowed: the
 * caller closes it after freeing the store (transfer full). */
CgVaultStore *cg_vault_store_sqlite_new (sqlite3 *db);

G_END_DECLS
