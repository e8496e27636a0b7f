/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Export and import of the vault's keys and records, under the vault lock.
 * The format is in cg-backup.c; the rules in cg-vault-backup.h. */
#include "config.h"

#include "agent/cg-vault-backup.h"
#include "admin/cg-backup.h"
#include "agent/cg-db.h"
#include "agent/cg-keystore.h"
#include "agent/cg-record-seal.h"
#include "agent/cg-vault-private.h"
#include "certs/cg-cert.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "protocol/cg-names.h"
#include "jose/cg-p256.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <string.h>

#define KEY_LEN 32
#define HMAC_LEN 32
/* 2: the client CA and the enrolled clients ("clientCa", "clients");
 * a format 1 payload (older backups, escrow) has neither and still restores. */
#define PAYLOAD_FORMAT 2
/* Format 3: format 2 with "masterId" (a master key made by key rotate
 * --all); written only then, so older agents read every other backup. */
#define PAYLOAD_FORMAT_MASTER_ID 3

/* ---- export ----------------------------------------------------------- */

static char *
b64 (const void *data, gsize len)
{
  return g_base64_encode (data, len);
}

/* json string of secret base64; the temporary text is wiped. */
static json_t *
b64_secret (const CgBuf *buf)
{
  char *text = b64 (buf->data, buf->len);
  json_t *s = json_string (text);
  cg_wipe_str (text);
  return s;
}

static gboolean
export_keys_locked (CgVault *v, json_t *payload, json_t *summary_keys, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (
      v->db, "SELECT kid, created, current, retired FROM seal_keys ORDER BY created, rowid",
      error);
  if (!st)
    return FALSE;
  json_t *keys = json_array ();
  json_object_set_new (payload, "sealKeys", keys);
  gboolean ok = TRUE;
  int r;
  while (ok && (r = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *kid = (const char *) sqlite3_column_text (st, 0);
      const char *created = (const char *) sqlite3_column_text (st, 1);
      gboolean current = sqlite3_column_int (st, 2), retired = sqlite3_column_int (st, 3);
      /* Retired keys are not in memory; the keyring still has them. */
      g_autoptr (CgBuf) d = cg_keystore_lookup (v->instance, "seal", kid, error);
      if (!d)
        {
          if (error && !*error)
            g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                         "sealing key %s is missing from the secret store; no backup made",
                         kid);
          ok = FALSE;
          break;
        }
      json_t *k = json_pack ("{s:s, s:s, s:b, s:b}", "kid", kid, "created", created, "current",
                             current, "retired", retired);
      json_array_append_new (summary_keys, json_deep_copy (k));
      json_object_set_new (k, "d", b64_secret (d));
      json_array_append_new (keys, k);
    }
  if (ok && r != SQLITE_DONE)
    {
      cg_db_set_error (error, v->db, "cannot read the keys");
      ok = FALSE;
    }
  sqlite3_finalize (st);
  return ok;
}

static gboolean
export_records_locked (CgVault *v, json_t *payload, json_int_t *count, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (v->db,
                                    "SELECT name, type, properties, version, created, updated, "
                                    "sealed FROM credentials ORDER BY name",
                                    error);
  if (!st)
    return FALSE;
  json_t *list = json_array ();
  json_object_set_new (payload, "credentials", list);
  int r;
  gboolean ok = TRUE;
  while (ok && (r = sqlite3_step (st)) == SQLITE_ROW)
    {
      /* Every record under the payload's one master key: one that a key
       * rotate --all has not reached yet is re-sealed into the backup. */
      const char *name = (const char *) sqlite3_column_text (st, 0);
      gint64 version = sqlite3_column_int64 (st, 3);
      g_autoptr (GBytes) blob = g_bytes_new (sqlite3_column_blob (st, 6),
                                             sqlite3_column_bytes (st, 6));
      gsize len;
      const guint8 *data = g_bytes_get_data (blob, &len);
      g_autofree char *mkid = cg_record_master_id (data, len);
      if (!mkid || !g_str_equal (mkid, v->master_id))
        {
          g_autoptr (CgBuf) plain = cg_vault_open_record_locked (v, name, version, blob, error);
          if (!plain)
            {
              g_prefix_error (error, "credential \"%s\": ", name);
              ok = FALSE;
              break;
            }
          g_bytes_unref (blob);
          blob = cg_record_seal (v->master, v->master_id, name, version, plain->data,
                                 plain->len);
          data = g_bytes_get_data (blob, &len);
        }
      g_autofree char *sealed = b64 (data, len);
      json_array_append_new (
          list, json_pack ("{s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "name",
                           sqlite3_column_text (st, 0), "type", sqlite3_column_text (st, 1),
                           "properties", sqlite3_column_text (st, 2), "version",
                           (json_int_t) sqlite3_column_int64 (st, 3), "created",
                           sqlite3_column_text (st, 4), "updated", sqlite3_column_text (st, 5),
                           "sealed", sealed));
    }
  sqlite3_finalize (st);
  if (!ok)
    return FALSE;
  if (r != SQLITE_DONE)
    {
      cg_db_set_error (error, v->db, "cannot read the credentials");
      return FALSE;
    }
  *count = json_array_size (list);
  return TRUE;
}

/* Tokens travel with their HMAC key, so that clients keep their tokens
 * when the agent moves to a new host: the key is no more secret than the
 * master key next to it, and only HMACs are stored, never tokens. */
static gboolean
export_tokens_locked (CgVault *v, json_t *payload, json_int_t *count, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (
      v->db, "SELECT name, hmac, created, last_used FROM tokens ORDER BY name", error);
  if (!st)
    return FALSE;
  json_t *list = json_array ();
  json_object_set_new (payload, "tokenKey", b64_secret (cg_vault_tokens_key (v)));
  json_object_set_new (payload, "tokens", list);
  int r;
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_autofree char *hmac = b64 (sqlite3_column_blob (st, 1), sqlite3_column_bytes (st, 1));
      json_array_append_new (list, json_pack ("{s:s, s:s, s:s, s:s?}", "name",
                                              sqlite3_column_text (st, 0), "hmac", hmac,
                                              "created", sqlite3_column_text (st, 2),
                                              "last_used", sqlite3_column_text (st, 3)));
    }
  sqlite3_finalize (st);
  if (r != SQLITE_DONE)
    {
      cg_db_set_error (error, v->db, "cannot read the tokens");
      return FALSE;
    }
  *count = json_array_size (list);
  return TRUE;
}

/* The client CA's key and certificate and every certificate it signed
 * (revoked ones too, so that they stay refused), if this agent has a
 * client CA.  Pending enrollment codes stay behind: they are one-time and
 * short-lived, and a new one is a command away. */
