/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-api.h"
#include "agent/cg-cluster.h"
#include "agent/cg-audit.h"
#include "agent/cg-tls.h"
#include "agent/cg-tls-store.h"
#include "agent/cg-web.h"
#include "common/cg-error.h"
#include "common/cg-json.h"
#include "protocol/cg-names.h"

#include <gnutls/gnutls.h>
#include <string.h>

#define CREDENTIALS_PREFIX "/v1/credentials/"

typedef enum MHD_Result (*Handler) (CgAgent *agent, CgRequest *req, const char *who,
                                    const char *name);

static enum MHD_Result handle_info (CgAgent *, CgRequest *, const char *, const char *);
static enum MHD_Result handle_list (CgAgent *, CgRequest *, const char *, const char *);
static enum MHD_Result handle_get (CgAgent *, CgRequest *, const char *, const char *);
static enum MHD_Result handle_put (CgAgent *, CgRequest *, const char *, const char *);
static enum MHD_Result handle_delete (CgAgent *, CgRequest *, const char *, const char *);
static enum MHD_Result handle_encrypt (CgAgent *, CgRequest *, const char *, const char *);
static enum MHD_Result handle_verify (CgAgent *, CgRequest *, const char *, const char *);
static enum MHD_Result handle_rewrap (CgAgent *, CgRequest *, const char *, const char *);
static enum MHD_Result handle_enroll (CgAgent *, CgRequest *, const char *, const char *);
static enum MHD_Result reply_sealed (CgRequest *req, const char *jwe);

/* The whole API.  A path ending in '/' takes one name segment after it. */
static const struct
{
  const char *method;
  const char *path;
  gboolean needs_token;
  gboolean writes; /* changes the vault's store: in a cluster, an etcd write */
  Handler handler;
} routes[] = {
  { "GET", "/v1/info", FALSE, FALSE, handle_info },
  { "GET", "/v1/credentials", TRUE, FALSE, handle_list },
  { "GET", CREDENTIALS_PREFIX, TRUE, FALSE, handle_get },
  { "PUT", CREDENTIALS_PREFIX, TRUE, TRUE, handle_put },
  { "DELETE", CREDENTIALS_PREFIX, TRUE, TRUE, handle_delete },
  { "POST", "/v1/encrypt", TRUE, FALSE, handle_encrypt },
  { "POST", "/v1/verify", TRUE, FALSE, handle_verify },
  { "POST", "/v1/rewrap", TRUE, FALSE, handle_rewrap },
  /* The one-time code is the credential: checked and throttled there. */
  { "POST", "/v1/enroll", FALSE, TRUE, handle_enroll },
};

static const char UNAUTHORIZED_MESSAGE[] = "a valid access token is required";

/* Fail closed: a change is only made once its audit line is written.  The
 * "attempt" line goes out before the change; if it cannot be written the
 * change is refused with 503 audit_unavailable (and reads go on). */
static gboolean
audit_before_change (CgRequest *req, const char *who, const char *action, const char *name,
                     enum MHD_Result *ret)
{
  g_autoptr (GError) error = NULL;
  if (cg_audit_before (who, req->client, action, name, &error))
    return TRUE;
  *ret = cg_http_reply_gerror (req->connection, error, NULL);
  return FALSE;
}

json_t *
cg_api_info (CgAgent *agent)
{
  g_autoptr (CgCertPair) pair = cg_tls_get_pair ();
  json_t *jwk = cg_vault_sealing_jwk (agent->vault, NULL);
  json_t *info = json_pack ("{s:s, s:s, s:i, s:s?, s:o?, s:s}", "agent", "credgate-agent",
                            "version", PACKAGE_VERSION, "api", 1, "tlsPin",
                            pair ? cg_cert_pair_get_spki_pin (pair) : NULL, "sealingKey", jwk,
                            "secretStore", cg_vault_keys_state_name (agent->vault));
  /* nextTlsPin (a staged certificate), tlsExpiresInDays, tlsOrigin,
   * tlsWarning (an installed certificate near its end). */
  cg_tls_store_add_info (info);
  CgCluster *cluster = g_atomic_pointer_get (&agent->cluster);
  if (cluster)
    json_object_set_new (info, "cluster", cg_cluster_info (cluster));
  return info;
}

