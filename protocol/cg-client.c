/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "protocol/cg-client.h"

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs/cg-cert.h"
#include "certs/cg-client-cert.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"
#include "jose/cg-jwe.h"
#include "protocol/cg-known-agents.h"
#include "protocol/cg-names.h"

/* Replies are small JSON objects; anything past this is not the agent. */
#define REPLY_MAX (1024 * 1024)
#define TOKEN_FILE_MAX 4096
#define DEFAULT_CONNECT_TIMEOUT_S 10
#define DEFAULT_TIMEOUT_S 30

G_DEFINE_QUARK (credgate-client-error-quark, cg_client_error)

/* The agent's /v1 API as clients call it: every path is spelled here and
 * nowhere else on the client side. */
#define PATH_INFO "/v1/info"
#define PATH_ENROLL "/v1/enroll"
#define PATH_CREDENTIALS "/v1/credentials"
#define PATH_ENCRYPT "/v1/encrypt"
#define PATH_VERIFY "/v1/verify"
#define PATH_REWRAP "/v1/rewrap"

struct CgClient
{
  CURL *curl; /* kept across requests: its connection stays alive */
  char *host;
  guint port;
  char *address; /* "host:port", for messages */
  char *pin;
  char *next_pin;
  char *peer_pin;
  CgBuf *token;
  char *cert_path; /* client certificate and key, or NULL */
  char *key_path;
  int cert_fd; /* memfds behind the paths of cg_client_set_client_cert_data, or -1 */
  int key_fd;
  guint connect_timeout;
  guint timeout;
};

void
cg_client_global_init (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      curl_global_init (CURL_GLOBAL_DEFAULT);
      g_once_init_leave (&once, 1);
    }
}

CgClient *
cg_client_new (const char *host, guint port)
{
  cg_client_global_init ();
  CgClient *client = g_new0 (CgClient, 1);
  client->curl = curl_easy_init ();
  client->host = g_strdup (host);
  client->port = port;
  client->address = cg_agent_address_format (host, port);
  client->cert_fd = client->key_fd = -1;
  client->connect_timeout = DEFAULT_CONNECT_TIMEOUT_S;
  client->timeout = DEFAULT_TIMEOUT_S;
  return client;
}

void
cg_client_free (CgClient *client)
{
  if (!client)
    return;
  if (client->curl)
    curl_easy_cleanup (client->curl);
  g_free (client->host);
  g_free (client->address);
  g_free (client->pin);
  g_free (client->next_pin);
  g_free (client->peer_pin);
  cg_buf_free (client->token);
  cg_client_set_client_cert (client, NULL, NULL);
  g_free (client);
}

void
cg_client_set_pins (CgClient *client, const char *pin, const char *next_pin)
{
  g_free (client->pin);
  g_free (client->next_pin);
  client->pin = g_strdup (pin);
  client->next_pin = g_strdup (next_pin);
}

void
cg_client_set_token (CgClient *client, const char *token)
{
  cg_buf_free (client->token);
  client->token = token ? cg_buf_new_copy (token, strlen (token)) : NULL;
}

gboolean
cg_client_load_token (CgClient *client, const char *path, GError **error)
{
  char *text = NULL;
  gsize len;
  if (!cg_file_read_capped (path, TOKEN_FILE_MAX, &text, &len, error))
    return FALSE;
  char *nl = strchr (text, '\n');
  if (nl)
    *nl = '\0';
  g_strstrip (text);
  /* scripts/start writes a curl header file; take the token from it too. */
  const char *token = text;
  if (g_ascii_strncasecmp (token, "Authorization: Bearer ", 22) == 0)
    token += 22;
  gboolean ok = *token != '\0';
  for (const char *c = token; ok && *c; c++)
    ok = g_ascii_isgraph (*c);
  if (ok)
    cg_client_set_token (client, token);
  else
    g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                 "the token file %s does not hold a token on its first line", path);
  cg_wipe (text, len);
  g_free (text);
  return ok;
}

void
cg_client_set_client_cert (CgClient *client, const char *cert_path, const char *key_path)
{
  g_free (client->cert_path);
  g_free (client->key_path);
  client->cert_path = g_strdup (cert_path);
  client->key_path = g_strdup (key_path);
  if (client->cert_fd >= 0)
    close (client->cert_fd);
  if (client->key_fd >= 0)
    {
      /* Wipe the key's pages before they go back to the kernel. */
      struct stat st;
      if (fstat (client->key_fd, &st) == 0 && st.st_size > 0)
        {
          void *p = mmap (NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, client->key_fd, 0);
          if (p != MAP_FAILED)
            {
              cg_wipe (p, st.st_size);
              munmap (p, st.st_size);
            }
        }
      close (client->key_fd);
    }
  client->cert_fd = client->key_fd = -1;
}