static gboolean
export_clients_locked (CgVault *v, json_t *payload, json_t *summary, GError **error)
{
  GError *local = NULL;
  g_autofree char *pem = cg_db_meta_get (v->db, "client_ca_cert", &local);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (!pem)
    return TRUE;
  g_autoptr (CgBuf) d = cg_keystore_lookup (v->instance, "clientca", "", error);
  if (!d)
    {
      if (error && !*error)
        g_set_error_literal (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                             "the client CA key is missing from the secret store; no backup "
                             "made");
      return FALSE;
    }
  g_autofree char *pin = cg_vault_clients_ca_pin (pem, error);
  if (!pin)
    return FALSE;
  sqlite3_stmt *st = cg_db_prepare (v->db,
                                    "SELECT serial, name, spki, enrolled, expires, revoked, "
                                    "revoked_reason, last_used FROM clients ORDER BY name, "
                                    "enrolled, serial",
                                    error);
  if (!st)
    return FALSE;
  json_t *list = json_array ();
  json_t *ca = json_pack ("{s:s}", "cert", pem);
  json_object_set_new (ca, "d", b64_secret (d));
  json_object_set_new (payload, "clientCa", ca);
  json_object_set_new (payload, "clients", list);
  int r;
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    json_array_append_new (
        list, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?}", "serial",
                         sqlite3_column_text (st, 0), "name", sqlite3_column_text (st, 1),
                         "spki", sqlite3_column_text (st, 2), "enrolled",
                         sqlite3_column_text (st, 3), "expires", sqlite3_column_text (st, 4),
                         "revoked", sqlite3_column_text (st, 5), "revokedReason",
                         sqlite3_column_text (st, 6), "lastUsed",
                         sqlite3_column_text (st, 7)));
  sqlite3_finalize (st);
  if (r != SQLITE_DONE)
    {
      cg_db_set_error (error, v->db, "cannot read the enrolled clients");
      return FALSE;
    }
  json_object_set_new (summary, "clients", json_integer (json_array_size (list)));
  json_object_set_new (summary, "clientCa", json_string (pin));
  return TRUE;
}

GBytes *
cg_vault_backup_export (CgVault *v, const char *passphrase, guint32 iterations, json_t *tls,
                        json_t *tls_summary, json_t **summary_out, GError **error)
{
  g_autofree char *now = cg_vault_now_rfc3339 ();
  json_auto_t *payload = NULL;
  json_auto_t *summary = NULL;
  json_int_t n_creds = 0, n_tokens = 0;
  gboolean ok = FALSE;

  /* Reading is under the lock, so the file is one consistent moment;
   * the slow key derivation happens after it is released. */
  g_mutex_lock (&v->lock);
  if (cg_vault_ensure_keys (v, error))
    {
      gboolean first = g_str_equal (v->master_id, CG_RECORD_MASTER_FIRST);
      payload = json_pack ("{s:i, s:s, s:s}", "format",
                           first ? PAYLOAD_FORMAT : PAYLOAD_FORMAT_MASTER_ID, "created", now,
                           "sourceInstance", v->instance);
      json_object_set_new (payload, "master", b64_secret (v->master));
      if (!first)
        json_object_set_new (payload, "masterId", json_string (v->master_id));
      summary = json_pack ("{s:i, s:s, s:s, s:s, s:[]}", "format", CG_BACKUP_FORMAT, "created",
                           now, "agentVersion", PACKAGE_VERSION, "sourceInstance", v->instance,
                           "keys");
      ok = export_keys_locked (v, payload, json_object_get (summary, "keys"), error)
           && export_records_locked (v, payload, &n_creds, error)
           && export_tokens_locked (v, payload, &n_tokens, error)
           && export_clients_locked (v, payload, summary, error);
    }
  g_mutex_unlock (&v->lock);
  if (!ok)
    return NULL;

  json_object_set_new (summary, "credentials", json_integer (n_creds));
  json_object_set_new (summary, "tokens", json_integer (n_tokens));
  if (tls)
    json_object_set (payload, "tls", tls);
  if (tls_summary)
    json_object_set (summary, "certificate", tls_summary);
  char *text = cg_json_dump (payload);
  g_autoptr (CgBuf) plain = cg_buf_new_copy (text, strlen (text));
  cg_wipe_str (text);
  GBytes *file = cg_backup_seal (passphrase, summary, plain, iterations, error);
  if (file && summary_out)
    *summary_out = json_incref (summary);
  return file;
}

/* ---- import: parse and check ------------------------------------------ */

typedef struct
{
  const char *kid, *created;
  gboolean current, retired;
  CgBuf *d;
} PKey;

typedef struct
{
  const char *name, *type, *properties, *created, *updated;
  gint64 version;
  guint8 *sealed;
  gsize sealed_len;
  CgBuf *plain;           /* opened under the backup's master key */
} PCred;

typedef struct
{
  const char *name, *created, *last_used;
  guint8 *hmac;
} PToken;

typedef struct
{
  const char *serial, *name, *spki, *enrolled, *expires, *revoked, *revoked_reason, *last_used;
} PClient;

typedef struct
{
  CgBuf *master;
  const char *master_id; /* "0" when the payload names none; borrowed */
  CgBuf *token_key;
  GArray *keys;   /* PKey */
  GArray *creds;  /* PCred */
  GArray *tokens; /* PToken */
  CgBuf *client_ca_key;       /* the client CA's P-256 scalar, NULL if none */
  const char *client_ca_cert; /* its certificate (PEM), borrowed from the payload */
  GArray *clients;            /* PClient */
} Payload;

static void
payload_clear (Payload *p)
{
  cg_buf_free (p->master);
  cg_buf_free (p->token_key);
  if (p->keys)
    {
      for (guint i = 0; i < p->keys->len; i++)
        cg_buf_free (g_array_index (p->keys, PKey, i).d);
      g_array_unref (p->keys);
    }
  if (p->creds)
    {
      for (guint i = 0; i < p->creds->len; i++)
        {
          PCred *c = &g_array_index (p->creds, PCred, i);
          g_free (c->sealed);
          cg_buf_free (c->plain);
        }
      g_array_unref (p->creds);
    }
  if (p->tokens)
    {
      for (guint i = 0; i < p->tokens->len; i++)
        g_free (g_array_index (p->tokens, PToken, i).hmac);
      g_array_unref (p->tokens);
    }
  cg_buf_free (p->client_ca_key);
  if (p->clients)
    g_array_unref (p->clients);
  memset (p, 0, sizeof *p);
}

static gboolean bad (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
bad (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *message = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, message);
  return FALSE;
}

