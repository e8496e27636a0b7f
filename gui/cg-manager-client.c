/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gui/cg-manager-client.h"

#include <curl/curl.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#include "common/cg-error.h"
#include "common/cg-json.h"
#include "protocol/cg-client.h"
#include "protocol/cg-names.h"

/* Every request after trust goes through protocol/'s CgClient, pinned.  The
 * one thing done here directly is the first-contact probe: the user must see
 * the certificate's subject, names and dates before trusting it, and
 * cg_client_fetch_pin gives only the pin.  The probe sends no token and its
 * connection is never reused. */

#define CONNECT_TIMEOUT_S 10L
#define REQUEST_TIMEOUT_S 30L

struct _CgManagerClient
{
  GObject parent_instance;
  GMutex lock; /* host, port, pin and token are read by worker threads */
  char *host;
  guint port;
  char *pin;
  char *token;
  char *cert_pem; /* client certificate and key, or NULL */
  CgBuf *key_pem;
};

G_DEFINE_TYPE (CgManagerClient, cg_manager_client, G_TYPE_OBJECT)

static void
wipe_free (char *s)
{
  if (s)
    {
      explicit_bzero (s, strlen (s));
      g_free (s);
    }
}

void
cg_agent_probe_free (CgAgentProbe *probe)
{
  if (!probe)
    return;
  g_free (probe->pin);
  g_free (probe->subject);
  g_free (probe->issuer);
  g_strfreev (probe->sans);
  g_clear_pointer (&probe->not_before, g_date_time_unref);
  g_clear_pointer (&probe->not_after, g_date_time_unref);
  g_free (probe);
}

static void
cg_manager_client_finalize (GObject *object)
{
  CgManagerClient *self = CG_MANAGER_CLIENT (object);
  g_free (self->host);
  g_free (self->pin);
  wipe_free (self->token);
  g_free (self->cert_pem);
  cg_buf_free (self->key_pem);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (cg_manager_client_parent_class)->finalize (object);
}

static void
cg_manager_client_class_init (CgManagerClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cg_manager_client_finalize;
}

static void
cg_manager_client_init (CgManagerClient *self)
{
  g_mutex_init (&self->lock);
}

CgManagerClient *
cg_manager_client_new (void)
{
  return g_object_new (CG_TYPE_MANAGER_CLIENT, NULL);
}

void
cg_manager_client_set_agent (CgManagerClient *self, const char *host, guint port, const char *pin)
{
  g_mutex_lock (&self->lock);
  g_free (self->host);
  self->host = g_strdup (host);
  self->port = port;
  g_free (self->pin);
  self->pin = g_strdup (pin);
  g_mutex_unlock (&self->lock);
}

void
cg_manager_client_set_token (CgManagerClient *self, const char *token)
{
  g_mutex_lock (&self->lock);
  wipe_free (self->token);
  self->token = g_strdup (token);
  g_mutex_unlock (&self->lock);
}

void
cg_manager_client_set_identity (CgManagerClient *self, const char *cert_pem,
                                const CgBuf *key_pem)
{
  g_mutex_lock (&self->lock);
  g_free (self->cert_pem);
  cg_buf_free (self->key_pem);
  self->cert_pem = cert_pem && key_pem ? g_strdup (cert_pem) : NULL;
  self->key_pem = cert_pem && key_pem ? cg_buf_new_copy (key_pem->data, key_pem->len) : NULL;
  g_mutex_unlock (&self->lock);
}

gboolean
cg_manager_client_has_identity (CgManagerClient *self)
{
  g_mutex_lock (&self->lock);
  gboolean has = self->cert_pem != NULL;
  g_mutex_unlock (&self->lock);
  return has;
}

const char *
cg_manager_client_get_host (CgManagerClient *self)
{
  return self->host;
}

guint
cg_manager_client_get_port (CgManagerClient *self)
{
  return self->port;
}

/* ---- certificates ---- */

static GDateTime *
date_from_time (time_t t)
{
  return t == (time_t)-1 ? NULL : g_date_time_new_from_unix_utc ((gint64)t);
}

