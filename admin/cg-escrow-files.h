/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "jose/cg-jwe.h"

G_BEGIN_DECLS

/* Escrow: STATE_DIR/escrow/recipients/RKID.jwk holds each recipient's
 * public P-256 JWK; STATE_DIR/escrow/RKID/ holds, for that recipient:
 *   master.jwe, seal-KID.jwe, seal-KID.retired.jwe   each key sealed to the
 *       recipient (cg_jwe_seal, ctx "credgate-escrow"), plaintext
 *       {"credgateEscrow": 1, "instance", "kind", "kid", "created", "seq",
 *        "key": B64, "retired"?: true};
 *   manifest.jws   what the agent wrote there, signed (cg_jws_sign, ES256,
 *       typ CG_ESCROW_MANIFEST_TYP) with the agent's escrow signing key:
 *       {"credgateEscrowManifest": 1, "instance", "recipient": RKID,
 *        "seq": N (grows with every manifest the agent signs), "created",
 *        "files": [{"name", "kind": "master"|"seal", "kid",
 *                   "state": "current"|"old"|"retired", "created",
 *                   "sha256": hex of the file's bytes}]}.
 * ECDH-ES authenticates no sender: anyone with the recipient's public key
 * can seal a file.  The manifest is what tells the agent's files from
 * others: a recovery verifies it with the signer the admin names (the
 * fingerprint "sha256:" + RFC 7638 thumbprint that escrow add prints),
 * then opens only the files it lists, each with its digest, kind, kid and
 * state, and refuses a folder with a file it does not list.
 * The signing key is a P-256 key in the keyring (kind "escrow-signer", kid
 * its thumbprint, recorded in state.db's meta "escrow_signer"), made with
 * the first recipient.  All files 0600, written atomically. */
#define CG_ESCROW_CTX "credgate-escrow"
#define CG_ESCROW_MANIFEST "manifest.jws"
#define CG_ESCROW_MANIFEST_TYP "credgate-escrow-manifest"

/* DIR/manifest.jws, its signature checked against @fp (the thumbprint,
 * without "sha256:") and its form checked.  (transfer full) */
json_t *cg_escrow_manifest_load (const char *dir, const char *fp, GError **error);
/* The manifest's entry for file @name, or NULL (borrowed). */
json_t *cg_escrow_manifest_entry (json_t *manifest, const char *name);
/* @entry's string @field (borrowed). */
const char *cg_escrow_entry_str (json_t *entry, const char *field);
/* The SHA-256 (hex) a manifest lists for a file's bytes (transfer full). */
char *cg_escrow_digest (const char *data, gsize len);
/* The .jwe files in @dir that @manifest (nullable) does not list, as a
 * JSON array of names (transfer full). */
json_t *cg_escrow_unexpected_files (const char *dir, json_t *manifest);

/* credgatectl's side: verify @dir's (an escrow folder, or its RKID
 * subfolder) manifest with @signer ("sha256:FP"), open every file it lists
 * with @recipient (a private key), check each against the manifest, and
 * assemble a restore payload: the master key and every sealing key in the
 * state the manifest gives it (one current; retired ones stay retired).
 * A missing, unsigned or wrongly signed manifest, a file it does not list,
 * a listed file missing or not the one listed: an error, nothing assembled.
 * @about (nullable out) receives {"instance", "seq", "created", "signer"}.
 * (transfer full; holds key material, caller wipes via the allocator). */
json_t *cg_escrow_recover (const char *dir, CgSealKey *recipient, const char *signer,
                           json_t **about, GError **error);
/* Is @signer a fingerprint restore --escrow-signer takes? */
gboolean cg_escrow_signer_valid (const char *signer);

G_END_DECLS