/* Decode base64 of exactly @want bytes (0: any) into a secret buffer. */
static CgBuf *
decode_b64 (json_t *value, gsize want)
{
  const char *text = json_string_value (value);
  if (!text || !*text)
    return NULL;
  gsize len = 0;
  guchar *raw = g_base64_decode (text, &len);
  CgBuf *buf = NULL;
  if (raw && (want == 0 || len == want))
    buf = cg_buf_new_copy (raw, len);
  if (raw)
    cg_wipe (raw, len);
  g_free (raw);
  return buf;
}

static gboolean
parse_keys (Payload *p, json_t *keys, GError **error)
{
  size_t i;
  json_t *k;
  int currents = 0;
  if (!json_is_array (keys) || json_array_size (keys) == 0)
    return bad (error, "the backup holds no %s", "sealing keys");
  json_array_foreach (keys, i, k)
    {
      PKey pk = { 0 };
      json_t *d = NULL;
      json_error_t jerr;
      if (json_unpack_ex (k, &jerr, JSON_STRICT, "{s:s, s:s, s:b, s:b, s:o}", "kid", &pk.kid,
                          "created", &pk.created, "current", &pk.current, "retired",
                          &pk.retired, "d", &d)
          < 0)
        return bad (error, "a sealing key in the backup is malformed: %s", jerr.text);
      pk.d = decode_b64 (d, KEY_LEN);
      if (!pk.d)
        return bad (error, "sealing key %s in the backup is malformed", pk.kid);
      g_array_append_val (p->keys, pk);
      /* The kid must be the key's: a mislabelled key would make values
       * look openable that are not. */
      g_autoptr (GError) local = NULL;
      g_autoptr (CgSealKey) key = cg_seal_key_new_from_private (pk.d->data, pk.d->len, &local);
      if (!key || !g_str_equal (cg_seal_key_get_kid (key), pk.kid))
        return bad (error, "sealing key %s in the backup does not match its kid", pk.kid);
      for (guint j = 0; j + 1 < p->keys->len; j++)
        if (g_str_equal (g_array_index (p->keys, PKey, j).kid, pk.kid))
          return bad (error, "sealing key %s appears twice in the backup", pk.kid);
      currents += pk.current;
      if (pk.current && pk.retired)
        return bad (error, "sealing key %s is both current and retired", pk.kid);
    }
  if (currents != 1)
    return bad (error, "the backup must name exactly one current sealing key%s", "");
  return TRUE;
}

static gboolean
parse_creds (Payload *p, json_t *creds, GError **error)
{
  size_t i;
  json_t *c;
  if (!creds)
    return TRUE;
  if (!json_is_array (creds))
    return bad (error, "the backup's %s are malformed", "credentials");
  json_array_foreach (creds, i, c)
    {
      PCred pc = { 0 };
      const char *sealed = NULL;
      json_int_t version = 0;
      json_error_t jerr;
      if (json_unpack_ex (c, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "name",
                          &pc.name, "type", &pc.type, "properties", &pc.properties, "version",
                          &version, "created", &pc.created, "updated", &pc.updated, "sealed",
                          &sealed)
          < 0)
        return bad (error, "a credential in the backup is malformed: %s", jerr.text);
      if (!cg_name_is_valid (pc.name) || version < 1)
        return bad (error, "a credential in the backup has a bad name or version: %s",
                    pc.name);
      pc.version = version;
      pc.sealed = g_base64_decode (sealed, &pc.sealed_len);
      g_array_append_val (p->creds, pc);
      PCred *added = &g_array_index (p->creds, PCred, p->creds->len - 1);
      /* Open every record now: a backup whose records do not open under
       * its own master key is refused before anything is written. */
      added->plain = cg_record_open (p->master, p->master_id, pc.name, pc.version, pc.sealed,
                                     pc.sealed_len, NULL);
      if (!added->plain)
        return bad (error, "credential %s in the backup does not open under its master key",
                    pc.name);
      for (guint j = 0; j + 1 < p->creds->len; j++)
        if (g_str_equal (g_array_index (p->creds, PCred, j).name, pc.name))
          return bad (error, "credential %s appears twice in the backup", pc.name);
    }
  return TRUE;
}

static gboolean
parse_tokens (Payload *p, json_t *tokens, json_t *token_key, GError **error)
{
  size_t i;
  json_t *t;
  if (!tokens)
    return TRUE;
  if (!json_is_array (tokens) || !(p->token_key = decode_b64 (token_key, KEY_LEN)))
    return bad (error, "the backup's %s are malformed", "tokens");
  json_array_foreach (tokens, i, t)
    {
      PToken pt = { 0 };
      const char *hmac = NULL;
      json_t *last_used = NULL;
      json_error_t jerr;
      if (json_unpack_ex (t, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s?o}", "name", &pt.name,
                          "hmac", &hmac, "created", &pt.created, "last_used", &last_used)
          < 0)
        return bad (error, "a token in the backup is malformed: %s", jerr.text);
      if (last_used && !json_is_null (last_used) && !json_is_string (last_used))
        return bad (error, "token %s in the backup is malformed", pt.name);
      pt.last_used = json_string_value (last_used);
      gsize len = 0;
      pt.hmac = g_base64_decode (hmac, &len);
      g_array_append_val (p->tokens, pt);
      if (len != HMAC_LEN || !cg_name_is_valid (pt.name))
        return bad (error, "token %s in the backup is malformed", pt.name);
    }
  return TRUE;
}

/* A JSON string or null/absent (NULL); FALSE for anything else. */
static gboolean
opt_str (json_t *value, const char **out)
{
  *out = json_string_value (value);
  return !value || json_is_null (value) || json_is_string (value);
}