/* Parse the request body as a JSON object holding only @allowed fields.
 * On failure the 400 is already queued and NULL returned. */
static json_t *
parse_body (CgRequest *req, const char *const *allowed, enum MHD_Result *ret)
{
  g_autoptr (GError) error = NULL;
  const char *bad_field = NULL;

  json_t *body = cg_json_load_strict ((const char *) req->body, req->body_len, &error);
  if (body && !cg_json_check_fields (body, allowed, &bad_field, &error))
    {
      *ret = cg_http_reply_gerror (req->connection, error, bad_field);
      json_decref (body);
      return NULL;
    }
  if (!body)
    *ret = cg_http_reply_gerror (req->connection, error, NULL);
  return body;
}

/* GET /v1/info is polled by every client and load balancer, and building
 * it (certificate pins, the sealing JWK, JSON with the wiping allocator)
 * cost half of the keep-alive throughput (bench/).  Its text is kept while
 * the served and the staged certificate, the sealing key and the secret
 * store's state are the ones it was built from, and for at most a second
 * (tlsExpiresInDays counts down).  The cache holds references to the pairs,
 * so a pointer seen again is the same pair. */
#define INFO_MAX_AGE_US G_USEC_PER_SEC

static struct
{
  GMutex lock;
  CgCertPair *pair;
  CgCertPair *next;
  char *kid;
  const char *state;
  gint64 built;
  GBytes *text;
} info_cache;

static enum MHD_Result
handle_info (CgAgent *agent, CgRequest *req, const char *who, const char *name)
{
  /* Read the inputs before building: a change after this point makes the
   * next request miss, never serve an older body. */
  g_autoptr (CgCertPair) pair = cg_tls_get_pair ();
  g_autoptr (CgCertPair) next = cg_tls_get_next ();
  const char *state = cg_vault_keys_state_name (agent->vault);
  g_autofree char *kid = cg_vault_current_kid (agent->vault);
  gint64 now = g_get_monotonic_time ();
  g_autoptr (GBytes) text = NULL;

  g_mutex_lock (&info_cache.lock);
  if (info_cache.text && info_cache.pair == pair && info_cache.next == next
      && info_cache.state == state && g_strcmp0 (info_cache.kid, kid) == 0
      && now - info_cache.built < INFO_MAX_AGE_US)
    text = g_bytes_ref (info_cache.text);
  g_mutex_unlock (&info_cache.lock);

  if (!text)
    {
      json_auto_t *info = cg_api_info (agent);
      char *dump = cg_json_dump (info);
      text = g_bytes_new_take (dump, strlen (dump));
      g_mutex_lock (&info_cache.lock);
      g_clear_pointer (&info_cache.pair, cg_cert_pair_unref);
      g_clear_pointer (&info_cache.next, cg_cert_pair_unref);
      g_clear_pointer (&info_cache.text, g_bytes_unref);
      g_free (info_cache.kid);
      info_cache.pair = pair ? cg_cert_pair_ref (pair) : NULL;
      info_cache.next = next ? cg_cert_pair_ref (next) : NULL;
      info_cache.kid = g_strdup (kid);
      info_cache.state = state;
      info_cache.built = now;
      info_cache.text = g_bytes_ref (text);
      g_mutex_unlock (&info_cache.lock);
    }
  gsize len;
  const char *data = g_bytes_get_data (text, &len);
  return cg_http_reply_json_text (req->connection, MHD_HTTP_OK, data, len);
}