CgAgentProbe *
cg_agent_probe_from_der (const guint8 *der, gsize len, GError **error)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t pubkey = NULL;
  gnutls_datum_t datum = { (unsigned char *)der, (unsigned)len };
  gnutls_datum_t dn = { NULL, 0 }, spki = { NULL, 0 };
  CgAgentProbe *probe = NULL;
  g_autofree char *b64 = NULL;
  int r;

  if ((r = gnutls_x509_crt_init (&crt)) < 0
      || (r = gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER)) < 0
      || (r = gnutls_pubkey_init (&pubkey)) < 0
      || (r = gnutls_pubkey_import_x509 (pubkey, crt, 0)) < 0
      || (r = gnutls_pubkey_export2 (pubkey, GNUTLS_X509_FMT_DER, &spki)) < 0)
    {
      g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE, "unreadable certificate: %s",
                   gnutls_strerror (r));
      goto out;
    }

  probe = g_new0 (CgAgentProbe, 1);
  guint8 digest[32];
  gnutls_hash_fast (GNUTLS_DIG_SHA256, spki.data, spki.size, digest);
  b64 = g_base64_encode (digest, sizeof digest);
  probe->pin = g_strconcat ("sha256:", b64, NULL);

  if (gnutls_x509_crt_get_dn3 (crt, &dn, 0) >= 0)
    probe->subject = g_strndup ((const char *)dn.data, dn.size);
  gnutls_free (dn.data);
  dn.data = NULL;
  if (gnutls_x509_crt_get_issuer_dn3 (crt, &dn, 0) >= 0)
    probe->issuer = g_strndup ((const char *)dn.data, dn.size);
  gnutls_free (dn.data);
  dn.data = NULL;

  GPtrArray *sans = g_ptr_array_new ();
  for (unsigned i = 0;; i++)
    {
      char buf[256];
      size_t size = sizeof buf;
      int type = gnutls_x509_crt_get_subject_alt_name (crt, i, buf, &size, NULL);
      if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
        break;
      /* A name too long for buf is skipped; any other error means a
       * malformed extension, which fails for every index: a server that
       * sends one must not keep this thread looping. */
      if (type == GNUTLS_E_SHORT_MEMORY_BUFFER)
        continue;
      if (type < 0)
        break;
      if (type == GNUTLS_SAN_DNSNAME)
        g_ptr_array_add (sans, g_strndup (buf, size));
      else if (type == GNUTLS_SAN_IPADDRESS && (size == 4 || size == 16))
        {
          g_autoptr (GInetAddress) addr = g_inet_address_new_from_bytes (
              (const guint8 *)buf, size == 4 ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6);
          g_ptr_array_add (sans, g_inet_address_to_string (addr));
        }
    }
  g_ptr_array_add (sans, NULL);
  probe->sans = (GStrv)g_ptr_array_free (sans, FALSE);

  probe->not_before = date_from_time (gnutls_x509_crt_get_activation_time (crt));
  probe->not_after = date_from_time (gnutls_x509_crt_get_expiration_time (crt));
  /* Self-signed: it names itself as issuer and its own key checks its
   * signature. */
  unsigned status = 0;
  probe->self_signed = gnutls_x509_crt_check_issuer (crt, crt)
                       && gnutls_x509_crt_verify (crt, &crt, 1, 0, &status) >= 0 && status == 0;

out:
  gnutls_free (spki.data);
  if (pubkey)
    gnutls_pubkey_deinit (pubkey);
  if (crt)
    gnutls_x509_crt_deinit (crt);
  return probe;
}

static CgAgentProbe *
probe_from_pem (const char *pem, GError **error)
{
  gnutls_datum_t in = { (unsigned char *)pem, (unsigned)strlen (pem) };
  gnutls_datum_t der = { NULL, 0 };
  int r = gnutls_pem_base64_decode2 ("CERTIFICATE", &in, &der);
  if (r < 0)
    {
      g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE, "unreadable certificate: %s",
                   gnutls_strerror (r));
      return NULL;
    }
  CgAgentProbe *probe = cg_agent_probe_from_der (der.data, der.size, error);
  gnutls_free (der.data);
  return probe;
}

/* ---- requests ---- */

typedef struct
{
  char *method;
  char *path;
  char *body; /* serialised request body, wiped when done */
} Request;

static void
request_free (Request *req)
{
  g_free (req->method);
  g_free (req->path);
  wipe_free (req->body);
  g_free (req);
}

static void
set_curl_error (CURLcode code, const char *detail, GError **error)
{
  const char *what = detail && *detail ? detail : curl_easy_strerror (code);
  switch (code)
    {
    case CURLE_COULDNT_RESOLVE_HOST:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_HOST_NOT_FOUND, "%s", what);
      break;
    case CURLE_COULDNT_CONNECT:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "%s", what);
      break;
    case CURLE_OPERATION_TIMEDOUT:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s", what);
      break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
      g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_MISC, "%s", what);
      break;
    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", what);
      break;
    }
}