static gboolean
parse_clients (Payload *p, json_t *ca, json_t *clients, GError **error)
{
  size_t i;
  json_t *c, *d = NULL;
  json_error_t jerr;
  if (!ca && !clients)
    return TRUE;
  if (!ca || !json_is_array (clients)
      || json_unpack_ex (ca, &jerr, JSON_STRICT, "{s:s, s:o}", "cert", &p->client_ca_cert, "d",
                         &d)
             < 0
      || !(p->client_ca_key = decode_b64 (d, CG_P256_LEN)))
    return bad (error, "the backup's %s is malformed", "client CA");
  /* The key must be the certificate's: a mismatched pair would restore a
   * CA that signs certificates its own check refuses. */
  if (!cg_vault_clients_ca_matches (p->client_ca_cert, p->client_ca_key))
    return bad (error, "the backup's client CA key does not match its certificate%s", "");
  g_autoptr (GHashTable) serials = g_hash_table_new (g_str_hash, g_str_equal);
  json_array_foreach (clients, i, c)
    {
      PClient pc = { 0 };
      json_t *revoked = NULL, *reason = NULL, *last_used = NULL;
      if (json_unpack_ex (c, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:s, s:s, s?o, s?o, s?o}",
                          "serial", &pc.serial, "name", &pc.name, "spki", &pc.spki, "enrolled",
                          &pc.enrolled, "expires", &pc.expires, "revoked", &revoked,
                          "revokedReason", &reason, "lastUsed", &last_used)
          < 0)
        return bad (error, "an enrolled client in the backup is malformed: %s", jerr.text);
      if (!cg_name_is_valid (pc.name) || !*pc.serial || !*pc.spki
          || !opt_str (revoked, &pc.revoked) || !opt_str (reason, &pc.revoked_reason)
          || !opt_str (last_used, &pc.last_used))
        return bad (error, "an enrolled client in the backup is malformed: %s", pc.name);
      /* Why it was revoked is one of the two words the agent writes. */
      if (pc.revoked && g_strcmp0 (pc.revoked_reason, "superseded") != 0)
        pc.revoked_reason = "revoked";
      if (!pc.revoked)
        pc.revoked_reason = NULL;
      if (!g_hash_table_add (serials, (gpointer) pc.serial))
        return bad (error, "client certificate %s appears twice in the backup", pc.serial);
      g_array_append_val (p->clients, pc);
    }
  return TRUE;
}

static gboolean
parse_payload (Payload *p, json_t *payload, GError **error)
{
  json_t *format = NULL, *master = NULL, *keys = NULL, *creds = NULL, *token_key = NULL,
         *tokens = NULL, *tls = NULL, *client_ca = NULL, *clients = NULL;
  const char *created = NULL, *source = NULL, *master_id = NULL;
  json_error_t jerr;

  p->keys = g_array_new (FALSE, TRUE, sizeof (PKey));
  p->creds = g_array_new (FALSE, TRUE, sizeof (PCred));
  p->tokens = g_array_new (FALSE, TRUE, sizeof (PToken));
  p->clients = g_array_new (FALSE, TRUE, sizeof (PClient));
  if (json_unpack_ex (payload, &jerr, JSON_STRICT,
                      "{s:o, s?s, s?s, s:o, s?s, s:o, s?o, s?o, s?o, s?o, s?o, s?o}",
                      "format", &format, "created", &created, "sourceInstance", &source,
                      "master", &master, "masterId", &master_id, "sealKeys", &keys, "credentials", &creds, "tokenKey", &token_key,
                      "tokens", &tokens, "tls", &tls, "clientCa", &client_ca, "clients",
                      &clients)
      < 0)
    return bad (error, "the backup's contents are malformed: %s", jerr.text);
  if (tls && !json_is_object (tls))
    return bad (error, "the backup's %s is malformed", "certificate");
  if (!json_is_integer (format) || json_integer_value (format) < 1
      || json_integer_value (format) > PAYLOAD_FORMAT_MASTER_ID)
    return bad (error, "the backup's contents have an unknown format%s", "");
  if ((master_id != NULL) != (json_integer_value (format) == PAYLOAD_FORMAT_MASTER_ID)
      || (master_id && !cg_record_master_id_valid (master_id)))
    return bad (error, "the backup's %s is malformed", "master key id");
  p->master_id = master_id ? master_id : CG_RECORD_MASTER_FIRST;
  if (json_integer_value (format) < 2 && (client_ca || clients))
    return bad (error, "the backup's contents are malformed: %s", "client CA in format 1");
  if (!(p->master = decode_b64 (master, KEY_LEN)))
    return bad (error, "the backup's %s is malformed", "master key");
  return parse_keys (p, keys, error) && parse_creds (p, creds, error)
         && parse_tokens (p, tokens, token_key, error)
         && parse_clients (p, client_ca, clients, error);
}

/* ---- import: the agent's side ----------------------------------------- */

typedef struct
{
  gboolean current, retired;
} Row;

typedef struct
{
  gint64 version;
  GBytes *sealed;
} LiveCred;

static void
live_cred_free (gpointer p)
{
  LiveCred *c = p;
  g_bytes_unref (c->sealed);
  g_free (c);
}

typedef struct
{
  gboolean keys_created;
  char *master_id;    /* the agent's current master key id */
  CgBuf *master;      /* from the keyring, NULL if absent */
  GHashTable *rows;   /* kid → Row */
  GHashTable *creds;  /* name → LiveCred */
  gint64 n_tokens;
  gint64 n_clients;     /* enrolled client certificates, revoked ones too */
  char *client_ca_cert; /* this agent's client CA certificate, NULL if none */
} Target;

static void
target_clear (Target *t)
{
  cg_buf_free (t->master);
  g_free (t->master_id);
  g_free (t->client_ca_cert);
  g_clear_pointer (&t->rows, g_hash_table_unref);
  g_clear_pointer (&t->creds, g_hash_table_unref);
}

static gboolean
read_target_locked (CgVault *v, Target *t, GError **error)
{
  GError *local = NULL;
  t->rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  t->creds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, live_cred_free);

  /* Keys that load, or are missing from an unlocked keyring (a state.db
   * from another host): both are fine here; locked or absent is not. */
  if (!cg_vault_ensure_keys (v, &local))
    {
      if (!g_error_matches (local, CG_ERROR, CG_ERROR_KEYS_MISSING))
        {
          g_propagate_error (error, local);
          return FALSE;
        }
      g_clear_error (&local);
    }
  g_autofree char *created = cg_db_meta_get (v->db, "keys_created", &local);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  t->keys_created = created != NULL;
  t->master_id = cg_db_meta_get (v->db, CG_VAULT_META_MASTER_CURRENT, &local);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (!t->master_id)
    t->master_id = g_strdup (CG_RECORD_MASTER_FIRST);
  t->master = cg_record_master_id_valid (t->master_id)
                  ? cg_keystore_lookup (v->instance, "master",
                                        cg_record_master_keyring_kid (t->master_id), &local)
                  : NULL;
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }

  sqlite3_stmt *st = cg_db_prepare (v->db, "SELECT kid, current, retired FROM seal_keys", error);
  if (!st)
    return FALSE;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      Row *r = g_new0 (Row, 1);
      r->current = sqlite3_column_int (st, 1);
      r->retired = sqlite3_column_int (st, 2);
      g_hash_table_insert (t->rows, g_strdup ((const char *) sqlite3_column_text (st, 0)), r);
    }
  sqlite3_finalize (st);

  st = cg_db_prepare (v->db, "SELECT name, version, sealed FROM credentials", error);
  if (!st)
    return FALSE;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      LiveCred *c = g_new0 (LiveCred, 1);
      c->version = sqlite3_column_int64 (st, 1);
      c->sealed = g_bytes_new (sqlite3_column_blob (st, 2), sqlite3_column_bytes (st, 2));
      g_hash_table_insert (t->creds, g_strdup ((const char *) sqlite3_column_text (st, 0)), c);
    }
  sqlite3_finalize (st);

  st = cg_db_prepare (v->db, "SELECT count(*) FROM tokens", error);
  if (!st)
    return FALSE;
  if (sqlite3_step (st) == SQLITE_ROW)
    t->n_tokens = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);

  st = cg_db_prepare (v->db, "SELECT count(*) FROM clients", error);
  if (!st)
    return FALSE;
  if (sqlite3_step (st) == SQLITE_ROW)
    t->n_clients = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  t->client_ca_cert = cg_db_meta_get (v->db, "client_ca_cert", &local);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

