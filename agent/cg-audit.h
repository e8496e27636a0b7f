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
/* Fail closed: the "attempt" line of a change, written before the change
 * is made.  FALSE with CG_ERROR_AUDIT_UNAVAILABLE when it could not be
 * written; the caller then refuses and changes nothing. */
gboolean cg_audit_before (const char *who, const char *client, const char *action,
                          const char *target, GError **error);

/* A failed authentication from @client (an address as cg_http_client_address
 * gives it), of one kind.  Counted per client group (an IPv4 address, an
 * IPv6 /64: cg_peer_group_from_string) and summarised: at most one line
 * per group per interval (default 60 s), with "count", "since" and the
 * count of each kind; at most 257 groups a line. */
typedef enum
{
  CG_AUTH_NO_TOKEN,            /* "noToken" */
  CG_AUTH_BAD_TOKEN,           /* "badToken" */
  CG_AUTH_BAD_CLIENT_CERT,     /* "badClientCertificate" */
  CG_AUTH_BAD_ENROLLMENT_CODE, /* "badEnrollmentCode" */
  CG_AUTH_N_KINDS
} CgAuthFailure;
void cg_audit_auth_failure (const char *client, CgAuthFailure kind);
void cg_audit_auth_set_interval (guint seconds);
/* Writes the counts of groups whose interval is over (a timer), or of all
 * of them (@all, at shutdown). */
void cg_audit_auth_flush (gboolean all);

G_END_DECLS
