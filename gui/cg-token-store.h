/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Access tokens live in the user's own keyring (Secret Service), one item per
 * agent, schema "org.credgate.Manager.Token" with attributes host and port
 * (not secret).  Never a plain file.  Asynchronous: the keyring may prompt. */

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

G_END_DECLS