typedef enum
{
  MODE_FRESH,
  MODE_RECOVER,
  MODE_MERGE,
} Mode;

static const char *const mode_names[] = { "fresh", "recover", "merge" };

static gboolean
same_bytes (GBytes *a, const guint8 *b, gsize blen)
{
  gsize alen;
  const guint8 *ad = g_bytes_get_data (a, &alen);
  return alen == blen && (blen == 0 || memcmp (ad, b, blen) == 0);
}

static gboolean
choose_mode (CgVault *v, Target *t, Payload *p, gboolean merge, Mode *mode, GError **error)
{
  guint n_rows = g_hash_table_size (t->rows), n_creds = g_hash_table_size (t->creds);

  if (!t->master && t->keys_created)
    {
      /* state.db from the old host, keys not in this keyring yet. */
      *mode = MODE_RECOVER;
      GHashTableIter it;
      gpointer name, value;
      g_hash_table_iter_init (&it, t->creds);
      while (g_hash_table_iter_next (&it, &name, &value))
        {
          LiveCred *c = value;
          gsize len;
          const guint8 *blob = g_bytes_get_data (c->sealed, &len);
          g_autoptr (CgBuf) plain = cg_record_open (p->master, p->master_id, name, c->version,
                                                    blob, len, NULL);
          if (!plain)
            {
              g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                           "the backup's master key does not open credential \"%s\" in this "
                           "agent's state.db: the backup is from another agent; nothing was "
                           "restored",
                           (const char *) name);
              return FALSE;
            }
        }
      /* Every key state.db still uses must come back. */
      g_autoptr (GString) missing = g_string_new (NULL);
      g_hash_table_iter_init (&it, t->rows);
      while (g_hash_table_iter_next (&it, &name, &value))
        {
          gboolean found = ((Row *) value)->retired;
          for (guint i = 0; !found && i < p->keys->len; i++)
            found = g_str_equal (g_array_index (p->keys, PKey, i).kid, name);
          g_autoptr (CgBuf) have = found ? NULL : cg_keystore_lookup (v->instance, "seal", name, NULL);
          if (!found && !have)
            g_string_append_printf (missing, " %s", (const char *) name);
        }
      if (missing->len)
        {
          g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                       "state.db uses sealing keys the backup lacks:%s; nothing was restored",
                       missing->str);
          return FALSE;
        }
      return TRUE;
    }
  if (!t->master || (n_creds == 0 && t->n_tokens == 0 && n_rows <= 1 && !merge))
    {
      *mode = MODE_FRESH;
      if (n_creds || t->n_tokens)
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_CONFLICT,
                               "state.db holds records but no keys were ever made; "
                               "nothing was restored");
          return FALSE;
        }
      return TRUE;
    }
  if (!merge)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                   "this agent is in use (%u credentials, %" G_GINT64_FORMAT
                   " tokens, %u sealing keys); nothing was restored.  "
                   "Use restore --merge to add the backup to it",
                   n_creds, t->n_tokens, n_rows);
      return FALSE;
    }
  *mode = MODE_MERGE;
  return TRUE;
}

/* Names that exist on both sides; identical records are skipped. */
static gboolean
check_clashes (Target *t, Payload *p, Mode mode, GError **error)
{
  g_autoptr (GString) clash = g_string_new (NULL);
  guint n = 0;
  for (guint i = 0; i < p->creds->len; i++)
    {
      PCred *c = &g_array_index (p->creds, PCred, i);
      LiveCred *live = g_hash_table_lookup (t->creds, c->name);
      if (!live)
        continue;
      gboolean same_master = mode != MODE_MERGE
                             || (t->master && g_str_equal (t->master_id, p->master_id)
                                 && cg_equal_ct (t->master->data, p->master->data, KEY_LEN));
      if (same_master && live->version == c->version
          && same_bytes (live->sealed, c->sealed, c->sealed_len))
        continue;
      if (n++ < 20)
        g_string_append_printf (clash, "%s%s", clash->len ? ", " : "", c->name);
    }
  if (n == 0)
    return TRUE;
  g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
               "%u credential%s in the backup clash%s with different ones this agent holds: "
               "%s%s; nothing was restored (delete or rename one side first)",
               n, n == 1 ? "" : "s", n == 1 ? "es" : "", clash->str, n > 20 ? ", …" : "");
  return FALSE;
}

static gboolean
insert_key_row (CgVault *v, PKey *k, gboolean current, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (
      v->db, "INSERT INTO seal_keys (kid, created, current, retired) VALUES (?, ?, ?, ?)", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, k->kid, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, k->created, -1, SQLITE_STATIC);
  sqlite3_bind_int (st, 3, current);
  sqlite3_bind_int (st, 4, k->retired);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, v->db, "cannot record a restored key");
  sqlite3_finalize (st);
  return ok;
}

static gboolean
insert_cred_row (CgVault *v, PCred *c, GBytes *sealed, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (v->db,
                                    "INSERT INTO credentials (name, type, properties, version, "
                                    "created, updated, sealed) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                    error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, c->name, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, c->type, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, c->properties, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 4, c->version);
  sqlite3_bind_text (st, 5, c->created, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 6, c->updated, -1, SQLITE_STATIC);
  sqlite3_bind_blob (st, 7, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed),
                     SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, v->db, "cannot store a restored credential");
  sqlite3_finalize (st);
  return ok;
}

static gboolean
insert_token_row (CgVault *v, PToken *t, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (
      v->db, "INSERT INTO tokens (name, hmac, created, last_used) VALUES (?, ?, ?, ?)", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, t->name, -1, SQLITE_STATIC);
  sqlite3_bind_blob (st, 2, t->hmac, HMAC_LEN, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, t->created, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 4, t->last_used, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, v->db, "cannot store a restored token");
  sqlite3_finalize (st);
  return ok;
}

