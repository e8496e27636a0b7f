/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libsecret/secret.h>

#include "common/cg-secure.h"

G_BEGIN_DECLS

/* The agent's key material in the Secret Service (libsecret, _sync calls).
 * One schema, "org.credgate.Key", with attributes that hold nothing
 * secret: "instance" (the random id of one state directory, so several
 * agents can share a keyring), "kind" ("master" or "seal") and "kid" ("" for
 * the master key).  The secret is the base64 of 32 key bytes. */
const SecretSchema *cg_secret_schema_get (void);

/* Is the default collection there and unlocked?  Sets CG_ERROR_LOCKED or
 * CG_ERROR_UNAVAILABLE otherwise.  Every lookup that comes back empty must
 * be checked with this: a locked keyring answers "not found".  The Locked
 * property is read over D-Bus, not from a proxy's cache that may be stale.
 * @generation (nullable) receives cg_keystore_generation () as it was
 * before the check, so a change during the check is not missed. */
gboolean cg_keystore_check_unlocked (guint *generation, GError **error);

/* Bumped (atomically) whenever the default collection's properties change
 * or the Secret Service's name owner changes: the signals are dispatched
 * by the main context of the thread that first checked the keyring (the
 * agent's main loop).  Keys loaded under one generation are good while it
 * lasts; reading it is the cheap per-request re-check, no D-Bus at all. */
guint cg_keystore_generation (void);

/* 32 key bytes, or NULL: with *error set on a D-Bus failure or a locked
 * item (CG_ERROR_LOCKED; never a prompt), without when there is no such
 * item (the caller then checks the lock state). */
CgBuf *cg_keystore_lookup (const char *instance, const char *kind, const char *kid,
                           GError **error);
gboolean cg_keystore_store (const char *instance, const char *kind, const char *kid,
                            const CgBuf *key, GError **error);
/* Remove the item, if there is one (undoing a store that must not stay). */
gboolean cg_keystore_delete (const char *instance, const char *kind, const char *kid,
                             GError **error);

G_END_DECLS
