/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "common/cg-error.h"

G_DEFINE_QUARK (credgate-error-quark, cg_error)

static const struct
{
  gint code;
  const char *name;
  guint status;
} error_table[] = {
  { CG_ERROR_FAILED, "internal_error", 500 },
  { CG_ERROR_INVALID, "invalid_request", 400 },
  { CG_ERROR_NOT_FOUND, "not_found", 404 },
  { CG_ERROR_EXISTS, "already_exists", 409 },
  { CG_ERROR_TOO_LARGE, "too_large", 413 },
  { CG_ERROR_UNAUTHORIZED, "unauthorized", 401 },
  { CG_ERROR_FORBIDDEN, "forbidden", 403 },
  { CG_ERROR_LOCKED, "secret_store_locked", 503 },
  { CG_ERROR_UNAVAILABLE, "secret_store_unavailable", 503 },
  { CG_ERROR_KEYS_MISSING, "secret_store_keys_missing", 503 },
  { CG_ERROR_DECRYPT, "cannot_decrypt", 422 },
  { CG_ERROR_IO, "storage_error", 500 },
  { CG_ERROR_UNSUPPORTED, "unsupported", 400 },
  { CG_ERROR_CONFLICT, "conflict", 409 },
  { CG_ERROR_AUDIT_UNAVAILABLE, "audit_unavailable", 503 },
  { CG_ERROR_AGENT_UNREACHABLE, "agent_unreachable", 503 },
  { CG_ERROR_JOIN_REFUSED, "join_refused", 403 },
  { CG_ERROR_CLUSTER_UNAVAILABLE, "cluster_unavailable", 503 },
  /* More names the API answers with; each code's first row names it. */
  { CG_ERROR_FORBIDDEN, "client_certificate_refused", 403 },
  { CG_ERROR_FORBIDDEN, "enrollment_refused", 403 },
};

const char *
cg_error_code_name (gint code)
{
  for (gsize i = 0; i < G_N_ELEMENTS (error_table); i++)
    if (error_table[i].code == code)
      return error_table[i].name;
  return "internal_error";
}

guint
cg_error_http_status (gint code)
{
  for (gsize i = 0; i < G_N_ELEMENTS (error_table); i++)
    if (error_table[i].code == code)
      return error_table[i].status;
  return 500;
}

gint
cg_error_code_from_name (const char *name)
{
  for (gsize i = 0; name && i < G_N_ELEMENTS (error_table); i++)
    if (g_str_equal (error_table[i].name, name))
      return error_table[i].code;
  return CG_ERROR_FAILED;
}