static gboolean
insert_client_row (CgVault *v, PClient *c, guint *added, GError **error)
{
  /* A row this agent already has (recover: the old host's state.db) keeps
   * its state: a certificate revoked there after the backup stays so. */
  sqlite3_stmt *st = cg_db_prepare (v->db,
                                    "INSERT OR IGNORE INTO clients (serial, name, spki, "
                                    "enrolled, expires, revoked, revoked_reason, last_used) "
                                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                    error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, c->serial, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, c->name, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, c->spki, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 4, c->enrolled, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 5, c->expires, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 6, c->revoked, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 7, c->revoked_reason, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 8, c->last_used, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, v->db, "cannot store a restored client certificate");
  else
    *added += sqlite3_changes (v->db);
  sqlite3_finalize (st);
  return ok;
}

typedef struct
{
  guint keys_added, creds_added, creds_skipped, tokens_added, tokens_skipped;
  guint clients_added, clients_skipped;
} Counts;

static gboolean
update_key_row (CgVault *v, PKey *k, GError **error)
{
  sqlite3_stmt *st = cg_db_prepare (
      v->db, "UPDATE seal_keys SET current = ?, retired = ? WHERE kid = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_int (st, 1, k->current);
  sqlite3_bind_int (st, 2, k->retired);
  sqlite3_bind_text (st, 3, k->kid, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, v->db, "cannot record a restored key");
  sqlite3_finalize (st);
  return ok;
}

/* Inside the restore's transaction: writes every row. */
static gboolean
write_db_locked (CgVault *v, Target *t, Payload *p, Mode mode, gboolean with_tokens,
                 gboolean with_clients, Counts *n, GError **error)
{
  gboolean ok = TRUE;
  /* A fresh agent takes the backup's current key; the others keep theirs. */
  if (mode == MODE_FRESH)
    ok = cg_db_exec (v->db, "UPDATE seal_keys SET current = 0", error);
  for (guint i = 0; ok && i < p->keys->len; i++)
    {
      PKey *k = &g_array_index (p->keys, PKey, i);
      if (g_hash_table_contains (t->rows, k->kid))
        {
          /* A fresh agent restoring its own backup (or one made from it):
           * the key it has takes the backup's state, current included. */
          if (mode == MODE_FRESH)
            ok = update_key_row (v, k, error);
          continue;
        }
      gboolean current = mode == MODE_FRESH ? k->current
                         : mode == MODE_RECOVER ? (k->current && g_hash_table_size (t->rows) == 0)
                                                : FALSE;
      ok = insert_key_row (v, k, current, error);
      n->keys_added += ok;
    }
  for (guint i = 0; ok && i < p->creds->len; i++)
    {
      PCred *c = &g_array_index (p->creds, PCred, i);
      if (g_hash_table_contains (t->creds, c->name))
        {
          n->creds_skipped++;
          continue;
        }
      g_autoptr (GBytes) sealed = NULL;
      if (mode == MODE_MERGE)
        /* Under this agent's master key, with the same name and version. */
        sealed = cg_record_seal (t->master, t->master_id, c->name, c->version, c->plain->data,
                                 c->plain->len);
      else
        sealed = g_bytes_new (c->sealed, c->sealed_len);
      ok = insert_cred_row (v, c, sealed, error);
      n->creds_added += ok;
    }
  for (guint i = 0; ok && with_tokens && i < p->tokens->len; i++)
    {
      ok = insert_token_row (v, &g_array_index (p->tokens, PToken, i), error);
      n->tokens_added += ok;
    }
  if (!with_tokens)
    n->tokens_skipped = p->tokens->len;
  /* The client CA's certificate with its key (stored already), and the
   * certificates it signed. */
  if (ok && with_clients)
    ok = cg_db_meta_set (v->db, "client_ca_cert", p->client_ca_cert, error);
  for (guint i = 0; ok && with_clients && i < p->clients->len; i++)
    ok = insert_client_row (v, &g_array_index (p->clients, PClient, i), &n->clients_added,
                            error);
  if (!with_clients)
    n->clients_skipped = p->clients->len;
  /* Fresh and recover: the backup's master key is the current one (the
   * records were checked to open under it), and no rotation is pending. */
  if (ok && mode != MODE_MERGE)
    ok = cg_db_meta_set (v->db, CG_VAULT_META_MASTER_CURRENT, p->master_id, error)
         && cg_db_meta_set (v->db, CG_VAULT_META_MASTER_OLD, "", error);
  return ok && cg_db_meta_set (v->db, "keys_created", "1", error);
}

static gint64
count_rows (CgVault *v, const char *sql)
{
  sqlite3_stmt *st = cg_db_prepare (v->db, sql, NULL);
  gint64 n = -1;
  if (st && sqlite3_step (st) == SQLITE_ROW)
    n = sqlite3_column_int64 (st, 0);
  if (st)
    sqlite3_finalize (st);
  return n;
}

/* Drop the keys in memory and load them as a start would: from the
 * database as this connection sees it (inside the restore's transaction,
 * or after it) and the keyring. */
static gboolean
reload_keys_locked (CgVault *v, GError **error)
{
  cg_vault_forget_keys_locked (v);
  return cg_vault_ensure_keys (v, error);
}

/* The invariant every restore keeps, checked on what it wrote before the
 * transaction commits: exactly one current sealing key, not retired; the
 * keys load; the current key seals and opens a new value, and the master
 * key a new record. */
static gboolean
check_restored_locked (CgVault *v, GError **error)
{
  gint64 current = count_rows (v, "SELECT count(*) FROM seal_keys WHERE current = 1");
  gint64 usable
      = count_rows (v, "SELECT count(*) FROM seal_keys WHERE current = 1 AND retired = 0");
  if (current != 1 || usable != 1)
    {
      if (current < 0 || usable < 0)
        cg_db_set_error (error, v->db, "cannot read the restored keys; nothing was restored");
      else if (current == 0)
        g_set_error_literal (error, CG_ERROR, CG_ERROR_CONFLICT,
                             "the restore would leave no current sealing key (this agent's "
                             "state database names none); nothing was restored");
      else
        g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                     "the restore would leave %" G_GINT64_FORMAT " current sealing keys "
                     "(%" G_GINT64_FORMAT " not retired), not exactly one; nothing was restored",
                     current, usable);
      return FALSE;
    }
  GError *local = NULL;
  if (!reload_keys_locked (v, &local))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                   "the restored keys do not load (%s); nothing was restored", local->message);
      g_error_free (local);
      return FALSE;
    }
  guint8 probe[32];
  if (gnutls_rnd (GNUTLS_RND_NONCE, probe, sizeof probe) < 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "no randomness");
      return FALSE;
    }
  g_autofree char *jwe = cg_jwe_seal (v->current, "credgate-restore-check", probe,
                                      sizeof probe, NULL);
  g_autoptr (CgBuf) opened = jwe ? cg_jwe_open (v->current, jwe, strlen (jwe),
                                               "credgate-restore-check", NULL)
                                 : NULL;
  g_autoptr (GBytes) record = cg_record_seal (v->master, v->master_id, "restore-check", 1,
                                              probe, sizeof probe);
  g_autoptr (CgBuf) reopened = cg_vault_open_record_locked (v, "restore-check", 1, record, NULL);
  if (!opened || opened->len != sizeof probe || memcmp (opened->data, probe, sizeof probe) != 0
      || !reopened || reopened->len != sizeof probe
      || memcmp (reopened->data, probe, sizeof probe) != 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_CONFLICT,
                   "the restored sealing key %s does not seal and open a value; nothing was "
                   "restored",
                   cg_seal_key_get_kid (v->current));
      return FALSE;
    }
  return TRUE;
}