static enum MHD_Result
handle_list (CgAgent *agent, CgRequest *req, const char *who, const char *name)
{
  g_autoptr (GError) error = NULL;
  json_auto_t *list = cg_vault_list (agent->vault, &error);
  if (!list)
    return cg_http_reply_gerror (req->connection, error, NULL);
  json_auto_t *body = json_pack ("{s:O}", "credentials", list);
  return cg_http_reply_json (req->connection, MHD_HTTP_OK, body);
}

static enum MHD_Result
handle_get (CgAgent *agent, CgRequest *req, const char *who, const char *name)
{
  g_autoptr (GError) error = NULL;
  json_auto_t *meta = cg_vault_get (agent->vault, name, &error);
  if (!meta)
    return cg_http_reply_gerror (req->connection, error, NULL);
  return cg_http_reply_json (req->connection, MHD_HTTP_OK, meta);
}

/* A change that lost to another node's (a cluster): 409 with the version
 * the record is at now ("version": 0 when it is gone), read from this
 * node's replica, which the store brought up to date with what won; the
 * client re-reads and decides. */
static enum MHD_Result
reply_write_error (CgAgent *agent, CgRequest *req, const char *name, const GError *error)
{
  if (!g_error_matches (error, CG_ERROR, CG_ERROR_CONFLICT))
    return cg_http_reply_gerror (req->connection, error, NULL);
  json_auto_t *meta = cg_vault_get (agent->vault, name, NULL);
  json_int_t version = meta ? json_integer_value (json_object_get (meta, "version")) : 0;
  json_auto_t *body = json_pack ("{s:{s:s, s:s, s:I}}", "error", "code",
                                 cg_error_code_name (error->code), "message", error->message,
                                 "version", version);
  return cg_http_reply_json (req->connection, MHD_HTTP_CONFLICT, body);
}

/* "encryptedSecret": the secret sealed by the client (the browser page) to
 * this agent's sealing key with ctx "credential:NAME", so the plaintext is
 * never in an HTTP body.  Its plaintext is the JSON text of what "secret"
 * would hold.  Returns the secret (transfer full), or NULL with the 4xx/503
 * queued in *ret.  Nothing of the plaintext reaches an error message. */
static json_t *
open_encrypted_secret (CgAgent *agent, CgRequest *req, const char *name, json_t *value,
                       enum MHD_Result *ret)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *kid = NULL, *ctx = NULL;
  const char *jwe = json_string_value (value);

  if (!jwe)
    {
      *ret = cg_http_reply_error (req->connection, 400, "invalid_request",
                                  "field \"encryptedSecret\" must be a string (a JWE)",
                                  "encryptedSecret");
      return NULL;
    }
  if (!cg_jwe_peek (jwe, json_string_length (value), &kid, &ctx, &error))
    {
      *ret = cg_http_reply_gerror (req->connection, error, "encryptedSecret");
      return NULL;
    }
  g_autofree char *want = g_strconcat ("credential:", name, NULL);
  if (g_strcmp0 (ctx, want) != 0)
    {
      g_autofree char *message = g_strdup_printf (
          "field \"encryptedSecret\" must be sealed with ctx \"%s\"", want);
      *ret = cg_http_reply_error (req->connection, 400, "invalid_request", message,
                                  "encryptedSecret");
      return NULL;
    }
  g_autoptr (CgBuf) plain = cg_vault_open_for_store (agent->vault, jwe, want, &error);
  if (!plain)
    {
      *ret = cg_http_reply_gerror (req->connection, error, "encryptedSecret");
      return NULL;
    }
  /* Not cg_json_load_strict: a parser's message may quote the input. */
  json_error_t jerr;
  json_t *secret = json_loadb ((const char *) plain->data, plain->len,
                               JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  cg_wipe (&jerr, sizeof jerr);
  if (!secret)
    *ret = cg_http_reply_error (req->connection, 400, "invalid_request",
                                "the decrypted \"encryptedSecret\" is not JSON: it must be the "
                                "JSON text of a string or an object of strings",
                                "encryptedSecret");
  return secret;
}

