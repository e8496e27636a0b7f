/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Access tokens and client certificates live in the user's own keyring
 * (Secret Service), one item of each per agent, in one schema,
 * "org.credgate.Manager.Token", with attributes host, port and kind
 * ("token", "client-certificate"; none of them secret).  Items saved before
 * there was a kind have none; a token lookup still finds them.  Never a
 * plain file.  Asynchronous: the keyring may prompt. */
#include "common/cg-secure.h"

void cg_token_store_save_async (const char *host, guint port, const char *token,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
gboolean cg_token_store_save_finish (GAsyncResult *result, GError **error);

/* The token, or NULL without error when none is stored (transfer full;
 * wipe it with cg_token_store_free_token). */
void cg_token_store_lookup_async (const char *host, guint port, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
char *cg_token_store_lookup_finish (GAsyncResult *result, GError **error);
void cg_token_store_free_token (char *token);

/* A client certificate enrolled for this agent and its private key (both
 * PEM), in one item. */
void cg_token_store_save_identity_async (const char *host, guint port, const char *cert_pem,
                                         const CgBuf *key_pem, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
gboolean cg_token_store_save_identity_finish (GAsyncResult *result, GError **error);
/* TRUE with the certificate and key (transfer full), FALSE without error
 * when none is kept for the agent. */
void cg_token_store_lookup_identity_async (const char *host, guint port,
                                           GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data);
gboolean cg_token_store_lookup_identity_finish (GAsyncResult *result, char **cert_pem,
                                                CgBuf **key_pem, GError **error);

G_END_DECLS