/* What a restore changed outside the database, so a refusal after it can
 * put it back. */
typedef struct
{
  gboolean master_written;
  const char *master_kid; /* the keyring kid written (borrowed from the payload) */
  CgBuf *old_master;    /* the item it replaced, NULL if there was none */
  GPtrArray *new_seals; /* kids stored that were not in the keyring */
  CgBuf *old_token_key; /* set once token.key was replaced */
  gboolean client_ca_written;
  CgBuf *old_client_ca; /* the client CA key it replaced, NULL if there was none */
} Undo;

static void
undo_clear (Undo *u)
{
  cg_buf_free (u->old_master);
  cg_buf_free (u->old_token_key);
  cg_buf_free (u->old_client_ca);
  g_clear_pointer (&u->new_seals, g_ptr_array_unref);
}

/* Keyring items first (a crash after them leaves unused items, never rows
 * that name missing keys), the master key last, then the token key. */
static gboolean
write_outside_db_locked (CgVault *v, Target *t, Payload *p, Mode mode, gboolean with_tokens,
                         gboolean with_clients, Undo *u, GError **error)
{
  u->new_seals = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < p->keys->len; i++)
    {
      PKey *k = &g_array_index (p->keys, PKey, i);
      if (mode == MODE_MERGE && g_hash_table_contains (t->rows, k->kid))
        continue;
      GError *local = NULL;
      g_autoptr (CgBuf) have = cg_keystore_lookup (v->instance, "seal", k->kid, &local);
      if (local)
        {
          g_propagate_error (error, local);
          return FALSE;
        }
      if (!cg_keystore_store (v->instance, "seal", k->kid, k->d, error))
        return FALSE;
      /* The same kid is the same key: an item that was there stays. */
      if (!have)
        g_ptr_array_add (u->new_seals, g_strdup (k->kid));
    }
  if (with_clients)
    {
      GError *local = NULL;
      u->old_client_ca = cg_keystore_lookup (v->instance, "clientca", "", &local);
      if (local)
        {
          g_propagate_error (error, local);
          return FALSE;
        }
      u->client_ca_written = TRUE;
      if (!cg_keystore_store (v->instance, "clientca", "", p->client_ca_key, error))
        return FALSE;
    }
  if (mode != MODE_MERGE)
    {
      GError *local = NULL;
      u->master_kid = cg_record_master_keyring_kid (p->master_id);
      u->old_master = cg_keystore_lookup (v->instance, "master", u->master_kid, &local);
      if (local)
        {
          g_propagate_error (error, local);
          return FALSE;
        }
      u->master_written = TRUE;
      if (!cg_keystore_store (v->instance, "master", u->master_kid, p->master, error))
        return FALSE;
    }
  if (with_tokens)
    {
      g_autofree char *path = g_build_filename (v->state_dir, "token.key", NULL);
      CgBuf *key = cg_vault_tokens_key (v);
      g_autoptr (CgBuf) old = cg_buf_new_copy (key->data, key->len);
      if (!cg_file_write_atomic (path, p->token_key->data, p->token_key->len, 0600, error))
        return FALSE;
      u->old_token_key = g_steal_pointer (&old);
      /* Token checks read the key outside the vault lock (it never
       * changed before restore existed): overwrite it in place rather
       * than free a buffer one of them may be reading.  Same length. */
      g_assert (key->len == p->token_key->len);
      memcpy (key->data, p->token_key->data, p->token_key->len);
    }
  return TRUE;
}

/* Put back what write_outside_db_locked changed.  Best effort: what
 * cannot be undone is logged (an unused keyring item is harmless; a
 * master key that could not be put back is not, and says so). */
static void
undo_outside_db_locked (CgVault *v, Undo *u)
{
  g_autoptr (GError) error = NULL;
  if (u->old_token_key)
    {
      g_autofree char *path = g_build_filename (v->state_dir, "token.key", NULL);
      memcpy (cg_vault_tokens_key (v)->data, u->old_token_key->data, u->old_token_key->len);
      if (!cg_file_write_atomic (path, u->old_token_key->data, u->old_token_key->len, 0600,
                                 &error))
        {
          g_warning ("restore refused, but token.key could not be put back: %s",
                     error->message);
          g_clear_error (&error);
        }
    }
  if (u->master_written
      && !(u->old_master
               ? cg_keystore_store (v->instance, "master", u->master_kid, u->old_master, &error)
               : cg_keystore_delete (v->instance, "master", u->master_kid, &error)))
    {
      g_warning ("restore refused, but the master key could not be put back: %s",
                 error->message);
      g_clear_error (&error);
    }
  if (u->client_ca_written
      && !(u->old_client_ca
               ? cg_keystore_store (v->instance, "clientca", "", u->old_client_ca, &error)
               : cg_keystore_delete (v->instance, "clientca", "", &error)))
    {
      g_warning ("restore refused, but the client CA key could not be put back: %s",
                 error->message);
      g_clear_error (&error);
    }
  for (guint i = 0; u->new_seals && i < u->new_seals->len; i++)
    if (!cg_keystore_delete (v->instance, "seal", u->new_seals->pdata[i], &error))
      {
        g_message ("restore refused; an unused keyring item stays: %s", error->message);
        g_clear_error (&error);
      }
}

/* The tokens a restore brought back, by name, so that the admin sees one
 * revoked after the backup was made. */
static json_t *
restored_tokens (Payload *p, gboolean with_tokens)
{
  json_t *list = json_array ();
  for (guint i = 0; with_tokens && i < p->tokens->len; i++)
    {
      PToken *t = &g_array_index (p->tokens, PToken, i);
      json_array_append_new (list, json_pack ("{s:s, s:s, s:s?}", "name", t->name, "created",
                                              t->created, "lastUsed", t->last_used));
    }
  return list;
}