static enum MHD_Result
handle_put (CgAgent *agent, CgRequest *req, const char *who, const char *name)
{
  static const char *const allowed[] = { "type", "properties", "secret", "encryptedSecret",
                                         NULL };
  g_autoptr (GError) error = NULL;
  enum MHD_Result ret;
  const char *type;

  json_auto_t *body = parse_body (req, allowed, &ret);
  if (!body)
    return ret;
  if (!cg_json_get_string (body, "type", TRUE, &type, &error))
    return cg_http_reply_gerror (req->connection, error, "type");
  json_t *properties = json_object_get (body, "properties");
  if (properties && !json_is_object (properties))
    return cg_http_reply_error (req->connection, 400, "invalid_request",
                                "field \"properties\" must be an object", "properties");
  json_t *encrypted = json_object_get (body, "encryptedSecret");
  json_auto_t *secret = json_incref (json_object_get (body, "secret"));
  if (secret && encrypted)
    return cg_http_reply_error (req->connection, 400, "invalid_request",
                                "give either \"secret\" or \"encryptedSecret\", not both",
                                "encryptedSecret");
  if (!secret && !encrypted)
    return cg_http_reply_error (req->connection, 400, "invalid_request",
                                "missing field \"secret\" (or \"encryptedSecret\")", "secret");
  if (encrypted && !(secret = open_encrypted_secret (agent, req, name, encrypted, &ret)))
    return ret;

  if (!audit_before_change (req, who, "credential.put", name, &ret))
    return ret;
  json_auto_t *empty = json_object ();
  json_auto_t *meta = cg_cluster_write_ready (agent, &error)
                          ? cg_vault_put (agent->vault, name, type,
                                          properties ? properties : empty, secret, &error)
                          : NULL;
  cg_audit_log (who, req->client, "credential.put", name, meta ? "ok" : error->message);
  if (!meta)
    return reply_write_error (agent, req, name, error);
  unsigned status = json_integer_value (json_object_get (meta, "version")) == 1 ? 201 : 200;
  return cg_http_reply_json (req->connection, status, meta);
}

static enum MHD_Result
handle_delete (CgAgent *agent, CgRequest *req, const char *who, const char *name)
{
  g_autoptr (GError) error = NULL;
  enum MHD_Result ret;
  if (!audit_before_change (req, who, "credential.delete", name, &ret))
    return ret;
  gboolean ok = cg_cluster_write_ready (agent, &error)
                && cg_vault_delete (agent->vault, name, &error);
  cg_audit_log (who, req->client, "credential.delete", name, ok ? "ok" : error->message);
  if (!ok)
    return reply_write_error (agent, req, name, error);
  json_auto_t *body = json_pack ("{s:s, s:b}", "name", name, "deleted", TRUE);
  return cg_http_reply_json (req->connection, MHD_HTTP_OK, body);
}

static enum MHD_Result
handle_encrypt (CgAgent *agent, CgRequest *req, const char *who, const char *name)
{
  static const char *const allowed[] = { "value", "context", "linkedService", NULL };
  g_autoptr (GError) error = NULL;
  enum MHD_Result ret;
  const char *value, *context;

  json_auto_t *body = parse_body (req, allowed, &ret);
  if (!body)
    return ret;
  if (json_object_get (body, "linkedService"))
    return cg_http_reply_error (req->connection, 400, "unsupported",
                                "linked services are encrypted by credgate-encrypt-value "
                                "--linked-service; this agent takes \"value\"",
                                "linkedService");
  if (!cg_json_get_string (body, "value", TRUE, &value, &error))
    return cg_http_reply_gerror (req->connection, error, "value");
  if (!cg_json_get_string (body, "context", FALSE, &context, &error))
    return cg_http_reply_gerror (req->connection, error, "context");

  g_autofree char *jwe = cg_vault_encrypt (agent->vault, (const guint8 *) value,
                                           json_string_length (json_object_get (body, "value")),
                                           context, &error);
  if (!jwe)
    return cg_http_reply_gerror (req->connection, error, NULL);
  return reply_sealed (req, jwe);
}