/* An anonymous memory file holding @data, or -1 with the error. */
static int
memory_file (const char *name, const void *data, gsize len, GError **error)
{
  int fd = memfd_create (name, MFD_CLOEXEC);
  const guint8 *p = data;
  gsize left = len;
  while (fd >= 0 && left > 0)
    {
      ssize_t n = write (fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          close (fd);
          fd = -1;
          break;
        }
      p += n;
      left -= n;
    }
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot hold the client certificate: %s",
                   g_strerror (e));
    }
  return fd;
}

gboolean
cg_client_set_client_cert_data (CgClient *client, const char *cert_pem, const CgBuf *key_pem,
                                GError **error)
{
  int cert_fd = memory_file ("credgate-client-cert", cert_pem, strlen (cert_pem), error);
  int key_fd = cert_fd >= 0 ? memory_file ("credgate-client-key", key_pem->data, key_pem->len,
                                           error)
                            : -1;
  if (key_fd < 0)
    {
      if (cert_fd >= 0)
        close (cert_fd);
      return FALSE;
    }
  g_autofree char *cert_path = g_strdup_printf ("/proc/self/fd/%d", cert_fd);
  g_autofree char *key_path = g_strdup_printf ("/proc/self/fd/%d", key_fd);
  cg_client_set_client_cert (client, cert_path, key_path);
  client->cert_fd = cert_fd;
  client->key_fd = key_fd;
  return TRUE;
}

void
cg_client_set_timeouts (CgClient *client, guint connect_s, guint total_s)
{
  client->connect_timeout = connect_s;
  client->timeout = total_s;
}

const char *
cg_client_get_peer_pin (CgClient *client)
{
  return client->peer_pin;
}

static char *
make_url (CgClient *client, const char *path)
{
  return g_strdup_printf ("https://%s%s", client->address, path);
}

static size_t
write_cb (char *ptr, size_t size, size_t nmemb, void *user_data)
{
  CgBuf **buf = user_data;
  size_t n = size * nmemb;
  if ((*buf)->len + n > REPLY_MAX)
    return 0; /* curl reports CURLE_WRITE_ERROR */
  /* Grow by copying into a fresh wiped buffer, so no stray copy of a reply
   * is left behind by realloc. */
  CgBuf *bigger = cg_buf_new ((*buf)->len + n);
  memcpy (bigger->data, (*buf)->data, (*buf)->len);
  memcpy (bigger->data + (*buf)->len, ptr, n);
  cg_buf_free (*buf);
  *buf = bigger;
  return n;
}

/* Options every request shares.  The trust store is never loaded: with a
 * pin the CA check is off, and CAINFO/CAPATH NULL means GnuTLS curl has no
 * file to read even if something turned verification back on. */
static void
setup_common (CgClient *client, CURL *curl, const char *url, char *errbuf)
{
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, (long) client->connect_timeout);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT, (long) client->timeout);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (curl, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt (curl, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt (curl, CURLOPT_CAINFO, NULL);
  curl_easy_setopt (curl, CURLOPT_CAPATH, NULL);
  curl_easy_setopt (curl, CURLOPT_CERTINFO, 1L);
  curl_easy_setopt (curl, CURLOPT_PROXY, ""); /* the agent is reached directly */
}

/* The details of the leaf certificate the server presented, from curl's
 * certificate info, read by certs/; NULL if it is not there or unreadable. */
static CgCertInfo *
peer_info_from_certinfo (CURL *curl, GError **error)
{
  struct curl_certinfo *ci = NULL;
  if (curl_easy_getinfo (curl, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci
      || ci->num_of_certs < 1)
    return NULL;
  for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next)
    if (g_str_has_prefix (s->data, "Cert:"))
      {
        gnutls_datum_t pem = { (unsigned char *) s->data + 5, strlen (s->data + 5) };
        gnutls_datum_t der = { NULL, 0 };
        if (gnutls_pem_base64_decode2 ("CERTIFICATE", &pem, &der) < 0)
          return NULL;
        CgCertInfo *info = cg_cert_info_from_der (der.data, der.size, error);
        gnutls_free (der.data);
        return info;
      }
  return NULL;
}

static char *
peer_pin_from_certinfo (CURL *curl)
{
  g_autoptr (CgCertInfo) info = peer_info_from_certinfo (curl, NULL);
  return info ? g_steal_pointer (&info->pin) : NULL;
}

static void
set_transport_error (CgClient *client, CURLcode code, const char *errbuf, GError **error)
{
  const char *what = errbuf && *errbuf ? errbuf : curl_easy_strerror (code);
  switch (code)
    {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_UNREACHABLE,
                   "cannot reach the agent at %s: %s", client->address, what);
      break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_TLS,
                   "TLS with the agent at %s failed: %s", client->address, what);
      break;
    case CURLE_WRITE_ERROR:
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PROTOCOL,
                   "the reply from %s is larger than %d bytes", client->address, REPLY_MAX);
      break;
    default:
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_UNREACHABLE,
                   "request to the agent at %s failed: %s", client->address, what);
      break;
    }
}

