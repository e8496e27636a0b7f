/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The admin socket's backup, restore and escrow commands. */
#include "config.h"

#include "agent/cg-admin-backup.h"
#include "admin/cg-admin-proto.h"
#include "agent/cg-audit.h"
#include "agent/cg-tls-store.h"
#include "agent/cg-tls.h"
#include "agent/cg-vault-backup.h"
#include "common/cg-error.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#include <string.h>

/* Room for the JSON around the base64 file in one admin message. */
#define REPLY_SLACK (64 * 1024)

static const char *
origin_name (CgTlsOrigin origin)
{
  return origin == CG_TLS_ORIGIN_GENERATED ? "generated" : "installed";
}

/* The served certificate and its key for the backup's payload (so a new
 * host can keep the pin every client holds), and what --inspect shows of
 * it in *summary.  NULL with no error when nothing is served yet. */
static json_t *
tls_for_backup (json_t **summary, GError **error)
{
  *summary = NULL;
  g_autoptr (CgCertPair) pair = cg_tls_get_pair ();
  if (!pair)
    return NULL;
  g_autoptr (CgBuf) key = cg_cert_pair_key_pem (pair, error);
  if (!key)
    return NULL;
  g_autofree char *chain = cg_cert_pair_chain_pem (pair);
  g_autofree char *subject = cg_cert_pair_get_subject (pair);
  g_autoptr (GDateTime) end = g_date_time_new_from_unix_utc (cg_cert_pair_get_not_after (pair));
  g_autofree char *not_after = g_date_time_format_iso8601 (end);
  const char *origin = origin_name (cg_tls_store_get_origin ());
  *summary = json_pack ("{s:s, s:s, s:s, s:s}", "pin", cg_cert_pair_get_spki_pin (pair),
                        "subject", subject ? subject : "", "notAfter", not_after, "origin",
                        origin);
  return json_pack ("{s:s, s:s%, s:s}", "chain", chain, "key", (const char *) key->data,
                    key->len, "origin", origin);
}

json_t *
cg_admin_cmd_backup (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "passphrase", NULL };
  const char *passphrase;
  if (!cg_json_check_fields (args, allowed, NULL, error)
      || !cg_json_get_string (args, "passphrase", TRUE, &passphrase, error))
    return NULL;
  json_auto_t *summary = NULL, *tls_summary = NULL;
  g_autoptr (GError) tls_error = NULL;
  json_auto_t *tls = tls_for_backup (&tls_summary, &tls_error);
  if (tls_error)
    {
      g_propagate_error (error, g_steal_pointer (&tls_error));
      return NULL;
    }
  g_autoptr (GBytes) file
      = cg_vault_backup_export (agent->vault, passphrase, 0, tls, tls_summary, &summary, error);
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

/* Serve the certificate a restored backup holds, unless this agent already
 * does.  Whatever happens is reported, never fatal: the keys and records
 * are what a restore is for, and a certificate the agent cannot serve
 * (expired since the backup, say) leaves the one it has. */
