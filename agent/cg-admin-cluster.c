/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-admin-cluster.h"
#include "agent/cg-admin-client.h"
#include "agent/cg-audit.h"
#include "agent/cg-cluster.h"
#include "common/cg-error.h"
#include "common/cg-json.h"

#define WAIT_MAX_S 600

/* The fields init and join share; @endpoints as a NULL-terminated array
 * borrowing the strings of @args (transfer container). */
static gboolean
get_setup (json_t *args, CgClusterSetup *s, const char ***endpoints, GError **error)
{
  json_t *list = json_object_get (args, "endpoints");
  if (!json_is_array (list) || json_array_size (list) == 0 || json_array_size (list) > 16)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "\"endpoints\" is an array of 1 to 16 etcd URLs");
      return FALSE;
    }
  *endpoints = g_new0 (const char *, json_array_size (list) + 1);
  for (gsize i = 0; i < json_array_size (list); i++)
    if (!((*endpoints)[i] = json_string_value (json_array_get (list, i))))
      {
        g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                             "\"endpoints\" is an array of strings");
        return FALSE;
      }
  s->endpoints = *endpoints;
  return cg_json_get_string (args, "ca", TRUE, &s->ca_pem, error)
         && cg_json_get_string (args, "cert", TRUE, &s->cert_pem, error)
         && cg_json_get_string (args, "key", TRUE, &s->key_pem, error)
         && cg_json_get_string (args, "name", FALSE, &s->name, error)
         && cg_json_get_string (args, "address", FALSE, &s->address, error);
}

static void
audit_result (const char *who, const char *what, const char *target, json_t *result,
              GError **error)
{
  cg_audit_log (who, "local", what, target, result ? "ok" : (*error)->message);
}

json_t *
cg_admin_cmd_cluster_init (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "endpoints", "ca", "cert", "key", "name",
                                         "address", NULL };
  CgClusterSetup s = { 0 };
  g_autofree const char **endpoints = NULL;
  if (!cg_json_check_fields (args, allowed, NULL, error) || !get_setup (args, &s, &endpoints, error))
    return NULL;
  json_t *result = cg_cluster_init (agent, &s, error);
  audit_result (who, "cluster.init", result ? json_string_value (json_object_get (result, "id"))
                                             : s.name,
                result, error);
  return result;
}

json_t *
cg_admin_cmd_cluster_join (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "endpoints", "ca", "cert", "key", "name",
                                         "address", "code", "waitSeconds", NULL };
  CgClusterSetup s = { 0 };
  g_autofree const char **endpoints = NULL;
  gint64 wait_s = 0;
  if (!cg_json_check_fields (args, allowed, NULL, error) || !get_setup (args, &s, &endpoints, error)
      || !cg_json_get_string (args, "code", TRUE, &s.code, error)
      || !cg_admin_get_seconds (args, "waitSeconds", 0, &wait_s, error))
    return NULL;
  s.wait_s = (guint) MIN (wait_s, WAIT_MAX_S);
  json_t *result = cg_cluster_join (agent, &s, error);
  audit_result (who, "cluster.join", result ? json_string_value (json_object_get (result, "id"))
                                             : s.name,
                result, error);
  return result;
}

json_t *
cg_admin_cmd_cluster_invite (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "expiresSeconds", NULL };
  gint64 ttl = 0;
  if (!cg_json_check_fields (args, allowed, NULL, error)
      || !cg_admin_get_seconds (args, "expiresSeconds", 0, &ttl, error))
    return NULL;
  json_t *result = cg_cluster_invite (agent, ttl, error);
  /* The code's id only: the code itself is shown once, to the admin. */
  audit_result (who, "cluster.invite",
                result ? json_string_value (json_object_get (result, "codeId")) : NULL, result,
                error);
  return result;
}

json_t *
cg_admin_cmd_cluster_status (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", NULL };
  if (!cg_json_check_fields (args, allowed, NULL, error))
    return NULL;
  return cg_cluster_status (agent, error);
}

json_t *
cg_admin_cmd_cluster_remove (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "name", NULL };
  const char *name;
  if (!cg_json_check_fields (args, allowed, NULL, error)
      || !cg_json_get_string (args, "name", TRUE, &name, error))
    return NULL;
  json_t *result = cg_cluster_remove (agent, name, error);
  audit_result (who, "cluster.remove", name, result, error);
  return result;
}
