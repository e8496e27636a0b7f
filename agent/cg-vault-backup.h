/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-escrow.h"
#include "agent/cg-vault.h"

G_BEGIN_DECLS

/* Backup and restore of a vault's keys and records (cg-vault-backup.c),
 * and key escrow to admins' public keys (cg-escrow.c).
 *
 * The payload (the encrypted part of a backup file, also what an escrow
 * recovery assembles) is JSON:
 *   {"format": 2 (1 before client certificates), "created", "sourceInstance",
 *    "master": B64,                                   the record master key
 *    "masterId": ID,  format 3 only: the master key's id when it is not the
 *                     first ("0"), i.e. after key rotate --all; every record
 *                     in the payload is sealed under this one key
 *    "sealKeys": [{"kid", "created", "current", "retired", "d": B64}],
 *    "credentials": [{"name", "type", "properties" (JSON text), "version",
 *                     "created", "updated", "sealed": B64}],  sealed as stored
 *    "tokenKey": B64, "tokens": [{"name", "hmac": B64, "created", "last_used"}],
 *    "tls": {"chain": PEM, "key": PEM, "origin": "generated"|"installed"},
 *    "clientCa": {"cert": PEM, "d": B64},            format 2: the client CA
 *    "clients": [{"serial", "name", "spki", "enrolled", "expires", "revoked"?,
 *                 "revokedReason"?, "lastUsed"?}]}   format 2: what it signed
 * credentials, tokenKey, tokens, tls, clientCa and clients are optional (an
 * escrow recovery has none; format 1, before client certificates, has no
 * clientCa or clients and still restores).  B64 is standard base64.  The vault carries "tls" (the served
 * certificate and its key, which the agent's TLS store owns) without
 * reading it. */

typedef enum
{
  CG_RESTORE_MERGE = 1 << 0,     /* onto an agent in use (see below) */
  CG_RESTORE_NO_TOKENS = 1 << 1, /* leave the backup's tokens (and token key), client CA
                                  * and client certificates out */
} CgRestoreFlags;

/* The whole vault (every sealing key, retired ones too, read from the
 * keyring) as a backup file under @passphrase, with @tls (nullable) as the
 * payload's "tls" and @tls_summary (nullable) as the clear summary's
 * "certificate".  @summary (nullable out) receives the clear summary
 * (transfer full). */
GBytes *cg_vault_backup_export (CgVault *vault, const char *passphrase, guint32 iterations,
                                json_t *tls, json_t *tls_summary, json_t **summary,
                                GError **error);

/* Decrypt a backup file and restore it (see cg_vault_restore_payload).
 * @tls (nullable out) receives the payload's "tls", if any, once the
 * restore succeeded (transfer full). */
json_t *cg_vault_backup_import (CgVault *vault, const guint8 *file, gsize len,
                                const char *passphrase, CgRestoreFlags flags, json_t **tls,
                                GError **error);

/* Restore a payload.  Modes, decided from the agent's state (and
 * CG_RESTORE_MERGE):
 *   fresh    no credentials and no tokens, at most the one key a first
 *            start made: the backup's master key and sealing keys become
 *            this agent's (its own first key stays, not current), records
 *            and tokens (with the token key) are copied as they are, unless
 *            CG_RESTORE_NO_TOKENS.
 *   recover  state.db names keys that the keyring lacks (a copy of the old
 *            host's state.db): the keys go into the keyring; the backup's
 *            master key must open every record state.db holds.
 *   merge    (only with CG_RESTORE_MERGE) a live agent: keys it lacks are added (its
 *            current key stays current), records are re-sealed under its
 *            own master key; tokens are not merged.  A name that exists
 *            on both sides is a conflict unless the record is identical.
 *            A fresh agent restoring its own backup keeps its key, in the
 *            state the backup gives it (current, most likely).
 * Everything is checked before anything is written; then keyring items,
 * then one database transaction.  Before it commits, the result must hold
 * exactly one current sealing key that loads and seals and opens a value
 * (and a master key that seals and opens a record); otherwise the
 * transaction is rolled back and the keyring items and token key are put
 * back as they were.  A conflict lists the names.  Returns
 * {"mode", "keysAdded", "credentialsAdded", "credentialsSkipped",
 *  "tokensAdded", "tokensSkipped", "tokensSkippedReason" ("asked", "merge",
 *  "in-use"; absent when none were skipped), "tokens": [{"name", "created",
 *  "lastUsed"}] (the ones restored: a token revoked after the backup was
 *  made is among them), "clientsAdded", "clientsSkipped",
 *  "clientsSkippedReason" (as for tokens), "clients": [{"name", "serial",
 *  "enrolled", "expires", "revoked"}] (the client certificates restored, with
 *  the backup's client CA, which replaces the agent's own only while that has
 *  signed nothing or is the same), "kid"} (transfer full). */
json_t *cg_vault_restore_payload (CgVault *vault, json_t *payload, CgRestoreFlags flags,
                                  GError **error);

G_END_DECLS