/* The body of verify and rewrap: {"encryptedCredential", "context"?}.
 * NULL with the 400 queued in *ret on failure. */
static json_t *
parse_jwe_request (CgRequest *req, const char **jwe, const char **context, enum MHD_Result *ret)
{
  static const char *const allowed[] = { "encryptedCredential", "context", NULL };
  g_autoptr (GError) error = NULL;

  json_t *body = parse_body (req, allowed, ret);
  if (!body)
    return NULL;
  const char *field = "encryptedCredential";
  if (cg_json_get_string (body, field, TRUE, jwe, &error)
      && cg_json_get_string (body, (field = "context"), FALSE, context, &error))
    return body;
  *ret = cg_http_reply_gerror (req->connection, error, field);
  json_decref (body);
  return NULL;
}

/* A fresh EncryptedCredential and its kid, as encrypt and rewrap answer. */
static enum MHD_Result
reply_sealed (CgRequest *req, const char *jwe)
{
  g_autofree char *kid = NULL;
  cg_jwe_peek (jwe, strlen (jwe), &kid, NULL, NULL);
  json_auto_t *reply = json_pack ("{s:s, s:s?}", "encryptedCredential", jwe, "kid", kid);
  return cg_http_reply_json (req->connection, MHD_HTTP_OK, reply);
}

static enum MHD_Result
handle_verify (CgAgent *agent, CgRequest *req, const char *who, const char *name)
{
  g_autoptr (GError) error = NULL;
  enum MHD_Result ret;
  const char *jwe, *context;

  json_auto_t *body = parse_jwe_request (req, &jwe, &context, &ret);
  if (!body)
    return ret;
  g_autofree char *kid = NULL;
  g_autoptr (CgBuf) plain = cg_vault_decrypt (agent->vault, jwe, context, &kid, &error);
  if (!plain)
    return cg_http_reply_gerror (req->connection, error, "encryptedCredential");
  json_auto_t *reply = json_pack ("{s:b, s:s?}", "ok", TRUE, "kid", kid);
  return cg_http_reply_json (req->connection, MHD_HTTP_OK, reply);
}

static enum MHD_Result
handle_rewrap (CgAgent *agent, CgRequest *req, const char *who, const char *name)
{
  g_autoptr (GError) error = NULL;
  enum MHD_Result ret;
  const char *jwe, *context;

  json_auto_t *body = parse_jwe_request (req, &jwe, &context, &ret);
  if (!body)
    return ret;
  g_autofree char *fresh = cg_vault_rewrap (agent->vault, jwe, context, &error);
  if (!fresh)
    return cg_http_reply_gerror (req->connection, error, "encryptedCredential");
  return reply_sealed (req, fresh);
}

static enum MHD_Result
reply_throttled (CgRequest *req)
{
  return cg_http_reply_error (req->connection, MHD_HTTP_TOO_MANY_REQUESTS, "too_many_requests",
                              "too many failed attempts from this address; try later", NULL);
}

static const char ENROLL_REFUSED_MESSAGE[]
    = "the enrollment code is not valid (unknown, used or expired)";

/* POST /v1/enroll {"code", "csr"}: no token; the code is the credential,
 * and a wrong one counts as a failed authentication. */
