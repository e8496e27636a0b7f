/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The admin socket's cert.* commands.  credgatectl sends the admin's files
 * (base64) and any passphrase; the agent checks them and is the one that
 * writes STATE_DIR/tls (cg-tls-store.c). */
#include "config.h"

#include "agent/cg-admin-cert.h"
#include "common/cg-time.h"
#include "agent/cg-audit.h"
#include "agent/cg-tls-store.h"
#include "agent/cg-tls.h"
#include "common/cg-error.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#include <string.h>

/* Per file: far above any real chain, and inside CG_ADMIN_MAX_MESSAGE once
 * base64 is added. */
#define CERT_ARG_MAX (256 * 1024)
#define GENERATE_DAYS_MAX 3650

json_t *
cg_admin_cert_describe (CgCertPair *pair, const char *origin)
{
  g_autofree char *subject = cg_cert_pair_get_subject (pair);
  g_autofree char *issuer = cg_cert_pair_get_issuer (pair);
  g_autofree char *key_type = cg_cert_pair_get_key_type (pair);
  g_autofree char *not_before = cg_time_rfc3339 (cg_cert_pair_get_not_before (pair));
  g_autofree char *not_after = cg_time_rfc3339 (cg_cert_pair_get_not_after (pair));
  g_auto (GStrv) sans = cg_cert_pair_get_sans (pair);
  unsigned int n = 0;
  cg_cert_pair_get_pcerts (pair, &n);

  json_t *names = json_array ();
  for (char **s = sans; *s; s++)
    json_array_append_new (names, json_string (*s));
  return json_pack ("{s:s, s:s, s:o, s:s, s:s, s:i, s:s, s:s, s:b, s:i, s:s?}", "subject", subject,
                    "issuer", issuer, "sans", names, "notBefore", not_before, "notAfter", not_after,
                    "daysLeft",
                    cg_cert_pair_get_days_left (pair, g_get_real_time () / G_USEC_PER_SEC),
                    "keyType", key_type, "pin", cg_cert_pair_get_spki_pin (pair), "selfSigned",
                    cg_cert_pair_is_self_signed (pair), "chainLength", (int) n, "origin", origin);
}

/* A base64 member decoded (transfer full, wipe it); NULL without error
 * when it is absent. */
static guint8 *
get_b64 (json_t *args, const char *key, gsize *len, GError **error)
{
  const char *text = NULL;
  *len = 0;
  if (!cg_json_get_string (args, key, FALSE, &text, error) || !text)
    return NULL;
  if (strlen (text) > CERT_ARG_MAX / 3 * 4 + 4)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE, "%s: too large", key);
      return NULL;
    }
  guint8 *data = g_base64_decode (text, len);
  if (!data || *len == 0)
    {
      g_free (data);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s: the file is empty", key);
      return NULL;
    }
  return data;
}

static gboolean
get_bool (json_t *args, const char *key, gboolean *out, GError **error)
{
  json_t *v = json_object_get (args, key);
  *out = FALSE;
  if (!v)
    return TRUE;
  if (!json_is_boolean (v))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s: must be true or false", key);
      return FALSE;
    }
  *out = json_is_true (v);
  return TRUE;
}

static void
free_secret (guint8 *data, gsize len)
{
  if (data)
    cg_wipe (data, len);
  g_free (data);
}

/* The pair in the request, loaded and checked; warnings collected. */
static CgCertPair *
pair_from_args (json_t *args, gboolean *stage, GPtrArray *warnings, GError **error)
{
  static const char *const allowed[]
      = { "command", "chain", "key", "pkcs12", "passphrase", "force", "stage", NULL };
  const char *passphrase = NULL;
  gboolean force = FALSE;
  gsize chain_len = 0, key_len = 0, p12_len = 0;
  guint8 *chain = NULL, *key = NULL, *p12 = NULL;
  CgCertPair *pair = NULL;
  GError *local = NULL;

  if (!cg_json_check_fields (args, allowed, NULL, error)
      || !cg_json_get_string (args, "passphrase", FALSE, &passphrase, error)
      || !get_bool (args, "force", &force, error) || !get_bool (args, "stage", stage, error))
    return NULL;
  chain = get_b64 (args, "chain", &chain_len, &local);
  if (!local)
    key = get_b64 (args, "key", &key_len, &local);
  if (!local)
    p12 = get_b64 (args, "pkcs12", &p12_len, &local);
  if (!local && p12 && !chain && !key)
    pair = cg_cert_pair_load_pkcs12 (p12, p12_len, passphrase, warnings, &local);
  else if (!local && chain && key && !p12)
    pair = cg_cert_pair_load_data (chain, chain_len, key, key_len, passphrase, warnings, &local);
  else if (!local)
    g_set_error (&local, CG_ERROR, CG_ERROR_INVALID, "give a chain and a key, or a PKCS#12 bundle");
  free_secret (chain, chain_len);
  free_secret (key, key_len);
  free_secret (p12, p12_len);

  if (pair && !cg_tls_store_check (pair, force, warnings, &local))
    g_clear_pointer (&pair, cg_cert_pair_unref);
  if (local)
    g_propagate_error (error, local);
  return pair;
}

static json_t *
warnings_json (GPtrArray *warnings)
{
  json_t *array = json_array ();
  for (guint i = 0; i < warnings->len; i++)
    json_array_append_new (array, json_string (warnings->pdata[i]));
  return array;
}

