/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-admin-client.h"
#include "agent/cg-audit.h"
#include "common/cg-error.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#define DEFAULT_CODE_TTL_S 3600

gboolean
cg_admin_get_seconds (json_t *args, const char *key, gint64 fallback, gint64 *out, GError **error)
{
  json_t *v = json_object_get (args, key);
  if (!v)
    {
      *out = fallback;
      return TRUE;
    }
  if (!json_is_integer (v) || json_integer_value (v) < 1)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "\"%s\" is a number of seconds", key);
      return FALSE;
    }
  *out = json_integer_value (v);
  return TRUE;
}

json_t *
cg_admin_cmd_client_enroll (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "name", "expiresSeconds", "validitySeconds",
                                         NULL };
  const char *name;
  gint64 ttl, validity;
  if (!cg_json_check_fields (args, allowed, NULL, error)
      || !cg_json_get_string (args, "name", TRUE, &name, error)
      || !cg_admin_get_seconds (args, "expiresSeconds", DEFAULT_CODE_TTL_S, &ttl, error)
      || !cg_admin_get_seconds (args, "validitySeconds",
                       (gint64) agent->config->client_cert_days * 24 * 3600, &validity, error))
    return NULL;
  g_autofree char *expires = NULL;
  char *code = cg_vault_client_code_create (agent->vault, name, ttl, validity, &expires, error);
  cg_audit_log (who, "local", "client.enroll", name, code ? "ok" : (*error)->message);
  if (!code)
    return NULL;
  json_t *result = json_pack ("{s:s, s:s, s:s, s:I}", "name", name, "code", code, "codeExpires",
                              expires, "validitySeconds", (json_int_t) validity);
  cg_wipe_str (code);
  return result;
}

json_t *
cg_admin_cmd_client_list (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", NULL };
  if (!cg_json_check_fields (args, allowed, NULL, error))
    return NULL;
  return cg_vault_client_list (agent->vault, error);
}

json_t *
cg_admin_cmd_client_revoke (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "name", NULL };
  const char *name;
  if (!cg_json_check_fields (args, allowed, NULL, error)
      || !cg_json_get_string (args, "name", TRUE, &name, error))
    return NULL;
  gboolean ok = cg_vault_client_revoke (agent->vault, name, error);
  cg_audit_log (who, "local", "client.revoke", name, ok ? "ok" : (*error)->message);
  return ok ? json_pack ("{s:s, s:b}", "name", name, "revoked", TRUE) : NULL;
}
