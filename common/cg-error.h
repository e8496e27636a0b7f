/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The one error domain of credgate.  Each code maps to one HTTP status and
 * one snake_case API code (cg_error_code_name, cg_error_http_status), so the
 * layers below the HTTP server never decide what a client is told. */
#define CG_ERROR (cg_error_quark ())
GQuark cg_error_quark (void);

typedef enum
{
  CG_ERROR_FAILED,            /* internal: 500 internal_error */
  CG_ERROR_INVALID,           /* bad input: 400 invalid_request */
  CG_ERROR_NOT_FOUND,         /* 404 not_found */
  CG_ERROR_EXISTS,            /* 409 already_exists */
  CG_ERROR_TOO_LARGE,         /* 413 too_large */
  CG_ERROR_UNAUTHORIZED,      /* 401 unauthorized */
  CG_ERROR_FORBIDDEN,         /* 403 forbidden */
  CG_ERROR_LOCKED,            /* 503 secret_store_locked */
  CG_ERROR_UNAVAILABLE,       /* 503 secret_store_unavailable */
  CG_ERROR_KEYS_MISSING,      /* 503 secret_store_keys_missing */
  CG_ERROR_DECRYPT,           /* 422 cannot_decrypt: one opaque failure */
  CG_ERROR_IO,                /* 500 storage_error */
  CG_ERROR_UNSUPPORTED,       /* 400 unsupported */
  CG_ERROR_CONFLICT,          /* 409 conflict */
  CG_ERROR_AUDIT_UNAVAILABLE, /* 503 audit_unavailable: the change is refused */
  CG_ERROR_AGENT_UNREACHABLE, /* a client's own: no agent to ask (no socket, no connection);
                                 never an agent's answer */
  CG_ERROR_JOIN_REFUSED, /* 403 join_refused: a cluster join code that is unknown, used,
                            expired or forged (one message for every reason) */
  CG_ERROR_CLUSTER_UNAVAILABLE, /* 503 cluster_unavailable: etcd unreachable, no quorum or no
                                   answer in time; the write was refused (reads go on) */
} CgErrorCode;

const char *cg_error_code_name (gint code);
guint cg_error_http_status (gint code);
/* The code for an API code name; CG_ERROR_FAILED for an unknown one. */
gint cg_error_code_from_name (const char *name);

G_END_DECLS