CgCertInfo *
cg_client_probe (CgClient *client, GError **error)
{
  g_autofree char *url = make_url (client, "/");
  char errbuf[CURL_ERROR_SIZE] = "";
  /* A handle of its own: an unverified connection must never be reused by
   * a pinned request. */
  CURL *curl = curl_easy_init ();
  if (!curl)
    {
      set_transport_error (client, CURLE_FAILED_INIT, NULL, error);
      return NULL;
    }
  setup_common (client, curl, url, errbuf);
  curl_easy_setopt (curl, CURLOPT_CONNECT_ONLY, 1L);
  CURLcode code = curl_easy_perform (curl);
  CgCertInfo *info = NULL;
  g_autoptr (GError) local = NULL;
  if (code != CURLE_OK)
    set_transport_error (client, code, errbuf, error);
  else if (!(info = peer_info_from_certinfo (curl, &local)))
    g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_TLS,
                 "the agent at %s presented no usable certificate%s%s", client->address,
                 local ? ": " : "", local ? local->message : "");
  curl_easy_cleanup (curl);
  return info;
}

char *
cg_client_fetch_pin (CgClient *client, GError **error)
{
  g_autoptr (CgCertInfo) info = cg_client_probe (client, error);
  return info ? g_steal_pointer (&info->pin) : NULL;
}

static void
set_pin_mismatch (CgClient *client, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *actual = cg_client_fetch_pin (client, &local);
  g_autofree char *expected = client->next_pin
                                  ? g_strdup_printf ("%s or %s", client->pin, client->next_pin)
                                  : g_strdup (client->pin);
  g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH,
               "the agent at %s presented key %s, expected %s", client->address,
               actual ? actual : "(unknown)", expected);
}

gboolean
cg_client_error_fails_over (const GError *error)
{
  if (error->domain == CG_CLIENT_ERROR)
    return error->code == CG_CLIENT_ERROR_UNREACHABLE || error->code == CG_CLIENT_ERROR_TLS;
  return error->domain == CG_ERROR && cg_error_http_status (error->code) == 503;
}

/* The kind of a refusal that came without an API code (a proxy, an
 * older agent): by its HTTP status, never by its text. */
static gint
code_for_status (long status)
{
  switch (status)
    {
    case 400:
      return CG_ERROR_INVALID;
    case 401:
      return CG_ERROR_UNAUTHORIZED;
    case 403:
      return CG_ERROR_FORBIDDEN;
    case 404:
      return CG_ERROR_NOT_FOUND;
    case 409:
      return CG_ERROR_CONFLICT;
    case 413:
      return CG_ERROR_TOO_LARGE;
    case 422:
      return CG_ERROR_DECRYPT;
    case 503:
      return CG_ERROR_UNAVAILABLE;
    default:
      return CG_ERROR_FAILED;
    }
}

