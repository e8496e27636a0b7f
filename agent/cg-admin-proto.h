/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <jansson.h>

G_BEGIN_DECLS

/* The admin socket protocol: a Unix stream socket; the client sends one
 * JSON object {"command": "...", ...arguments} and a newline; the agent
 * answers one JSON object and a newline, then closes:
 *   {"result": ...}  or  {"error": {"code": "...", "message": "..."}}
 * This is the only channel on which a plaintext may leave the agent, so
 * the agent checks the peer's uid (root or its own) on every connection. */
/* Large enough for a backup file of tens of thousands of records. */
#define CG_ADMIN_MAX_MESSAGE (64 * 1024 * 1024)

/* Read one newline-terminated message of at most CG_ADMIN_MAX_MESSAGE
 * bytes (transfer full; wiped by the caller, it may hold a secret). */
char *cg_admin_read_message (GInputStream *in, gsize *len, GCancellable *cancel, GError **error);

/* Client side: is @socket_path a socket that root, we or the agent's own
 * account ("credgate") made?  Anyone else's could be a trap set to catch a
 * passphrase or a key, so credgatectl asks before prompting for one. */
gboolean cg_admin_check_socket (const char *socket_path, GError **error);

/* Client side: send @request, return the "result" (transfer full) or the
 * agent's error as a CG_ERROR.  Nothing is sent unless the socket passes
 * cg_admin_check_socket() and the process listening on it (SO_PEERCRED)
 * runs as one of the same users. */
json_t *cg_admin_call (const char *socket_path, json_t *request, GError **error);

G_END_DECLS
