/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One structured line per change: who (a token name, "admin:uid=N"), what
 * (an action such as "credential.put"), which record, the result, and the
 * client address.  Never a secret value: callers pass names only.  Lines go
 * to stderr (the journal under systemd) and, when configured, are appended
 * to a file. */
gboolean cg_audit_open (const char *path, GError **error);
void cg_audit_close (void);
/* FALSE when the audit file could not be written. */
gboolean cg_audit_log (const char *who, const char *client, const char *action,
                       const char *target, const char *result);

G_END_DECLS
