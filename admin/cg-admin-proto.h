/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <jansson.h>

G_BEGIN_DECLS

/* The admin socket protocol: a Unix stream socket; the client sends one
 * JSON object {"command": "...", ...arguments} and a newline; the agent
 * answers one JSON object and a newline, then closes:
 *   {"result": ...}  or  {"error": {"code": "...", "message": "..."}}
 * A long command (key.rotate_all) asked with "progress": true writes
 *   {"progress": {...}}
 * lines before that one answer; a client that did not ask gets none.
 * This is the only channel on which a plaintext may leave the agent, so
 * the agent checks the peer's uid (root or its own) on every connection. */
/* Large enough for a backup file of tens of thousands of records. */
#define CG_ADMIN_MAX_MESSAGE (64 * 1024 * 1024)

/* Read one newline-terminated message of at most CG_ADMIN_MAX_MESSAGE
 * bytes (transfer full; wiped by the caller, it may hold a secret).  From
 * a plain stream, whatever follows the newline in the same read is wiped
 * and dropped (one message per connection); from a GBufferedInputStream
 * nothing past the newline is taken, so messages that follow (progress
 * lines, then the answer) are read by the next calls. */
char *cg_admin_read_message (GInputStream *in, gsize *len, GCancellable *cancel, GError **error);

/* Where the admin socket is by default: $CREDGATE_ADMIN_SOCKET, else
 * $XDG_RUNTIME_DIR/credgate/admin.sock for a user other than root, else
 * /run/credgate/admin.sock (transfer full). */
char *cg_admin_default_socket (void);

G_END_DECLS