static json_t *
parse_reply (CgClient *client, long status, CgBuf *buf, GError **error)
{
  json_t *reply = buf->len ? cg_json_load_strict ((const char *) buf->data, buf->len, NULL)
                           : NULL;
  if (status >= 200 && status < 300)
    {
      if (!json_is_object (reply))
        {
          g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PROTOCOL,
                       "the agent at %s sent a reply that is not a JSON object",
                       client->address);
          json_decref (reply);
          return NULL;
        }
      return reply;
    }

  json_t *err = json_object_get (reply, "error");
  const char *code = json_string_value (json_object_get (err, "code"));
  const char *message = json_string_value (json_object_get (err, "message"));
  g_autofree char *fallback = g_strdup_printf ("HTTP status %ld", status);
  if (status == 429)
    g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_BUSY,
                 "the agent at %s refuses for now after failed attempts: %s", client->address,
                 message ? message : fallback);
  else
    {
      gint cg_code = code ? cg_error_code_from_name (code) : CG_ERROR_FAILED;
      if (cg_code == CG_ERROR_FAILED)
        cg_code = code_for_status (status);
      if (cg_code == CG_ERROR_UNAUTHORIZED)
        g_set_error (error, CG_ERROR, cg_code, "the agent at %s rejected the access token: %s",
                     client->address, message ? message : fallback);
      else
        g_set_error (error, CG_ERROR, cg_code, "the agent at %s refused: %s%s%s%s",
                     client->address, message ? message : fallback, code ? " (" : "",
                     code ? code : "", code ? ")" : "");
    }
  json_decref (reply);
  return NULL;
}

/* Pin @curl to the client's key (and the staged next one).  A client that
 * cannot pin must not send: a pin that is not "sha256:" + 32 bytes, or
 * libcurl refusing the option (no pinning in its TLS backend, out of
 * memory, libcurl not loaded), is an error before anything is sent. */
static gboolean
pin_handle (CgClient *client, CURL *curl, GError **error)
{
  if (!cg_pin_is_valid (client->pin) || (client->next_pin && !cg_pin_is_valid (client->next_pin)))
    {
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH,
                   "no valid pin for the agent at %s: it is not trusted yet", client->address);
      return FALSE;
    }
  g_autofree char *pins = client->next_pin ? g_strdup_printf ("sha256//%s;sha256//%s",
                                                              client->pin + 7,
                                                              client->next_pin + 7)
                                           : g_strdup_printf ("sha256//%s", client->pin + 7);
  CURLcode code = curl_easy_setopt (curl, CURLOPT_PINNEDPUBLICKEY, pins);
  if (code != CURLE_OK)
    {
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_TLS,
                   "cannot pin the key of the agent at %s, so nothing was sent: %s",
                   client->address, curl_easy_strerror (code));
      return FALSE;
    }
  return TRUE;
}

/* The client certificate, when one is set: a request that was to carry it
 * is not sent without it (libcurl reads the files at each new connection,
 * and says there if it cannot). */
static gboolean
cert_handle (CgClient *client, CURL *curl, GError **error)
{
  if (!client->cert_path)
    return TRUE;
  CURLcode code;
  if ((code = curl_easy_setopt (curl, CURLOPT_SSLCERTTYPE, "PEM")) != CURLE_OK
      || (code = curl_easy_setopt (curl, CURLOPT_SSLCERT, client->cert_path)) != CURLE_OK
      || (code = curl_easy_setopt (curl, CURLOPT_SSLKEYTYPE, "PEM")) != CURLE_OK
      || (code = curl_easy_setopt (curl, CURLOPT_SSLKEY, client->key_path)) != CURLE_OK)
    {
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_TLS,
                   "cannot use the client certificate for the agent at %s, so nothing was "
                   "sent: %s",
                   client->address, curl_easy_strerror (code));
      return FALSE;
    }
  return TRUE;
}