static enum MHD_Result
handle_enroll (CgAgent *agent, CgRequest *req, const char *who, const char *name)
{
  static const char *const allowed[] = { "code", "csr", NULL };
  g_autoptr (GError) error = NULL;
  enum MHD_Result ret;
  const char *code, *csr;

  if (cg_throttle_is_blocked (agent->throttle, req->client))
    return reply_throttled (req);
  json_auto_t *body = parse_body (req, allowed, &ret);
  if (!body)
    return ret;
  if (!cg_json_get_string (body, "code", TRUE, &code, &error))
    return cg_http_reply_gerror (req->connection, error, "code");
  if (!cg_json_get_string (body, "csr", TRUE, &csr, &error))
    return cg_http_reply_gerror (req->connection, error, "csr");

  g_autofree char *client = cg_vault_client_code_name (agent->vault, code);
  if (!client)
    {
      cg_throttle_fail (agent->throttle, req->client);
      cg_audit_auth_failure (req->client, CG_AUTH_BAD_ENROLLMENT_CODE);
      return cg_http_reply_error (req->connection, MHD_HTTP_FORBIDDEN, "enrollment_refused",
                                  ENROLL_REFUSED_MESSAGE, "code");
    }
  g_autofree char *client_who = g_strconcat ("client:", client, NULL);
  if (!audit_before_change (req, client_who, "client.enrollment", client, &ret))
    return ret;
  json_auto_t *result
      = cg_cluster_write_ready (agent, &error)
            ? cg_vault_client_enroll (agent->vault, code, csr,
                                      json_string_length (json_object_get (body, "csr")), &error)
            : NULL;
  cg_audit_log (client_who, req->client, "client.enrollment", client,
                result ? "ok" : error->message);
  if (!result)
    {
      if (g_error_matches (error, CG_ERROR, CG_ERROR_FORBIDDEN))
        {
          /* Used up between the two looks: a race with another enrollment. */
          cg_throttle_fail (agent->throttle, req->client);
          return cg_http_reply_error (req->connection, MHD_HTTP_FORBIDDEN, "enrollment_refused",
                                      ENROLL_REFUSED_MESSAGE, "code");
        }
      return cg_http_reply_gerror (
          req->connection, error,
          g_error_matches (error, CG_ERROR, CG_ERROR_CLUSTER_UNAVAILABLE) ? NULL : "csr");
    }
  cg_throttle_succeed (agent->throttle, req->client);
  return cg_http_reply_json (req->connection, MHD_HTTP_CREATED, result);
}

/* The client certificate presented in this connection's handshake: the
 * leaf's DER (borrowed from the session), or NULL when there is none. */
static const gnutls_datum_t *
peer_certificate (CgRequest *req)
{
  const union MHD_ConnectionInfo *info
      = MHD_get_connection_info (req->connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (!info || !info->tls_session)
    return NULL;
  unsigned int n = 0;
  const gnutls_datum_t *peers = gnutls_certificate_get_peers (info->tls_session, &n);
  return peers && n > 0 ? &peers[0] : NULL;
}

/* Who is asking, or NULL with the 401/403/429 already queued (transfer
 * full).  A client certificate, when the handshake carried one, decides
 * alone: "client:NAME" if this agent issued it and it is enrolled, not
 * expired, not revoked, checked on every request (so a revocation stops the
 * next request, also on a kept-alive connection); otherwise 403
 * client_certificate_refused, even if a valid token comes along, since a
 * device whose certificate was revoked must not slip back in with a token
 * from the same place.  Without one, the bearer token's name.  Headers
 * only: it runs on the first call of a request, before any of its body is
 * read. */
static char *
authenticate (CgAgent *agent, CgRequest *req, enum MHD_Result *ret)
{
  if (cg_throttle_is_blocked (agent->throttle, req->client))
    {
      *ret = reply_throttled (req);
      return NULL;
    }
  const gnutls_datum_t *cert = peer_certificate (req);
  if (cert)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *client = cg_vault_client_check (agent->vault, cert->data, cert->size, &error);
      if (client)
        {
          cg_throttle_succeed (agent->throttle, req->client);
          return g_strconcat ("client:", client, NULL);
        }
      if (!g_error_matches (error, CG_ERROR, CG_ERROR_FORBIDDEN))
        {
          *ret = cg_http_reply_gerror (req->connection, error, NULL);
          return NULL;
        }
      cg_throttle_fail (agent->throttle, req->client);
      cg_audit_auth_failure (req->client, CG_AUTH_BAD_CLIENT_CERT);
      *ret = cg_http_reply_error (req->connection, MHD_HTTP_FORBIDDEN,
                                  "client_certificate_refused", error->message, NULL);
      return NULL;
    }
  const char *header
      = MHD_lookup_connection_value (req->connection, MHD_HEADER_KIND, "Authorization");
  char *who = NULL;
  if (header && g_ascii_strncasecmp (header, "Bearer ", 7) == 0)
    who = cg_vault_token_check (agent->vault, header + 7);
  if (!who)
    {
      cg_throttle_fail (agent->throttle, req->client);
      cg_audit_auth_failure (req->client, header ? CG_AUTH_BAD_TOKEN : CG_AUTH_NO_TOKEN);
      *ret = cg_http_reply_error (req->connection, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                                  UNAUTHORIZED_MESSAGE, NULL);
      return NULL;
    }
  cg_throttle_succeed (agent->throttle, req->client);
  return who;
}

