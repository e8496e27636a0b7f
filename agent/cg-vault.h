/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "common/cg-secure.h"
#include "jose/cg-jwe.h"

G_BEGIN_DECLS

/* The agent's durable state: key material in the Secret Service (libsecret),
 * sealed credential records and token HMACs in SQLite (STATE_DIR/state.db,
 * WAL).  Every call is thread-safe; every change is committed before it
 * returns TRUE/non-NULL.  Errors are in CG_ERROR.
 *
 * Key rules: keys are created only when the database records that none were
 * ever made *and* the keyring collection is verifiably unlocked.  A locked
 * collection gives CG_ERROR_LOCKED, no Secret Service CG_ERROR_UNAVAILABLE,
 * keys recorded but absent from an unlocked keyring CG_ERROR_KEYS_MISSING.
 * Every key-needing call retries the keyring when keys are not yet loaded,
 * so unlocking recovers without a restart. */
typedef struct CgVault CgVault;

CgVault *cg_vault_open (const char *state_dir, GError **error);
void cg_vault_free (CgVault *vault);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgVault, cg_vault_free)

/* TRUE when keys are loaded (trying the keyring once more if they are not);
 * otherwise the reason in @error. */
gboolean cg_vault_keys_ready (CgVault *vault, GError **error);
/* "ready", "locked", "unavailable" or "keys_missing" (static). */
const char *cg_vault_keys_state_name (CgVault *vault);
/* Drop the loaded keys: the next call that needs them reads the keyring
 * and the store again (a cluster node after another node made or retired
 * a key, or after a key was installed into this node's keyring). */
void cg_vault_reload_keys (CgVault *vault);
/* The current sealing key's public JWK with kid, or NULL (transfer full). */
json_t *cg_vault_sealing_jwk (CgVault *vault, GError **error);
/* The current sealing key's kid, or NULL when keys are not loaded
 * (transfer full).  Cheap: no JSON, no keyring call. */
char *cg_vault_current_kid (CgVault *vault);

/* Records.  @secret is a JSON string or an object of strings; it is sealed
 * under the master key with the name and version bound in.  Metadata is
 * {"name","type","properties","version","created","updated"} with RFC 3339
 * UTC timestamps; never the secret. */
json_t *cg_vault_put (CgVault *vault, const char *name, const char *type, json_t *properties,
                      json_t *secret, GError **error);
json_t *cg_vault_get (CgVault *vault, const char *name, GError **error);
json_t *cg_vault_list (CgVault *vault, GError **error);                  /* array of metadata */
gboolean cg_vault_delete (CgVault *vault, const char *name, GError **error);
/* Metadata plus "secret": for the admin socket only. */
json_t *cg_vault_resolve (CgVault *vault, const char *name, GError **error);

/* EncryptedCredential with the current sealing key. */
char *cg_vault_encrypt (CgVault *vault, const guint8 *value, gsize len, const char *ctx,
                        GError **error);
/* Open a value sealed to any key this agent holds; @kid_out (nullable)
 * receives its kid.  Failures of the crypto are one CG_ERROR_DECRYPT. */
CgBuf *cg_vault_decrypt (CgVault *vault, const char *jwe, const char *expected_ctx,
                         char **kid_out, GError **error);

/* Open a secret that a client (the browser page) sealed to this agent for
 * storing: @ctx is required and must match; the opening is not counted as
 * a use of the key (the value is not kept anywhere as a JWE). */
CgBuf *cg_vault_open_for_store (CgVault *vault, const char *jwe, const char *ctx,
                                GError **error);

/* Tokens: "cgt_" + base64url(32 random bytes).  Only HMAC-SHA256(token_key,
 * token) is stored; the token key is STATE_DIR/token.key (0600), not in the
 * keyring, so authentication still works while the keyring is locked. */
char *cg_vault_token_create (CgVault *vault, const char *name, GError **error);
json_t *cg_vault_token_list (CgVault *vault, GError **error);  /* [{"name","created","last_used"}] */
gboolean cg_vault_token_revoke (CgVault *vault, const char *name, GError **error);
/* The token's name if valid (transfer full), else NULL.  Constant work for
 * well-formed and malformed tokens alike. */