json_t *
cg_client_request (CgClient *client, const char *method, const char *path, json_t *body,
                   GError **error)
{
  g_return_val_if_fail (method && path, NULL);

  CURL *curl = client->curl;
  g_autofree char *url = make_url (client, path);
  char errbuf[CURL_ERROR_SIZE] = "";
  char *auth = NULL, *body_text = NULL;
  struct curl_slist *headers = NULL;
  CgBuf *reply_buf = NULL;
  json_t *reply = NULL;

  /* reset keeps the live connection and the TLS session cache. */
  curl_easy_reset (curl);
  setup_common (client, curl, url, errbuf);
  if (!pin_handle (client, curl, error) || !cert_handle (client, curl, error))
    return NULL;
  reply_buf = cg_buf_new (0);
  curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, &reply_buf);

  headers = curl_slist_append (headers, "Accept: application/json");
  if (client->token)
    {
      auth = g_strconcat ("Authorization: Bearer ", (char *) client->token->data, NULL);
      headers = curl_slist_append (headers, auth);
    }
  if (body)
    {
      body_text = json_dumps (body, JSON_COMPACT | JSON_PRESERVE_ORDER);
      headers = curl_slist_append (headers, "Content-Type: application/json");
      /* No "Expect: 100-continue" round trip before a body over 1 KiB. */
      headers = curl_slist_append (headers, "Expect:");
      curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body_text);
      curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE, (long) strlen (body_text));
    }
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);

  CURLcode code = curl_easy_perform (curl);
  if (code == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
    set_pin_mismatch (client, error);
  else if (code != CURLE_OK)
    set_transport_error (client, code, errbuf, error);
  else
    {
      long status = 0;
      curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
      g_free (client->peer_pin);
      client->peer_pin = peer_pin_from_certinfo (curl);
      reply = parse_reply (client, status, reply_buf, error);
    }

  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt (curl, CURLOPT_POSTFIELDS, NULL);
  curl_slist_free_all (headers);
  cg_wipe_str (auth);
  cg_wipe_str (body_text);
  cg_buf_free (reply_buf);
  return reply;
}

json_t *
cg_client_enroll (CgClient *client, const char *code, const char *cn, CgBuf **key_pem,
                  GError **error)
{
  g_autoptr (CgBuf) key = NULL;
  g_autofree char *csr = NULL;
  /* The agent names the certificate itself; the CN only helps a reader. */
  const char *host = g_get_host_name ();
  if (!cn)
    cn = host && *host && strlen (host) <= 64 ? host : "credgate-client";
  if (!cg_client_key_generate (cn, &key, &csr, error))
    return NULL;
  json_auto_t *body = json_pack ("{s:s, s:s}", "code", code, "csr", csr);
  json_t *reply = cg_client_request (client, "POST", PATH_ENROLL, body, error);
  if (!reply)
    return NULL;
  const char *cert = json_string_value (json_object_get (reply, "certificate"));
  if (!cert)
    g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PROTOCOL,
                 "the agent at %s sent an enrollment reply without a certificate",
                 client->address);
  else if (!cg_client_cert_matches_key (cert, strlen (cert), key, NULL, error))
    g_prefix_error (error, "the agent at %s sent an enrollment reply that ", client->address);
  else
    {
      *key_pem = g_steal_pointer (&key);
      return reply;
    }
  json_decref (reply);
  return NULL;
}

json_t *
cg_client_get_info (CgClient *client, GError **error)
{
  json_t *info = cg_client_request (client, "GET", PATH_INFO, NULL, error);
  if (!info)
    return NULL;
  json_t *key = json_object_get (info, "sealingKey");
  const char *pin = json_string_value (json_object_get (info, "tlsPin"));
  /* No sealing key because the agent's secret store is not ready: its own
   * word, the same 503 state its other calls answer with (so a list of
   * agents goes on to the next one). */
  const char *store = json_string_value (json_object_get (info, "secretStore"));
  static const struct
  {
    const char *state;
    gint code;
  } not_ready[] = {
    { "locked", CG_ERROR_LOCKED },
    { "unavailable", CG_ERROR_UNAVAILABLE },
    { "keys_missing", CG_ERROR_KEYS_MISSING },
  };
  for (gsize i = 0; !json_is_object (key) && store && i < G_N_ELEMENTS (not_ready); i++)
    if (g_str_equal (store, not_ready[i].state))
      {
        g_set_error (error, CG_ERROR, not_ready[i].code,
                     "the agent at %s cannot seal now: its secret store is %s (%s)",
                     client->address, not_ready[i].state, cg_error_code_name (not_ready[i].code));
        json_decref (info);
        return NULL;
      }
  json_t *next = json_object_get (info, "nextTlsPin");
  if (!json_is_object (key) || !json_is_string (json_object_get (key, "kid")) || !pin
      || (next && !json_is_null (next) && !cg_pin_is_valid (json_string_value (next))))
    {
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PROTOCOL,
                   "the agent at %s sent /v1/info without a sealing key, kid or valid pins",
                   client->address);
      json_decref (info);
      return NULL;
    }
  return info;
}

/* @reply (stolen) if its member @member is a string, else NULL with a
 * protocol error naming the call. */
