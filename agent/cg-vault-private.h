/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-vault.h"

#include <gnutls/x509.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* Shared by cg-vault.c (keys, records) and cg-vault-tokens.c. */
struct CgVault
{
  GMutex lock;                /* guards everything below */
  char *state_dir;
  sqlite3 *db;
  char *instance;             /* this state directory's id in the keyring */
  CgBuf *token_key;           /* HMAC key for tokens, from STATE_DIR/token.key */
  /* Loaded keys (NULL until the keyring gives them). */
  CgBuf *master;
  GHashTable *seal_keys;      /* kid → CgSealKey */
  CgSealKey *current;         /* borrowed from seal_keys */
  guint key_generation;       /* cg_keystore_generation () the keys were checked at */
  gint last_key_error;        /* CG_ERROR code of the last failed load, -1 if none */
  GHashTable *key_use;        /* kid → openings not yet written (cg-vault-key-use.c) */
  gnutls_x509_crt_t client_ca; /* the client CA certificate, once read (cg-vault-clients.c) */
  GPtrArray *client_ca_old;    /* ones a restore replaced, freed with the vault */
};

char *cg_vault_now_rfc3339 (void);
/* A cg_db_transaction body: @kid (a string) becomes the one current
 * sealing key in seal_keys. */
gboolean cg_vault_add_current_key_txn (sqlite3 *db, gpointer kid, GError **error);
/* With the lock held: keys loaded (or the reason why not). */
gboolean cg_vault_ensure_keys (CgVault *vault, GError **error);
gboolean cg_vault_tokens_init (CgVault *vault, GError **error);
/* HMAC-SHA256 under the token key (lock held): tokens and enrollment
 * codes are stored only as this. */
void cg_vault_token_hmac (CgVault *vault, const char *text, gsize len, guint8 out[32]);
/* @prefix + base64url of 32 random bytes (GNUTLS_RND_KEY): a token or an
 * enrollment code, 4 + 43 characters for a 4-character prefix (transfer
 * full; wipe it). */
char *cg_vault_random_text (const char *prefix, GError **error);
/* Keys were just loaded, so the keyring is unlocked: make the client CA if
 * there is none (lock held; a failure is logged, enrollment retries). */
void cg_vault_clients_created_keys_locked (CgVault *vault);
void cg_vault_clients_free_locked (CgVault *vault);
/* For backups (cg-vault-backup.c): a restore replaced the client CA (lock
 * held; the certificate is read again); the SPKI pin of a PEM certificate
 * (transfer full); does the P-256 scalar @d belong to the PEM certificate? */
void cg_vault_clients_ca_changed_locked (CgVault *vault);
char *cg_vault_clients_ca_pin (const char *pem, GError **error);
gboolean cg_vault_clients_ca_matches (const char *pem, const CgBuf *d);
/* cg_vault_decrypt, with the opening counted as a use of the key or not
 * (a rewrap moves a value off its key: not a use that should keep the key
 * from being retired). */
CgBuf *cg_vault_open_jwe (CgVault *vault, const char *jwe, const char *expected_ctx,
                          gboolean count_use, char **kid_out, GError **error);
/* A sealing key opened a value (takes the lock); write what gathered
 * (lock held); drop it (at free, after a flush). */
void cg_vault_key_use_note (CgVault *vault, const char *kid);
void cg_vault_key_use_flush (CgVault *vault);
void cg_vault_key_use_clear (CgVault *vault);

G_END_DECLS