/* The client certificates a restore brought back, by name: one revoked on
 * the old agent after the backup was made works here again. */
static json_t *
restored_clients (Payload *p, gboolean with_clients)
{
  json_t *list = json_array ();
  for (guint i = 0; with_clients && i < p->clients->len; i++)
    {
      PClient *c = &g_array_index (p->clients, PClient, i);
      json_array_append_new (list, json_pack ("{s:s, s:s, s:s, s:s, s:s?}", "name", c->name,
                                              "serial", c->serial, "enrolled", c->enrolled,
                                              "expires", c->expires, "revoked", c->revoked));
    }
  return list;
}

static const char *
skipped_reason (guint skipped, CgRestoreFlags flags, Mode mode)
{
  return !skipped                         ? NULL
         : (flags & CG_RESTORE_NO_TOKENS) ? "asked"
         : mode == MODE_MERGE             ? "merge"
                                          : "in-use";
}

typedef struct
{
  CgVault *v;
  Target *t;
  Payload *p;
  Mode mode;
  gboolean with_tokens, with_clients;
  Counts *n;
} RestoreTxn;

/* The rows, then the invariant on what they made; the commit follows
 * only when both hold. */
static gboolean
restore_txn (sqlite3 *db, gpointer user_data, GError **error)
{
  (void) db;
  RestoreTxn *r = user_data;
  return write_db_locked (r->v, r->t, r->p, r->mode, r->with_tokens, r->with_clients, r->n,
                          error)
         && check_restored_locked (r->v, error);
}

static json_t *
restore_locked (CgVault *v, Payload *p, CgRestoreFlags flags, GError **error)
{
  Target t = { 0 };
  Undo u = { 0 };
  Mode mode;
  Counts n = { 0 };
  json_t *result = NULL;
  gboolean with_tokens = FALSE, with_clients = FALSE;

  if (!read_target_locked (v, &t, error)
      || !choose_mode (v, &t, p, (flags & CG_RESTORE_MERGE) != 0, &mode, error)
      || !check_clashes (&t, p, mode, error))
    goto out;
  /* Tokens come only with their own key, onto an agent that has none, and
   * only if the admin wants them. */
  with_tokens = !(flags & CG_RESTORE_NO_TOKENS) && mode != MODE_MERGE && t.n_tokens == 0
                && p->token_key;
  /* Client certificates likewise (--no-tokens leaves them out too): the
   * backup's client CA replaces this agent's only while that has signed
   * nothing, or is the same CA (recover onto the old host's state.db). */
  with_clients = !(flags & CG_RESTORE_NO_TOKENS) && mode != MODE_MERGE && p->client_ca_key
                 && (t.n_clients == 0
                     || g_strcmp0 (t.client_ca_cert, p->client_ca_cert) == 0);

  /* Everything is checked; now the writes, then the invariant on what
   * they made, then the commit.  A refusal at any step puts back what was
   * written, so nothing changed. */
  if (!write_outside_db_locked (v, &t, p, mode, with_tokens, with_clients, &u, error))
    goto undo;
  RestoreTxn txn = { v, &t, p, mode, with_tokens, with_clients, &n };
  if (!cg_db_transaction (v->db, restore_txn, &txn, error))
    goto undo;
  if (with_clients)
    cg_vault_emit_locked (v, CG_VAULT_CLIENT_CA_RESTORED);

  /* Committed: load what is now there, as a start would. */
  {
    GError *local = NULL;
    if (!reload_keys_locked (v, &local))
      {
        g_warning ("restored, but the keys do not load: %s", local->message);
        g_error_free (local);
      }
  }
  cg_vault_emit_locked (v, CG_VAULT_RESTORED);

  result = json_pack (
      "{s:s, s:i, s:i, s:i, s:i, s:i, s:s?, s:o, s:i, s:i, s:s?, s:o, s:s?}", "mode",
      mode_names[mode], "keysAdded", n.keys_added, "credentialsAdded", n.creds_added,
      "credentialsSkipped", n.creds_skipped, "tokensAdded", n.tokens_added, "tokensSkipped",
      n.tokens_skipped, "tokensSkippedReason", skipped_reason (n.tokens_skipped, flags, mode),
      "tokens", restored_tokens (p, with_tokens), "clientsAdded", n.clients_added,
      "clientsSkipped", n.clients_skipped, "clientsSkippedReason",
      skipped_reason (n.clients_skipped, flags, mode), "clients",
      restored_clients (p, with_clients), "kid",
      v->current ? cg_seal_key_get_kid (v->current) : NULL);
  goto out;

undo:
  undo_outside_db_locked (v, &u);
  /* The keys as they were (or the reason they do not load, as before). */
  reload_keys_locked (v, NULL);
out:
  undo_clear (&u);
  target_clear (&t);
  return result;
}

json_t *
cg_vault_restore_payload (CgVault *v, json_t *payload, CgRestoreFlags flags, GError **error)
{
  Payload p = { 0 };
  json_t *result = NULL;
  if (parse_payload (&p, payload, error))
    {
      g_mutex_lock (&v->lock);
      result = restore_locked (v, &p, flags, error);
      g_mutex_unlock (&v->lock);
    }
  payload_clear (&p);
  return result;
}

json_t *
cg_vault_backup_import (CgVault *v, const guint8 *file, gsize len, const char *passphrase,
                        CgRestoreFlags flags, json_t **tls, GError **error)
{
  json_auto_t *summary = NULL;
  g_autoptr (CgBuf) plain = cg_backup_open (file, len, passphrase, &summary, error);
  if (!plain)
    return NULL;
  g_autoptr (GError) local = NULL;
  json_auto_t *payload = cg_json_load_strict ((const char *) plain->data, plain->len, &local);
  if (!payload)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the backup's contents are not valid JSON; nothing was restored");
      return NULL;
    }
  /* The summary is authenticated; it must also agree with the contents. */
  if (json_array_size (json_object_get (payload, "sealKeys"))
          != json_array_size (json_object_get (summary, "keys"))
      || (json_int_t) json_array_size (json_object_get (payload, "credentials"))
             != json_integer_value (json_object_get (summary, "credentials"))
      || (json_int_t) json_array_size (json_object_get (payload, "clients"))
             != json_integer_value (json_object_get (summary, "clients")))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the backup's summary disagrees with its contents; nothing was "
                           "restored");
      return NULL;
    }
  json_t *result = cg_vault_restore_payload (v, payload, flags, error);
  if (result && tls)
    *tls = json_incref (json_object_get (payload, "tls"));
  return result;
}
