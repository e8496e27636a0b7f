/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-vault.h"
#include "agent/cg-vault-store.h"

#include <gnutls/x509.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* The vault's core is cg-vault.c (open, keys, records, EncryptedCredential)
 * and cg-vault-keys.c (rotation, retirement).  The modules built on it,
 * tokens (cg-vault-tokens.c), key use (cg-vault-key-use.c), client
 * certificates (cg-vault-clients.c) and escrow (cg-escrow.c), depend on the
 * core and never the reverse: the core names none of them and tells them
 * what happened through the hooks they registered (CgVaultHooks).
 * cg_vault_open (cg-vault-modules.c) is where the core and the modules are
 * put together; backups (cg-vault-backup.c) sit on top of all of them. */
struct CgVault
{
  GMutex lock;                /* guards everything below, and the modules' state */
  char *state_dir;
  sqlite3 *db;                /* for the modules not yet behind the store */
  CgVaultStore *store;        /* records, key rows, tokens: cg-vault-store.h */
  char *instance;             /* this state directory's id in the keyring */
  /* Loaded keys (NULL until the keyring gives them). */
  CgBuf *master;              /* the current master key */
  char *master_id;            /* its id (cg-record-seal.h; "0" for the first) */
  GHashTable *old_masters;    /* id → CgBuf: earlier master keys that records may still be
                               * sealed under while key rotate --all runs (meta "master_old") */
  GHashTable *seal_keys;      /* kid → CgSealKey */
  CgSealKey *current;         /* borrowed from seal_keys */
  guint key_generation;       /* cg_keystore_generation () the keys were checked at */
  gint last_key_error;        /* CG_ERROR code of the last failed load, -1 if none */
  GArray *hooks;              /* VaultHook (cg-vault.c), in registration order */
};

/* What the core tells the modules, with the lock held. */
typedef enum
{
  CG_VAULT_KEYS_LOADED,      /* keys were just loaded: the keyring is unlocked */
  CG_VAULT_KEYS_CHANGED,     /* a sealing key was made, rotated or retired */
  CG_VAULT_RESTORED,         /* a restore may have replaced any key */
  CG_VAULT_CLIENT_CA_RESTORED, /* a restore replaced the client CA */
  CG_VAULT_FLUSH,            /* about to read seal_keys' counters, or to close */
} CgVaultEvent;

typedef struct
{
  /* With the lock held; may be NULL. */
  void (*event) (CgVault *vault, CgVaultEvent event, gpointer data);
  /* A sealing key opened a value; without the lock (takes it if it needs
   * it); may be NULL. */
  void (*key_opened) (CgVault *vault, const char *kid, gpointer data);
  /* At cg_vault_free, after a last CG_VAULT_FLUSH; may be NULL. */
  GDestroyNotify free;
} CgVaultHooks;

/* Registers @hooks (static, also the key for cg_vault_get_hooks_data) with
 * @data, owned by the vault from now on (freed with @hooks->free). */
void cg_vault_add_hooks (CgVault *vault, const CgVaultHooks *hooks, gpointer data);
/* The data registered with @hooks, or NULL (borrowed). */
gpointer cg_vault_get_hooks_data (CgVault *vault, const CgVaultHooks *hooks);
/* Tells every module (lock held). */
void cg_vault_emit_locked (CgVault *vault, CgVaultEvent event);

/* The core alone: the state directory, state.db, this agent's instance id;
 * no module registered (cg_vault_open adds them). */
CgVault *cg_vault_core_open (const char *state_dir, GError **error);

/* The modules put themselves on a core vault. */
gboolean cg_vault_tokens_attach (CgVault *vault, GError **error);
void cg_vault_key_use_attach (CgVault *vault);
void cg_vault_clients_attach (CgVault *vault);
void cg_vault_escrow_attach (CgVault *vault);

char *cg_vault_now_rfc3339 (void);
/* With the lock held: a new sealing key into the keyring first, then the
 * store makes it the current one (@first: and records that keys were
 * made).  A crash between the two leaves an unused keyring item, never a
 * row that names no key (transfer full). */
CgSealKey *cg_vault_new_seal_key_locked (CgVault *vault, gboolean first, GError **error);
/* With the lock held: drop the loaded keys (cg_vault_reload_keys). */
void cg_vault_forget_keys_locked (CgVault *vault);
/* With the lock held and keys loaded: the loaded master key is the store's
 * master_current, the keys loaded again if another node's key rotate --all
 * made a newer one current (records are sealed under it alone). */
gboolean cg_vault_sealing_master_locked (CgVault *vault, GError **error);
/* With the lock held: meta master_current (CG_RECORD_MASTER_FIRST when
 * unset) and master_old ("" when unset; ids separated by spaces). */
gboolean cg_vault_master_meta_locked (CgVault *vault, char **current, char **old,
                                      GError **error);
/* With the lock held: an unfinished key rotate --all (meta master_old
 * names earlier master keys): {"unfinished": true, "master", "oldMasters":
 * [ids], "credentialsUnderOldMaster": N, "finishWith": command}; an empty
 * array when none is unfinished; NULL + @error when the store cannot say. */
json_t *cg_vault_rotation_state_locked (CgVault *vault, GError **error);
/* With the lock held: keys loaded (or the reason why not). */
/* Meta keys: the current master key's id (absent: "0"), and the ids,
 * space-separated, of the earlier ones still loaded until a key rotate
 * --all has re-sealed every record ("" or absent: none). */
#define CG_VAULT_META_MASTER_CURRENT "master_current"
#define CG_VAULT_META_MASTER_OLD "master_old"
/* With the lock held and keys loaded: open a record's sealed bytes with
 * whichever loaded master key they name (transfer full). */
CgBuf *cg_vault_open_record_locked (CgVault *vault, const char *name, gint64 version,
                                    GBytes *sealed, GError **error);
gboolean cg_vault_ensure_keys (CgVault *vault, GError **error);
/* The HMAC key for tokens, from STATE_DIR/token.key (borrowed; lock held:
 * a restore replaces it in place). */
CgBuf *cg_vault_tokens_key (CgVault *vault);
/* HMAC-SHA256 under the token key (lock held): tokens and enrollment
 * codes are stored only as this. */
void cg_vault_token_hmac (CgVault *vault, const char *text, gsize len, guint8 out[32]);
/* @prefix + base64url of 32 random bytes (GNUTLS_RND_KEY): a token or an
 * enrollment code, 4 + 43 characters for a 4-character prefix (transfer
 * full; wipe it). */
char *cg_vault_random_text (const char *prefix, GError **error);
/* For backups (cg-vault-backup.c): the SPKI pin of a PEM certificate
 * (transfer full); does the P-256 scalar @d belong to the PEM certificate? */
char *cg_vault_clients_ca_pin (const char *pem, GError **error);
gboolean cg_vault_clients_ca_matches (const char *pem, const CgBuf *d);
/* cg_vault_decrypt, with the opening counted as a use of the key or not
 * (a rewrap moves a value off its key: not a use that should keep the key
 * from being retired). */
CgBuf *cg_vault_open_jwe (CgVault *vault, const char *jwe, const char *expected_ctx,
                          gboolean count_use, char **kid_out, GError **error);

G_END_DECLS
