/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

/* credgatectl's end of the admin socket (the protocol is in
 * admin/cg-admin-proto.h). */

/* Is @socket_path a socket that root, we or the agent's own
 * account ("credgate") made?  Anyone else's could be a trap set to catch a
 * passphrase or a key, so credgatectl asks before prompting for one. */
gboolean cg_admin_check_socket (const char *socket_path, GError **error);

/* Send @request, return the "result" (transfer full) or the
 * agent's error as a CG_ERROR.  Nothing is sent unless the socket passes
 * cg_admin_check_socket() and the process listening on it (SO_PEERCRED)
 * runs as one of the same users. */
json_t *cg_admin_call (const char *socket_path, json_t *request, GError **error);
/* cg_admin_call for a command that reports progress (@request has
 * "progress": true): @progress gets each {"progress": …} line's object
 * (borrowed) before the answer. */
typedef void (*CgAdminProgress) (json_t *progress, gpointer data);
json_t *cg_admin_call_progress (const char *socket_path, json_t *request,
                                CgAdminProgress progress, gpointer data, GError **error);

G_END_DECLS