/* The route for @method and @url: its index, with *name set to the name
 * segment of a path ending in '/' (NULL for others); or -1, with every
 * method the path takes appended to @allow (empty: no such path). */
static int
find_route (const char *method, const char *url, const char **name, GString *allow)
{
  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      const char *path = routes[i].path;
      gsize plen = strlen (path);

      *name = NULL;
      if (g_str_has_suffix (path, "/"))
        {
          if (strncmp (url, path, plen) != 0 || url[plen] == '\0')
            continue;
          *name = url + plen;
        }
      else if (!g_str_equal (url, path))
        continue;

      if (g_str_equal (method, routes[i].method))
        return i;
      g_string_append_printf (allow, "%s%s", allow->len ? ", " : "", routes[i].method);
    }
  *name = NULL;
  return -1;
}

gboolean
cg_api_begin (CgAgent *agent, CgRequest *req, enum MHD_Result *ret)
{
  g_autoptr (GString) allow = g_string_new (NULL);
  req->route = find_route (req->method, req->url, &req->name, allow);
  /* Who the caller is, from the headers alone: a request that fails is
   * answered now, and its body is never read. */
  if (req->route >= 0 && routes[req->route].needs_token
      && !(req->who = authenticate (agent, req, ret)))
    return FALSE;
  return TRUE;
}

gboolean
cg_api_is_cluster_write (CgAgent *agent, CgRequest *req)
{
  return req->route >= 0 && routes[req->route].writes
         && g_atomic_pointer_get (&agent->cluster) != NULL;
}

enum MHD_Result
cg_api_dispatch (CgAgent *agent, CgRequest *req)
{
  if (agent->config->web && cg_web_is_page_path (req->url))
    return cg_web_dispatch (req);
  if (req->route >= 0)
    {
      if (req->name && !cg_name_is_valid (req->name))
        return cg_http_reply_error (req->connection, 400, "invalid_name",
                                    "names are 1 to 128 characters of A-Z a-z 0-9 . _ -",
                                    "name");
      if (req->too_large)
        return cg_http_reply_error (req->connection, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
                                    "the request body is too large", NULL);
      return routes[req->route].handler (agent, req, req->who, req->name);
    }

  g_autoptr (GString) allow = g_string_new (NULL);
  const char *name;
  find_route (req->method, req->url, &name, allow);
  if (allow->len == 0)
    return cg_http_reply_error (req->connection, MHD_HTTP_NOT_FOUND, "not_found", "no such path",
                                NULL);
  json_auto_t *body = json_pack ("{s:{s:s, s:s}}", "error", "code", "method_not_allowed",
                                 "message", "method not allowed on this path");
  g_autofree char *text = cg_json_dump (body);
  struct MHD_Response *resp
      = MHD_create_response_from_buffer (strlen (text), text, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  MHD_add_response_header (resp, MHD_HTTP_HEADER_ALLOW, allow->str);
  enum MHD_Result ret = MHD_queue_response (req->connection, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
  MHD_destroy_response (resp);
  return ret;
}