static json_t *
restore_certificate (json_t *tls, gboolean wanted, const char *who)
{
  const char *chain = NULL, *key = NULL, *origin = NULL;
  size_t chain_len = 0, key_len = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (CgCertPair) pair = NULL;
  const char *state;

  if (json_unpack (tls, "{s:s%, s:s%, s:s}", "chain", &chain, &chain_len, "key", &key, &key_len,
                   "origin", &origin)
          < 0
      || (!g_str_equal (origin, "generated") && !g_str_equal (origin, "installed")))
    g_set_error_literal (&error, CG_ERROR, CG_ERROR_INVALID,
                         "the backup's certificate entry is malformed");
  else
    pair = cg_cert_pair_load_data (chain, chain_len, key, key_len, NULL, warnings, &error);

  g_autoptr (CgCertPair) current = cg_tls_get_pair ();
  if (!pair)
    state = "not-installed";
  else if (current
           && g_str_equal (cg_cert_pair_get_spki_pin (current), cg_cert_pair_get_spki_pin (pair))
           && cg_cert_pair_get_not_after (current) == cg_cert_pair_get_not_after (pair))
    state = "already-served";
  else if (!wanted)
    state = "kept-own";
  else if (cg_tls_store_restore (pair,
                                 g_str_equal (origin, "generated") ? CG_TLS_ORIGIN_GENERATED
                                                                   : CG_TLS_ORIGIN_INSTALLED,
                                 warnings, &error))
    state = "installed";
  else
    state = "not-installed";

  if (g_str_equal (state, "installed") || error)
    cg_audit_log (who, "local", "cert.restore", pair ? cg_cert_pair_get_spki_pin (pair) : NULL,
                  error ? error->message : "ok");
  json_t *report = json_pack ("{s:s, s:s?, s:[]}", "state", state, "pin",
                              pair ? cg_cert_pair_get_spki_pin (pair) : NULL, "warnings");
  for (guint i = 0; i < warnings->len; i++)
    json_array_append_new (json_object_get (report, "warnings"),
                           json_string (warnings->pdata[i]));
  if (error)
    json_object_set_new (report, "reason", json_string (error->message));
  return report;
}

json_t *
cg_admin_cmd_restore (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[]
      = { "command", "file", "passphrase", "payload", "merge", "certificate", "tokens", NULL };
  const char *file_b64 = NULL, *passphrase = NULL;
  json_t *payload = json_object_get (args, "payload");
  json_t *merge = json_object_get (args, "merge");
  json_t *certificate = json_object_get (args, "certificate");
  json_t *tokens = json_object_get (args, "tokens");
  if (!cg_json_check_fields (args, allowed, NULL, error)
      || !cg_json_get_string (args, "file", FALSE, &file_b64, error)
      || !cg_json_get_string (args, "passphrase", FALSE, &passphrase, error))
    return NULL;
  if ((merge && !json_is_boolean (merge)) || (certificate && !json_is_boolean (certificate))
      || (tokens && !json_is_boolean (tokens)) || (!file_b64 == !payload)
      || (file_b64 && !passphrase))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "restore takes \"file\" and \"passphrase\", or \"payload\"; "
                           "\"merge\", \"certificate\" and \"tokens\" are booleans");
      return NULL;
    }
  /* A restore writes the tables of state.db directly: on a cluster member
   * that is the replica, and the other nodes would never see it (and the
   * next resync would undo it).  Refused rather than diverging. */
  if (g_atomic_pointer_get (&agent->cluster))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_UNSUPPORTED,
                           "restore is refused on a cluster member: it would change this "
                           "node's replica only; restore into a single agent, then make a "
                           "new cluster from it (credgatectl cluster init)");
      return NULL;
    }
  CgRestoreFlags flags = (json_is_true (merge) ? CG_RESTORE_MERGE : 0)
                         | (json_is_false (tokens) ? CG_RESTORE_NO_TOKENS : 0);
  json_t *result = NULL;
  json_auto_t *tls = NULL;
  if (payload)
    result = cg_vault_restore_payload (agent->vault, payload, flags, error);
  else
    {
      gsize len = 0;
      g_autofree guchar *file = g_base64_decode (file_b64, &len);
      result = cg_vault_backup_import (agent->vault, file, len, passphrase, flags, &tls, error);
      cg_wipe (file, len);
    }
  cg_audit_log (who, "local", payload ? "restore.escrow" : "restore", NULL,
                result ? "ok" : (*error)->message);
  /* The certificate follows a restore that becomes this agent; onto an
   * agent in use (--merge) only when asked, since its clients pin the
   * certificate it serves now. */
  if (result && tls)
    {
      gboolean wanted = certificate ? json_is_true (certificate) : !json_is_true (merge);
      json_object_set_new (result, "certificate", restore_certificate (tls, wanted, who));
    }
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
