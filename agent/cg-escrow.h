/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-vault.h"

G_BEGIN_DECLS

/* Escrow: STATE_DIR/escrow/recipients/RKID.jwk holds each recipient's
 * public P-256 JWK; STATE_DIR/escrow/RKID/master.jwe and seal-KID.jwe hold
 * each key sealed to that recipient (cg_jwe_seal, ctx "credgate-escrow"),
 * plaintext {"credgateEscrow": 1, "instance", "kind", "kid", "created",
 * "seq", "key": B64}.  All files 0600, written atomically. */
#define CG_ESCROW_CTX "credgate-escrow"

/* Register @jwk (public only) and escrow every existing key to it.
 * Returns {"recipient": RKID, "keys": N} (transfer full). */
json_t *cg_vault_escrow_add (CgVault *vault, json_t *jwk, GError **error);
/* {"recipients": [{"recipient", "keys": [{"kind", "kid", "escrowed"}],
 *  "complete"}]} (transfer full). */
json_t *cg_vault_escrow_status (CgVault *vault, GError **error);
/* With the lock held, after a key was made (create, rotate, restore):
 * escrow whatever is not yet escrowed.  Best effort: a failure is logged,
 * never fails the key operation (escrow status shows the gap). */
void cg_vault_escrow_sync_locked (CgVault *vault);

/* credgatectl's side: open every escrow file in @dir (an escrow folder,
 * or its RKID subfolder) that is sealed to @recipient (a private key) and
 * assemble a restore payload: the master key and every sealing key, the
 * newest current, none retired (escrow does not record retirement).
 * (transfer full; holds key material, caller wipes via the allocator). */
json_t *cg_escrow_recover (const char *dir, CgSealKey *recipient, GError **error);

G_END_DECLS
