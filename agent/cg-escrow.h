/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "admin/cg-escrow-files.h"
#include "agent/cg-vault.h"

G_BEGIN_DECLS

/* The agent's side of escrow: it writes the files admin/cg-escrow-files.h
 * describes.  The signing key's kind in the keyring: */
#define CG_ESCROW_SIGNER_KIND "escrow-signer"

/* Register @jwk (public only) and escrow every existing key to it.
 * Returns {"recipient": RKID, "keys": N, "signer": "sha256:FP"}
 * (transfer full). */
json_t *cg_vault_escrow_add (CgVault *vault, json_t *jwk, GError **error);
/* {"signer": "sha256:FP"|null, "recipients": [{"recipient", "signed",
 *  "manifestSeq", "unexpected": [file names the manifest does not list],
 *  "keys": [{"kind", "kid", "state", "escrowed"}], "complete"}]}
 * (transfer full). */
json_t *cg_vault_escrow_status (CgVault *vault, GError **error);
/* With the lock held, after a key was made, rotated or retired: escrow to
 * each recipient whose signed manifest does not list exactly the keys
 * state.db names, in their states, with its files unchanged.  Best
 * effort: a failure is logged, never fails the key operation (escrow
 * status shows the gap). */
void cg_vault_escrow_sync_locked (CgVault *vault);
/* The same for every recipient, whatever its manifest says (after a
 * restore, which may replace the master key). */
void cg_vault_escrow_resync_locked (CgVault *vault);
/* At start (takes the lock): bring escrow up to date if the keys load, so
 * that files a crash left behind, or an escrow from before manifests, are
 * signed again. */
void cg_vault_escrow_check (CgVault *vault);

G_END_DECLS
