/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The admin socket's backup, restore and escrow commands. */
#include "config.h"

#include "agent/cg-admin-backup.h"
#include "agent/cg-admin-proto.h"
#include "agent/cg-audit.h"
#include "agent/cg-vault-backup.h"
#include "common/cg-error.h"
#include "common/cg-json.h"

#include <string.h>

/* Room for the JSON around the base64 file in one admin message. */
#define REPLY_SLACK (64 * 1024)

json_t *
cg_admin_cmd_backup (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "passphrase", NULL };
  const char *passphrase;
  if (!cg_json_check_fields (args, allowed, NULL, error)
      || !cg_json_get_string (args, "passphrase", TRUE, &passphrase, error))
    return NULL;
  json_auto_t *summary = NULL;
  g_autoptr (GBytes) file = cg_vault_backup_export (agent->vault, passphrase, 0, &summary, error);
  if (file && g_bytes_get_size (file) / 3 * 4 + REPLY_SLACK > CG_ADMIN_MAX_MESSAGE)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE,
                   "the backup is %" G_GSIZE_FORMAT " bytes, more than the admin socket "
                   "carries in one message",
                   g_bytes_get_size (file));
      g_clear_pointer (&file, g_bytes_unref);
    }
  /* A backup hands out every key, sealed under a passphrase: it is not
   * returned unless the audit line that records it was written. */
  gboolean logged = cg_audit_log (who, "local", "backup", NULL, file ? "ok" : (*error)->message);
  if (!file)
    return NULL;
  if (!logged)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_IO,
                           "the audit log cannot be written; the backup is not handed out");
      return NULL;
    }
  g_autofree char *b64 = g_base64_encode (g_bytes_get_data (file, NULL), g_bytes_get_size (file));
  return json_pack ("{s:s, s:O}", "file", b64, "summary", summary);
}

json_t *
cg_admin_cmd_restore (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[]
      = { "command", "file", "passphrase", "payload", "merge", NULL };
  const char *file_b64 = NULL, *passphrase = NULL;
  json_t *payload = json_object_get (args, "payload");
  json_t *merge = json_object_get (args, "merge");
  if (!cg_json_check_fields (args, allowed, NULL, error)
      || !cg_json_get_string (args, "file", FALSE, &file_b64, error)
      || !cg_json_get_string (args, "passphrase", FALSE, &passphrase, error))
    return NULL;
  if ((merge && !json_is_boolean (merge)) || (!file_b64 == !payload)
      || (file_b64 && !passphrase))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "restore takes \"file\" and \"passphrase\", or \"payload\"; "
                           "\"merge\" is a boolean");
      return NULL;
    }
  json_t *result = NULL;
  if (payload)
    result = cg_vault_restore_payload (agent->vault, payload, json_is_true (merge), error);
  else
    {
      gsize len = 0;
      g_autofree guchar *file = g_base64_decode (file_b64, &len);
      result = cg_vault_backup_import (agent->vault, file, len, passphrase, json_is_true (merge),
                                       error);
    }
  cg_audit_log (who, "local", payload ? "restore.escrow" : "restore", NULL,
                result ? "ok" : (*error)->message);
  return result;
}

json_t *
cg_admin_cmd_escrow_add (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "jwk", NULL };
  if (!cg_json_check_fields (args, allowed, NULL, error))
    return NULL;
  json_t *result = cg_vault_escrow_add (agent->vault, json_object_get (args, "jwk"), error);
  cg_audit_log (who, "local", "escrow.add",
                result ? json_string_value (json_object_get (result, "recipient")) : NULL,
                result ? "ok" : (*error)->message);
  return result;
}

json_t *
cg_admin_cmd_escrow_status (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", NULL };
  if (!cg_json_check_fields (args, allowed, NULL, error))
    return NULL;
  return cg_vault_escrow_status (agent->vault, error);
}
