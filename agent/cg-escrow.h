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
/* Escrow follows every key change by itself: cg_vault_open registers it
 * with the vault (cg_vault_escrow_attach, cg-vault-private.h). */
/* At start (takes the lock): bring escrow up to date if the keys load, so
 * that files a crash left behind, or an escrow from before manifests, are
 * signed again. */
void cg_vault_escrow_check (CgVault *vault);

G_END_DECLS