static const char *
origin_name (void)
{
  return cg_tls_store_get_origin () == CG_TLS_ORIGIN_GENERATED ? "self-signed" : "installed";
}

json_t *
cg_admin_cmd_cert_show (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", NULL };
  if (!cg_json_check_fields (args, allowed, NULL, error))
    return NULL;
  g_autoptr (CgCertPair) pair = cg_tls_get_pair ();
  g_autoptr (CgCertPair) next = cg_tls_get_next ();
  json_t *result = json_object ();
  json_object_set_new (result, "current",
                       pair ? cg_admin_cert_describe (pair, origin_name ()) : json_null ());
  json_object_set_new (result, "next",
                       next ? cg_admin_cert_describe (next, "staged") : json_null ());
  return result;
}

json_t *
cg_admin_cmd_cert_check (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  gboolean stage = FALSE;
  g_autoptr (CgCertPair) pair = pair_from_args (args, &stage, warnings, error);
  if (!pair)
    return NULL;
  g_autoptr (CgCertPair) current = cg_tls_get_pair ();
  const char *action;
  if (current
      && g_str_equal (cg_cert_pair_get_spki_pin (current), cg_cert_pair_get_spki_pin (pair)))
    action = stage ? "stage it (its key is the served one: clients see no change of pin)"
                   : "serve it (its key is the served one: clients see no change of pin)";
  else
    action = stage ? "stage it: publish its pin as nextTlsPin until cert activate"
                   : "serve it from the next handshake on (the pin changes)";
  return json_pack ("{s:s, s:o, s:o}", "action", action, "warnings", warnings_json (warnings),
                    "certificate", cg_admin_cert_describe (pair, stage ? "staged" : "installed"));
}

json_t *
cg_admin_cmd_cert_install (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  gboolean stage = FALSE;
  g_autoptr (CgCertPair) pair = pair_from_args (args, &stage, warnings, error);
  if (pair && !cg_tls_store_install (pair, stage, error))
    g_clear_pointer (&pair, cg_cert_pair_unref);
  cg_audit_log (who, "local", stage ? "cert.stage" : "cert.install",
                pair ? cg_cert_pair_get_spki_pin (pair) : NULL, pair ? "ok" : (*error)->message);
  if (!pair)
    return NULL;
  for (guint i = 0; i < warnings->len; i++)
    g_warning ("certificate: %s", (char *) warnings->pdata[i]);
  return json_pack ("{s:b, s:b, s:o, s:o}", "installed", !stage, "staged", stage, "warnings",
                    warnings_json (warnings), "certificate",
                    cg_admin_cert_describe (pair, stage ? "staged" : "installed"));
}

json_t *
cg_admin_cmd_cert_generate (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", "keyType", "days", "stage", NULL };
  const char *type_name = NULL;
  CgKeyType type = CG_KEY_TYPE_ECDSA_P256;
  json_int_t days = CG_CERT_SELF_SIGNED_DAYS;

  if (!cg_json_check_fields (args, allowed, NULL, error)
      || !cg_json_get_string (args, "keyType", FALSE, &type_name, error))
    return NULL;
  if (type_name && !cg_key_type_from_name (type_name, &type))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "keyType: \"%s\" is not one of ecdsa-p256, ecdsa-p384, rsa-3072", type_name);
      return NULL;
    }
  json_t *d = json_object_get (args, "days");
  if (d)
    {
      /* For tests of renewal and for short-lived setups. */
      if (!json_is_integer (d) || json_integer_value (d) < 1
          || json_integer_value (d) > GENERATE_DAYS_MAX)
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "days: a number from 1 to %d",
                       GENERATE_DAYS_MAX);
          return NULL;
        }
      days = json_integer_value (d);
    }
  json_t *st = json_object_get (args, "stage");
  if (st && !json_is_boolean (st))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "stage: true or false");
      return NULL;
    }
  gboolean stage = json_is_true (st);
  g_autoptr (CgCertPair) pair = cg_tls_store_generate (type, (guint) days, stage, error);
  cg_audit_log (who, "local", "cert.generate", pair ? cg_cert_pair_get_spki_pin (pair) : NULL,
                pair ? "ok" : (*error)->message);
  if (!pair)
    return NULL;
  return json_pack ("{s:b, s:o}", "staged", stage, "certificate",
                    cg_admin_cert_describe (pair, stage ? "staged" : "self-signed"));
}

json_t *
cg_admin_cmd_cert_export (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", NULL };
  if (!cg_json_check_fields (args, allowed, NULL, error))
    return NULL;
  g_autoptr (CgCertPair) pair = cg_tls_get_pair ();
  if (!pair)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no certificate is served");
      return NULL;
    }
  g_autofree char *pem = cg_cert_pair_chain_pem (pair);
  return json_pack ("{s:s, s:s}", "pem", pem, "pin", cg_cert_pair_get_spki_pin (pair));
}

json_t *
cg_admin_cmd_cert_activate (CgAgent *agent, json_t *args, const char *who, GError **error)
{
  static const char *const allowed[] = { "command", NULL };
  if (!cg_json_check_fields (args, allowed, NULL, error))
    return NULL;
  g_autoptr (CgCertPair) pair = cg_tls_store_activate (error);
  cg_audit_log (who, "local", "cert.activate", pair ? cg_cert_pair_get_spki_pin (pair) : NULL,
                pair ? "ok" : (*error)->message);
  if (!pair)
    return NULL;
  return json_pack ("{s:o}", "certificate", cg_admin_cert_describe (pair, "installed"));
}