static char *
make_url (const char *host, guint port)
{
  /* An IPv6 literal goes in brackets. */
  gboolean v6 = strchr (host, ':') != NULL && host[0] != '[';
  return g_strdup_printf ("https://%s%s%s:%u/", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

/* TLS handshake only (no HTTP request, no token), keeping the certificate
 * for the user to inspect; a handle of its own, never reused. */
static CgAgentProbe *
probe_certificate (const char *host, guint port, GError **error)
{
  g_autofree char *url = make_url (host, port);
  char errbuf[CURL_ERROR_SIZE] = "";
  CgAgentProbe *probe = NULL;
  CURL *curl = curl_easy_init ();

  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt (curl, CURLOPT_PROXY, "");
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
  /* Unverified on purpose: this is what the user is asked to verify. */
  curl_easy_setopt (curl, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt (curl, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt (curl, CURLOPT_CERTINFO, 1L);

  CURLcode code = curl_easy_perform (curl);
  if (code != CURLE_OK)
    set_curl_error (code, errbuf, error);
  else
    {
      struct curl_certinfo *ci = NULL;
      const char *pem = NULL;
      curl_easy_getinfo (curl, CURLINFO_CERTINFO, &ci);
      if (ci && ci->num_of_certs > 0)
        for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next)
          if (g_str_has_prefix (s->data, "Cert:"))
            pem = s->data + 5;
      if (pem)
        probe = probe_from_pem (pem, error);
      else
        g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_MISC, "the agent sent no certificate");
    }
  curl_easy_cleanup (curl);
  return probe;
}

/* A pinned CgClient for the agent set with cg_manager_client_set_agent, or
 * NULL with an error before one is trusted. */
static CgClient *
make_client (CgManagerClient *self, GError **error)
{
  CgClient *client = NULL;
  gboolean ok = TRUE;
  g_mutex_lock (&self->lock);
  if (self->host && self->pin)
    {
      client = cg_client_new (self->host, self->port);
      cg_client_set_pins (client, self->pin, NULL);
      /* The certificate when there is one; the agent takes it first. */
      if (self->cert_pem)
        ok = cg_client_set_client_cert_data (client, self->cert_pem, self->key_pem, error);
      else if (self->token)
        cg_client_set_token (client, self->token);
    }
  g_mutex_unlock (&self->lock);
  if (!ok)
    g_clear_pointer (&client, cg_client_free);
  else if (!client)
    g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH,
                 "no trusted agent to talk to");
  return client;
}

static void
call_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Request *req = task_data;
  GError *error = NULL;
  json_auto_t *body = NULL;

  g_autoptr (CgClient) client = make_client (CG_MANAGER_CLIENT (source), &error);
  if (client && req->body)
    body = cg_json_load_strict (req->body, strlen (req->body), NULL);
  json_t *reply = client ? cg_client_request (client, req->method, req->path, body, &error) : NULL;
  if (reply)
    g_task_return_pointer (task, reply, (GDestroyNotify)json_decref);
  else
    g_task_return_error (task, error);
}

static void
connect_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;
  g_autoptr (CgClient) client = make_client (CG_MANAGER_CLIENT (source), &error);
  json_auto_t *info = client ? cg_client_get_info (client, &error) : NULL;
  json_auto_t *list
      = info ? cg_client_request (client, "GET", "/v1/credentials", NULL, &error) : NULL;
  if (!list)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (
      task,
      json_pack ("{s:O, s:O}", "info", info, "credentials", json_object_get (list, "credentials")),
      (GDestroyNotify)json_decref);
}

void
cg_manager_client_connect_async (CgManagerClient *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cg_manager_client_connect_async);
  g_task_run_in_thread (task, connect_thread);
}

json_t *
cg_manager_client_connect_finish (CgManagerClient *self, GAsyncResult *result, GError **error)
{
  json_auto_t *reply = g_task_propagate_pointer (G_TASK (result), error);
  if (reply && !json_is_array (json_object_get (reply, "credentials")))
    {
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PROTOCOL,
                   "the agent's list has no credentials");
      return NULL;
    }
  return g_steal_pointer (&reply);
}

typedef struct
{
  char *code;
  char *cert_pem;
  CgBuf *key_pem;
} Enrollment;

static void
enrollment_free (Enrollment *e)
{
  wipe_free (e->code);
  g_free (e->cert_pem);
  cg_buf_free (e->key_pem);
  g_free (e);
}

static void
enroll_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Enrollment *e = task_data;
  GError *error = NULL;
  g_autoptr (CgClient) client = make_client (CG_MANAGER_CLIENT (source), &error);
  if (client)
    {
      /* Enrollment carries no credential but the code. */
      cg_client_set_client_cert (client, NULL, NULL);
      cg_client_set_token (client, NULL);
    }
  json_t *reply = client ? cg_client_enroll (client, e->code, NULL, &e->key_pem, &error) : NULL;
  if (!reply)
    {
      g_task_return_error (task, error);
      return;
    }
  e->cert_pem = g_strdup (json_string_value (json_object_get (reply, "certificate")));
  g_task_return_pointer (task, reply, (GDestroyNotify)json_decref);
}