char *cg_vault_token_check (CgVault *vault, const char *token);

/* Client certificates (cg-vault-clients.c).  An enrollment code is
 * "cge_" + base64url(32 random bytes), single use, lasting @ttl_s; only its
 * HMAC is stored, one pending code per name.  Enrolling with it signs the
 * client's CSR with the client CA (its key in the secret store, so the
 * keyring must be unlocked) for @validity_s, supersedes the name's earlier
 * certificates and returns {"name","certificate","serial","fingerprint",
 * "expires","ca"}.  A bad code is one CG_ERROR_FORBIDDEN.  The check, run on
 * every request, gives the enrolled name of a certificate this agent issued
 * that is neither expired, revoked nor superseded, or CG_ERROR_FORBIDDEN with
 * the reason.  list: [{"name","serial","fingerprint","enrolled","expires",
 * "revoked","lastUsed","state"}] with state active, expired, revoked or
 * superseded, and {"name","codeCreated","codeExpires","state":"pending"}. */
#define CG_VAULT_CODE_TTL_MAX (7 * 24 * 3600)
#define CG_VAULT_CLIENT_VALIDITY_MAX ((gint64) 3650 * 24 * 3600)
char *cg_vault_client_code_create (CgVault *vault, const char *name, gint64 ttl_s,
                                   gint64 validity_s, char **expires_out, GError **error);
/* The name a live code was made for, or NULL; consumes nothing. */
char *cg_vault_client_code_name (CgVault *vault, const char *code);
json_t *cg_vault_client_enroll (CgVault *vault, const char *code, const char *csr,
                                gsize csr_len, GError **error);
char *cg_vault_client_check (CgVault *vault, const guint8 *der, gsize len, GError **error);
json_t *cg_vault_client_list (CgVault *vault, GError **error);
gboolean cg_vault_client_revoke (CgVault *vault, const char *name, GError **error);

/* Sealing keys.  Rotation makes a new current key; older keys keep
 * opening what was sealed to them.  Retiring a key stops it from opening
 * anything (it stays in the keyring for backups); the current key cannot be
 * retired, nor (unless @force) one that opened a value in the last
 * CG_VAULT_RETIRE_QUIET_DAYS days: something out there still uses it.
 * list: [{"kid","created","ageDays","current","retired","opened","lastOpened"}],
 * opened counting the values the key opened (decrypt, verify, rewrap). */
#define CG_VAULT_RETIRE_QUIET_DAYS 30
json_t *cg_vault_key_list (CgVault *vault, GError **error);
char *cg_vault_key_rotate (CgVault *vault, GError **error);            /* the new kid */
gboolean cg_vault_key_retire (CgVault *vault, const char *kid, gboolean force, GError **error);
/* Full rotation (after a node left a cluster, or a suspected leak): a new
 * current sealing key and a new master key; every stored record re-sealed
 * under the new master key, in batches with the lock released between
 * them (PUTs go on, and seal under the new key).  The old master key stays
 * loaded until every record is re-sealed, so no record is ever without a
 * key that opens it; then it is retired (dropped from the state and
 * removed from the keyring).  Cut short (killed, keyring locked), the
 * agent keeps the old key loaded across restarts and the next call
 * finishes the job instead of starting another.  Older sealing keys keep
 * opening the EncryptedCredentials made with them.  @progress (nullable)
 * is called with the lock not held after each batch.  Returns {"master":
 * new id, "kid": the current sealing key, "retiredMasters": [ids],
 * "resumed": bool, "credentials": N, "resealed": N} (transfer full). */
typedef void (*CgVaultRotateProgress) (gint64 done, gint64 total, gpointer data);
json_t *cg_vault_key_rotate_all (CgVault *vault, CgVaultRotateProgress progress, gpointer data,
                                 GError **error);
/* Open @jwe with whichever key it was sealed to and seal the same value,
 * with the same ctx, to the current key; the plaintext never leaves. */
char *cg_vault_rewrap (CgVault *vault, const char *jwe, const char *expected_ctx,
                       GError **error);

/* Counts for status: {"credentials":N,"tokens":N,"keys":state,"kid":...}. */
json_t *cg_vault_status (CgVault *vault);

G_END_DECLS