static json_t *
expect_string (CgClient *client, json_t *reply, const char *member, const char *call,
               GError **error)
{
  if (reply && !json_is_string (json_object_get (reply, member)))
    {
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PROTOCOL,
                   "the agent at %s answered %s without \"%s\"", client->address, call, member);
      g_clear_pointer (&reply, json_decref);
    }
  return reply;
}

/* "/v1/credentials/NAME" for a valid @name, else NULL and
 * CG_ERROR_INVALID before anything is sent (transfer full). */
static char *
credential_path (const char *name, GError **error)
{
  if (!cg_name_is_valid (name))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "invalid credential name");
      return NULL;
    }
  return g_strconcat (PATH_CREDENTIALS "/", name, NULL);
}

json_t *
cg_client_credential_list (CgClient *client, GError **error)
{
  json_auto_t *reply = cg_client_request (client, "GET", PATH_CREDENTIALS, NULL, error);
  if (!reply)
    return NULL;
  json_t *list = json_object_get (reply, "credentials");
  if (!json_is_array (list))
    {
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PROTOCOL,
                   "the agent at %s sent a list without credentials", client->address);
      return NULL;
    }
  return json_incref (list);
}

json_t *
cg_client_credential_get (CgClient *client, const char *name, GError **error)
{
  g_autofree char *path = credential_path (name, error);
  json_t *reply = path ? cg_client_request (client, "GET", path, NULL, error) : NULL;
  return expect_string (client, reply, "name", "GET " PATH_CREDENTIALS, error);
}

json_t *
cg_client_credential_put (CgClient *client, const char *name, json_t *body, GError **error)
{
  g_return_val_if_fail (json_is_object (body), NULL);
  g_autofree char *path = credential_path (name, error);
  json_t *reply = path ? cg_client_request (client, "PUT", path, body, error) : NULL;
  return expect_string (client, reply, "name", "PUT " PATH_CREDENTIALS, error);
}

json_t *
cg_client_credential_delete (CgClient *client, const char *name, GError **error)
{
  g_autofree char *path = credential_path (name, error);
  return path ? cg_client_request (client, "DELETE", path, NULL, error) : NULL;
}

/* @reply (stolen) if it holds an encryptedCredential that reads as one. */
static json_t *
expect_jwe (CgClient *client, json_t *reply, const char *call, GError **error)
{
  const char *jwe = json_string_value (json_object_get (reply, "encryptedCredential"));
  if (reply && (!jwe || !cg_jwe_peek (jwe, strlen (jwe), NULL, NULL, NULL)))
    {
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PROTOCOL,
                   "the agent at %s answered %s without a valid encryptedCredential",
                   client->address, call);
      g_clear_pointer (&reply, json_decref);
    }
  return reply;
}

json_t *
cg_client_encrypt (CgClient *client, const char *value, gsize len, const char *context,
                   GError **error)
{
  json_auto_t *body = json_object ();
  json_t *text = json_stringn (value, len);
  if (!text)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the value is not valid UTF-8 text; the agent takes text only");
      return NULL;
    }
  json_object_set_new (body, "value", text);
  if (context)
    json_object_set_new (body, "context", json_string (context));
  json_t *reply = cg_client_request (client, "POST", PATH_ENCRYPT, body, error);
  return expect_jwe (client, reply, PATH_ENCRYPT, error);
}

/* {"encryptedCredential", "context"}; no context, no "context" member (a
 * null one is not a string). */
static json_t *
jwe_body (const char *jwe, const char *context, GError **error)
{
  json_t *body = json_pack ("{s:s, s:s*}", "encryptedCredential", jwe, "context", context);
  if (!body)
    g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                         "the EncryptedCredential or its context is not valid UTF-8 text");
  return body;
}

json_t *
cg_client_verify (CgClient *client, const char *jwe, const char *context, GError **error)
{
  json_auto_t *body = jwe_body (jwe, context, error);
  json_t *reply = body ? cg_client_request (client, "POST", PATH_VERIFY, body, error) : NULL;
  if (reply && !json_is_true (json_object_get (reply, "ok")))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_DECRYPT, "the agent cannot decrypt it");
      g_clear_pointer (&reply, json_decref);
    }
  return reply;
}

json_t *
cg_client_rewrap (CgClient *client, const char *jwe, const char *context, GError **error)
{
  json_auto_t *body = jwe_body (jwe, context, error);
  json_t *reply = body ? cg_client_request (client, "POST", PATH_REWRAP, body, error) : NULL;
  return expect_jwe (client, reply, PATH_REWRAP, error);
}