void
cg_manager_client_enroll_async (CgManagerClient *self, const char *code,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  Enrollment *e = g_new0 (Enrollment, 1);
  e->code = g_strstrip (g_strdup (code));
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cg_manager_client_enroll_async);
  g_task_set_task_data (task, e, (GDestroyNotify)enrollment_free);
  g_task_run_in_thread (task, enroll_thread);
}

json_t *
cg_manager_client_enroll_finish (CgManagerClient *self, GAsyncResult *result, char **cert_pem,
                                 CgBuf **key_pem, GError **error)
{
  json_t *reply = g_task_propagate_pointer (G_TASK (result), error);
  if (reply)
    {
      Enrollment *e = g_task_get_task_data (G_TASK (result));
      *cert_pem = g_steal_pointer (&e->cert_pem);
      *key_pem = g_steal_pointer (&e->key_pem);
    }
  return reply;
}

static void
start_call (CgManagerClient *self, const char *method, char *path, json_t *body,
            GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data,
            gpointer tag)
{
  Request *req = g_new0 (Request, 1);
  req->method = g_strdup (method);
  req->path = path;
  req->body = body ? json_dumps (body, JSON_COMPACT) : NULL;
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tag);
  g_task_set_task_data (task, req, (GDestroyNotify)request_free);
  g_task_run_in_thread (task, call_thread);
}

static gboolean
check_name (CgManagerClient *self, const char *name, GAsyncReadyCallback callback,
            gpointer user_data, gpointer tag)
{
  if (cg_name_is_valid (name))
    return TRUE;
  g_task_report_new_error (self, callback, user_data, tag, CG_ERROR, CG_ERROR_INVALID,
                           "invalid credential name");
  return FALSE;
}

void
cg_manager_client_list_async (CgManagerClient *self, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  start_call (self, "GET", g_strdup ("/v1/credentials"), NULL, cancellable, callback, user_data,
              cg_manager_client_list_async);
}

json_t *
cg_manager_client_list_finish (CgManagerClient *self, GAsyncResult *result, GError **error)
{
  json_auto_t *reply = g_task_propagate_pointer (G_TASK (result), error);
  if (!reply)
    return NULL;
  json_t *list = json_object_get (reply, "credentials");
  if (!json_is_array (list))
    {
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PROTOCOL,
                   "the agent's list has no credentials");
      return NULL;
    }
  return json_incref (list);
}

void
cg_manager_client_get_async (CgManagerClient *self, const char *name, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  if (check_name (self, name, callback, user_data, cg_manager_client_get_async))
    start_call (self, "GET", g_strconcat ("/v1/credentials/", name, NULL), NULL, cancellable,
                callback, user_data, cg_manager_client_get_async);
}

void
cg_manager_client_put_async (CgManagerClient *self, const char *name, json_t *body,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  if (check_name (self, name, callback, user_data, cg_manager_client_put_async))
    start_call (self, "PUT", g_strconcat ("/v1/credentials/", name, NULL), body, cancellable,
                callback, user_data, cg_manager_client_put_async);
}

void
cg_manager_client_delete_async (CgManagerClient *self, const char *name, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  if (check_name (self, name, callback, user_data, cg_manager_client_delete_async))
    start_call (self, "DELETE", g_strconcat ("/v1/credentials/", name, NULL), NULL, cancellable,
                callback, user_data, cg_manager_client_delete_async);
}

void
cg_manager_client_encrypt_async (CgManagerClient *self, const char *value, const char *context,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  json_auto_t *body = json_pack ("{s:s, s:s?}", "value", value, "context", context);
  start_call (self, "POST", g_strdup ("/v1/encrypt"), body, cancellable, callback, user_data,
              cg_manager_client_encrypt_async);
  /* The body held the plaintext; jansson's copy goes with it. */
}

json_t *
cg_manager_client_call_finish (CgManagerClient *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct
{
  char *host;
  guint port;
} ProbeData;

static void
probe_data_free (ProbeData *data)
{
  g_free (data->host);
  g_free (data);
}

static void
probe_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ProbeData *data = task_data;
  GError *error = NULL;
  CgAgentProbe *probe = probe_certificate (data->host, data->port, &error);
  if (probe)
    g_task_return_pointer (task, probe, (GDestroyNotify)cg_agent_probe_free);
  else
    g_task_return_error (task, error);
}

void
cg_manager_client_probe_async (CgManagerClient *self, const char *host, guint port,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  ProbeData *data = g_new0 (ProbeData, 1);
  data->host = g_strdup (host);
  data->port = port;
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cg_manager_client_probe_async);
  g_task_set_task_data (task, data, (GDestroyNotify)probe_data_free);
  g_task_run_in_thread (task, probe_thread);
}

CgAgentProbe *
cg_manager_client_probe_finish (CgManagerClient *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
