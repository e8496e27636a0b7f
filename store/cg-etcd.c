/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* etcd v3's JSON gateway over libcurl: see cg-etcd.h.  Numbers in the
 * gateway's JSON are int64 written as strings; fields equal to zero, false
 * or empty are left out; keys and values are standard base64. */
#include "config.h"

#include "store/cg-etcd.h"

#include "common/cg-json.h"

#include <curl/curl.h>
#include <jansson.h>
#include <string.h>

/* The largest reply (and the largest single watch message) we parse. */
#define CG_ETCD_MAX_REPLY (32 * 1024 * 1024)

/* gRPC status codes the gateway passes on. */
enum
{
  GRPC_DEADLINE_EXCEEDED = 4,
  GRPC_NOT_FOUND = 5,
  GRPC_PERMISSION_DENIED = 7,
  GRPC_FAILED_PRECONDITION = 9,
  GRPC_OUT_OF_RANGE = 11,
  GRPC_UNAVAILABLE = 14,
  GRPC_UNAUTHENTICATED = 16,
};

G_DEFINE_QUARK (cg-etcd-error-quark, cg_etcd_error)

struct _CgEtcd
{
  char **endpoints;
  guint n_endpoints;
  guint current;
  char *ca_file;
  char *cert_file;
  char *key_file;
  guint timeout_ms;
  CURL *curl;
};

CgEtcd *
cg_etcd_new (const char *const *endpoints, const char *ca_file, const char *cert_file,
             const char *key_file, guint timeout_ms, GError **error)
{
  g_return_val_if_fail (endpoints != NULL, NULL);
  g_return_val_if_fail (ca_file != NULL && cert_file != NULL && key_file != NULL, NULL);

  if (endpoints[0] == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no etcd endpoint given");
      return NULL;
    }
  for (guint i = 0; endpoints[i]; i++)
    if (!g_str_has_prefix (endpoints[i], "https://") || strlen (endpoints[i]) <= strlen ("https://")
        || strchr (endpoints[i] + strlen ("https://"), '/') != NULL)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "etcd endpoint %u is not https://host:port", i + 1);
        return NULL;
      }
  if (timeout_ms == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "etcd timeout is zero");
      return NULL;
    }

  /* curl_easy_init would do it, but not thread-safely. */
  static gsize curl_ready = 0;
  if (g_once_init_enter (&curl_ready))
    g_once_init_leave (&curl_ready, curl_global_init (CURL_GLOBAL_DEFAULT) == CURLE_OK ? 1 : 2);

  CURL *curl = curl_easy_init ();
  if (curl == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create a curl handle");
      return NULL;
    }

  CgEtcd *etcd = g_new0 (CgEtcd, 1);
  etcd->endpoints = g_strdupv ((char **) endpoints);
  etcd->n_endpoints = g_strv_length (etcd->endpoints);
  etcd->ca_file = g_strdup (ca_file);
  etcd->cert_file = g_strdup (cert_file);
  etcd->key_file = g_strdup (key_file);
  etcd->timeout_ms = timeout_ms;
  etcd->curl = curl;
  return etcd;
}

void
cg_etcd_free (CgEtcd *etcd)
{
  if (etcd == NULL)
    return;
  curl_easy_cleanup (etcd->curl);
  g_strfreev (etcd->endpoints);
  g_free (etcd->ca_file);
  g_free (etcd->cert_file);
  g_free (etcd->key_file);
  g_free (etcd);
}

const char *
cg_etcd_get_current_endpoint (CgEtcd *etcd)
{
  return etcd->endpoints[etcd->current];
}

guint
cg_etcd_get_timeout (CgEtcd *etcd)
{
  return etcd->timeout_ms;
}

void
cg_etcd_set_timeout (CgEtcd *etcd, guint timeout_ms)
{
  g_return_if_fail (timeout_ms > 0);
  etcd->timeout_ms = timeout_ms;
}

void
cg_etcd_kv_free (CgEtcdKv *kv)
{
  if (kv == NULL)
    return;
  g_clear_pointer (&kv->key, g_bytes_unref);
  g_clear_pointer (&kv->value, g_bytes_unref);
  g_free (kv);
}

/* ---- JSON helpers ---- */

static gboolean
bad_reply (GError **error, const char *what)
{
  g_set_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_BAD_REPLY, "etcd reply: %s", what);
  return FALSE;
}

/* An int64 member written as a string or a number; absent is 0. */
static gboolean
get_int64 (json_t *obj, const char *key, gint64 *out, GError **error)
{
  json_t *v = json_object_get (obj, key);
  *out = 0;
  if (v == NULL)
    return TRUE;
  if (json_is_integer (v))
    {
      *out = json_integer_value (v);
      return TRUE;
    }
  if (!json_is_string (v)
      || !g_ascii_string_to_signed (json_string_value (v), 10, G_MININT64, G_MAXINT64, out, NULL))
    {
      g_set_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_BAD_REPLY,
                   "etcd reply: \"%s\" is not an integer", key);
      return FALSE;
    }
  return TRUE;
}

static json_t *
int64_json (gint64 v)
{
  g_autofree char *s = g_strdup_printf ("%" G_GINT64_FORMAT, v);
  return json_string (s);
}

static json_t *
bytes_json (GBytes *bytes)
{
  gsize len = 0;
  const guchar *data = bytes ? g_bytes_get_data (bytes, &len) : NULL;
  g_autofree char *b64 = g_base64_encode (data, len);
  return json_string (b64);
}

/* Standard base64 with padding, checked before GLib's lenient decoder sees
 * it.  Absent is empty. */
static gboolean
get_bytes (json_t *obj, const char *key, GBytes **out, GError **error)
{
  json_t *v = json_object_get (obj, key);
  *out = NULL;
  if (v == NULL)
    {
      *out = g_bytes_new (NULL, 0);
      return TRUE;
    }
  const char *s = json_string_value (v);
  gsize slen = json_is_string (v) ? json_string_length (v) : 0;
  gboolean ok = s != NULL && slen % 4 == 0;
  for (gsize i = 0; ok && i < slen; i++)
    {
      char c = s[i];
      if (c == '=')
        ok = i >= slen - 2 && (i == slen - 1 || s[i + 1] == '=');
      else
        ok = g_ascii_isalnum (c) || c == '+' || c == '/';
    }
  if (!ok)
    {
      g_set_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_BAD_REPLY,
                   "etcd reply: \"%s\" is not base64", key);
      return FALSE;
    }
  gsize len = 0;
  guchar *data = slen ? g_base64_decode (s, &len) : NULL;
  *out = g_bytes_new_take (data, len);
  return TRUE;
}

static CgEtcdKv *
parse_kv (json_t *obj, gboolean want_value, GError **error)
{
  g_autoptr (CgEtcdKv) kv = g_new0 (CgEtcdKv, 1);
  if (!json_is_object (obj))
    return bad_reply (error, "a key-value is not an object"), NULL;
  if (!get_bytes (obj, "key", &kv->key, error)
      || !get_int64 (obj, "create_revision", &kv->create_revision, error)
      || !get_int64 (obj, "mod_revision", &kv->mod_revision, error)
      || !get_int64 (obj, "version", &kv->version, error)
      || !get_int64 (obj, "lease", &kv->lease, error))
    return NULL;
  if (want_value && !get_bytes (obj, "value", &kv->value, error))
    return NULL;
  if (g_bytes_get_size (kv->key) == 0)
    return bad_reply (error, "a key-value without a key"), NULL;
  return g_steal_pointer (&kv);
}

static gboolean
header_revision (json_t *reply, gint64 *out_revision, GError **error)
{
  json_t *header = json_object_get (reply, "header");
  gint64 rev = 0;
  if (!json_is_object (header))
    return bad_reply (error, "no header");
  if (!get_int64 (header, "revision", &rev, error))
    return FALSE;
  if (out_revision)
    *out_revision = rev;
  return TRUE;
}

/* A gRPC error the gateway passed on, as a GError.  etcd's messages are its
 * own fixed texts ("etcdserver: no leader"); they never quote a key or a
 * value, but only the code and a known message are repeated anyway. */
static void
set_grpc_error (GError **error, gint64 code, const char *message, const char *endpoint)
{
  gboolean compacted = message && strstr (message, "required revision has been compacted");
  const char *known = message && g_str_has_prefix (message, "etcdserver: ") && strlen (message) < 120
                          && g_str_is_ascii (message)
                          ? message
                          : "an error";
  CgEtcdErrorCode ec;

  if (compacted)
    ec = CG_ETCD_ERROR_COMPACTED;
  else if (code == GRPC_UNAVAILABLE || code == GRPC_DEADLINE_EXCEEDED)
    ec = CG_ETCD_ERROR_UNAVAILABLE;
  else
    ec = CG_ETCD_ERROR_REFUSED;
  g_set_error (error, CG_ETCD_ERROR, ec, "etcd %s: %s (gRPC code %" G_GINT64_FORMAT ")", endpoint,
               known, code);
}

static gboolean
is_no_leader (json_t *reply)
{
  gint64 code = 0;
  const char *msg = json_string_value (json_object_get (reply, "message"));
  return get_int64 (reply, "code", &code, NULL) && code == GRPC_UNAVAILABLE && msg
         && strcmp (msg, "etcdserver: no leader") == 0;
}

/* ---- transport ---- */

typedef struct
{
  GByteArray *buf;
  gboolean too_large;
} Reply;

static size_t
reply_write_cb (char *ptr, size_t size, size_t nmemb, void *userdata)
{
  Reply *r = userdata;
  gsize n = size * nmemb;
  if (r->buf->len + n > CG_ETCD_MAX_REPLY)
    {
      r->too_large = TRUE;
      return 0;
    }
  g_byte_array_append (r->buf, (const guint8 *) ptr, n);
  return n;
}

static int
xferinfo_cb (void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
             curl_off_t ulnow)
{
  (void) dltotal, (void) dlnow, (void) ultotal, (void) ulnow;
  GCancellable *cancellable = clientp;
  return cancellable && g_cancellable_is_cancelled (cancellable) ? 1 : 0;
}

static gboolean
is_connect_failure (CURL *curl, CURLcode code)
{
  curl_off_t connect_us = 0;
  switch (code)
    {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
      return TRUE;
    case CURLE_OPERATION_TIMEDOUT:
      /* Timed out before the connection was made: try the next one. */
      return curl_easy_getinfo (curl, CURLINFO_APPCONNECT_TIME_T, &connect_us) == CURLE_OK
             && connect_us == 0;
    default:
      return FALSE;
    }
}

static void
set_curl_error (GError **error, CURLcode code, const char *endpoint)
{
  CgEtcdErrorCode ec;
  switch (code)
    {
    case CURLE_OPERATION_TIMEDOUT:
      ec = CG_ETCD_ERROR_UNAVAILABLE;
      break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
      ec = CG_ETCD_ERROR_TLS;
      break;
    default:
      ec = CG_ETCD_ERROR_UNREACHABLE;
      break;
    }
  /* curl_easy_strerror: curl's fixed text, never the data exchanged. */
  g_set_error (error, CG_ETCD_ERROR, ec, "etcd %s: %s", endpoint, curl_easy_strerror (code));
}

/* curl_easy_perform, woken at once when @cancellable is cancelled (the
 * progress callback alone notices it within about a second): the same
 * transfer through a multi handle that also polls the cancellable's fd. */
static CURLcode
perform_cancellable (CURL *curl, GCancellable *cancellable)
{
  CURLM *multi = curl_multi_init ();
  if (multi == NULL)
    return curl_easy_perform (curl);
  GPollFD pfd = { -1, 0, 0 };
  gboolean have_fd = g_cancellable_make_pollfd (cancellable, &pfd);
  struct curl_waitfd extra = { pfd.fd, CURL_WAIT_POLLIN, 0 };
  CURLcode code = CURLE_OK;
  int running = 0;

  if (curl_multi_add_handle (multi, curl) != CURLM_OK)
    code = CURLE_OUT_OF_MEMORY;
  else
    for (;;)
      {
        if (curl_multi_perform (multi, &running) != CURLM_OK)
          {
            code = CURLE_RECV_ERROR;
            break;
          }
        if (running == 0)
          {
            CURLMsg *msg;
            int left = 0;
            code = CURLE_RECV_ERROR;
            while ((msg = curl_multi_info_read (multi, &left)) != NULL)
              if (msg->msg == CURLMSG_DONE && msg->easy_handle == curl)
                code = msg->data.result;
            break;
          }
        if (g_cancellable_is_cancelled (cancellable))
          {
            code = CURLE_ABORTED_BY_CALLBACK;
            break;
          }
        curl_multi_poll (multi, have_fd ? &extra : NULL, have_fd ? 1 : 0, 1000, NULL);
      }
  curl_multi_remove_handle (multi, curl);
  curl_multi_cleanup (multi);
  if (have_fd)
    g_cancellable_release_fd (cancellable);
  return code;
}

typedef enum
{
  REQ_NEED_LEADER = 1 << 0, /* fail fast on a member without a leader, try the next */
  REQ_STREAM = 1 << 1,      /* a watch: the transfer runs for stream_ms */
  REQ_ONE_ENDPOINT = 1 << 2, /* only the current endpoint, no other */
} RequestFlags;

/* POSTs @body to @path on the endpoints in turn from the current one,
 * moving on when one cannot be connected to (or, with REQ_NEED_LEADER, has
 * no leader), within the client's timeout.  The reply body goes to
 * @write_cb; *out_status is the HTTP status.  For a unary request
 * (@write_cb NULL) *out_reply is the parsed JSON reply, capped in size. */
static gboolean
request (CgEtcd *etcd, const char *path, const char *body, RequestFlags flags,
         curl_write_callback write_cb, void *write_data, guint stream_ms,
         GCancellable *cancellable, json_t **out_reply, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) etcd->timeout_ms * 1000;
  g_autoptr (GError) last_error = NULL;
  struct curl_slist *headers = NULL;
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  Reply reply = { buf, FALSE };
  CURL *curl = etcd->curl;

  headers = curl_slist_append (headers, "Content-Type: application/json");
  if (flags & REQ_NEED_LEADER)
    /* etcd's "hasleader" metadata: a member cut off from the leader says
     * so at once instead of waiting out its own request timeout. */
    headers = curl_slist_append (headers, "Grpc-Metadata-hasleader: true");

  guint attempts = (flags & REQ_ONE_ENDPOINT) ? 1 : etcd->n_endpoints;
  for (guint attempt = 0; attempt < attempts; attempt++)
    {
      guint idx = (etcd->current + attempt) % etcd->n_endpoints;
      const char *endpoint = etcd->endpoints[idx];
      gint64 remaining_ms = (deadline - g_get_monotonic_time ()) / 1000;
      g_autofree char *url = g_strconcat (endpoint, path, NULL);
      char errbuf[CURL_ERROR_SIZE] = "";
      long status = 0;

      if (remaining_ms <= 0)
        break;
      g_byte_array_set_size (buf, 0);
      reply.too_large = FALSE;

      curl_easy_reset (curl);
      curl_easy_setopt (curl, CURLOPT_URL, url);
      curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "https");
      curl_easy_setopt (curl, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
      curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt (curl, CURLOPT_TCP_NODELAY, 1L);
      curl_easy_setopt (curl, CURLOPT_PROXY, "");
      curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
      curl_easy_setopt (curl, CURLOPT_CAINFO, etcd->ca_file);
      curl_easy_setopt (curl, CURLOPT_CAPATH, NULL);
      curl_easy_setopt (curl, CURLOPT_SSL_VERIFYPEER, 1L);
      curl_easy_setopt (curl, CURLOPT_SSL_VERIFYHOST, 2L);
      curl_easy_setopt (curl, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt (curl, CURLOPT_SSLCERT, etcd->cert_file);
      curl_easy_setopt (curl, CURLOPT_SSLKEYTYPE, "PEM");
      curl_easy_setopt (curl, CURLOPT_SSLKEY, etcd->key_file);
      curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
      curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE, (long) strlen (body));
      curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, (long) remaining_ms);
      curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS,
                        (long) ((flags & REQ_STREAM) ? stream_ms : remaining_ms));
      curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
      curl_easy_setopt (curl, CURLOPT_XFERINFODATA, cancellable);
      curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, write_cb ? write_cb : reply_write_cb);
      curl_easy_setopt (curl, CURLOPT_WRITEDATA, write_cb ? write_data : &reply);

      CURLcode code = (flags & REQ_STREAM) && cancellable
                          ? perform_cancellable (curl, cancellable)
                          : curl_easy_perform (curl);
      curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, NULL);
      curl_easy_setopt (curl, CURLOPT_HTTPHEADER, NULL);
      curl_easy_setopt (curl, CURLOPT_POSTFIELDS, NULL);

      if (code == CURLE_ABORTED_BY_CALLBACK && g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          curl_slist_free_all (headers);
          return FALSE;
        }
      if (is_connect_failure (curl, code))
        {
          g_clear_error (&last_error);
          set_curl_error (&last_error, code, endpoint);
          continue;
        }
      if (write_cb)
        {
          /* A stream: its own callback parsed it.  The caller looks at
           * @code through the error. */
          etcd->current = idx;
          curl_slist_free_all (headers);
          if (code == CURLE_OK)
            return TRUE;
          set_curl_error (error, code, endpoint);
          return FALSE;
        }
      if (reply.too_large)
        {
          curl_slist_free_all (headers);
          return bad_reply (error, "too large");
        }
      if (code != CURLE_OK)
        {
          curl_slist_free_all (headers);
          set_curl_error (error, code, endpoint);
          return FALSE;
        }

      g_autoptr (GError) parse_error = NULL;
      json_auto_t *root = cg_json_load_strict ((const char *) buf->data, buf->len, &parse_error);
      if (root == NULL || !json_is_object (root))
        {
          curl_slist_free_all (headers);
          g_set_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_BAD_REPLY,
                       "etcd %s: HTTP %ld, not a JSON object", endpoint, status);
          return FALSE;
        }
      if (json_object_get (root, "code") != NULL && json_object_get (root, "header") == NULL)
        {
          gint64 grpc = 0;
          if ((flags & REQ_NEED_LEADER) && is_no_leader (root))
            {
              g_clear_error (&last_error);
              set_grpc_error (&last_error, GRPC_UNAVAILABLE, "etcdserver: no leader", endpoint);
              continue;
            }
          curl_slist_free_all (headers);
          if (!get_int64 (root, "code", &grpc, error))
            return FALSE;
          set_grpc_error (error, grpc, json_string_value (json_object_get (root, "message")),
                          endpoint);
          return FALSE;
        }
      if (status != 200)
        {
          curl_slist_free_all (headers);
          g_set_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_BAD_REPLY, "etcd %s: HTTP %ld",
                       endpoint, status);
          return FALSE;
        }
      etcd->current = idx;
      curl_slist_free_all (headers);
      *out_reply = g_steal_pointer (&root);
      return TRUE;
    }

  curl_slist_free_all (headers);
  if (last_error)
    g_propagate_error (error, g_steal_pointer (&last_error));
  else
    g_set_error (error, CG_ETCD_ERROR, CG_ETCD_ERROR_UNAVAILABLE,
                 "etcd: no answer within %u ms", etcd->timeout_ms);
  return FALSE;
}

static gboolean
call (CgEtcd *etcd, const char *path, json_t *body, RequestFlags flags, json_t **out_reply,
      GError **error)
{
  g_autofree char *text = cg_json_dump (body);
  return request (etcd, path, text, flags, NULL, NULL, 0, NULL, out_reply, error);
}

/* The end of the range "every key starting with @prefix": the prefix with
 * its last byte below 0xff incremented, or "\0" (every key) if none. */
static GBytes *
prefix_end (GBytes *prefix)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (prefix, &len);
  g_autofree guint8 *end = g_memdup2 (data, len);
  while (len > 0)
    {
      if (end[len - 1] < 0xff)
        {
          end[len - 1]++;
          return g_bytes_new (end, len);
        }
      len--;
    }
  return g_bytes_new ("", 1);
}

/* ---- KV ---- */

/* [@key, @range_end) or @key alone (@range_end NULL). */
static gboolean
range_impl (CgEtcd *etcd, GBytes *key, GBytes *range_end, CgEtcdRangeFlags flags,
            gint64 revision, gint64 limit, GPtrArray **out_kvs, gint64 *out_revision,
            gboolean *out_more, GError **error)
{
  json_auto_t *body = json_object ();
  json_auto_t *reply = NULL;
  gint64 more = 0;

  json_object_set_new (body, "key", bytes_json (key));
  if (range_end)
    json_object_set_new (body, "range_end", bytes_json (range_end));
  if (revision > 0)
    json_object_set_new (body, "revision", int64_json (revision));
  if (limit > 0)
    json_object_set_new (body, "limit", int64_json (limit));
  if (flags & CG_ETCD_RANGE_SERIALIZABLE)
    json_object_set_new (body, "serializable", json_true ());
  if (flags & CG_ETCD_RANGE_KEYS_ONLY)
    json_object_set_new (body, "keys_only", json_true ());
  /* Sorted by key, ascending (etcd's default for a range). */

  if (!call (etcd, "/v3/kv/range", body,
             (flags & CG_ETCD_RANGE_SERIALIZABLE) ? 0 : REQ_NEED_LEADER, &reply, error)
      || !header_revision (reply, out_revision, error))
    return FALSE;

  json_t *kvs = json_object_get (reply, "kvs");
  if (kvs != NULL && !json_is_array (kvs))
    return bad_reply (error, "kvs is not an array");
  g_autoptr (GPtrArray) arr = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_etcd_kv_free);
  size_t i;
  json_t *item;
  json_array_foreach (kvs, i, item)
    {
      CgEtcdKv *kv = parse_kv (item, !(flags & CG_ETCD_RANGE_KEYS_ONLY), error);
      if (kv == NULL)
        return FALSE;
      g_ptr_array_add (arr, kv);
    }
  json_t *more_json = json_object_get (reply, "more");
  if (more_json != NULL && !json_is_boolean (more_json))
    return bad_reply (error, "more is not a boolean");
  more = json_is_true (more_json);
  if (out_more)
    *out_more = more;
  *out_kvs = g_steal_pointer (&arr);
  return TRUE;
}

gboolean
cg_etcd_range (CgEtcd *etcd, GBytes *key, CgEtcdRangeFlags flags, gint64 revision, gint64 limit,
               GPtrArray **out_kvs, gint64 *out_revision, gboolean *out_more, GError **error)
{
  g_return_val_if_fail (etcd != NULL && key != NULL && out_kvs != NULL, FALSE);
  g_autoptr (GBytes) end = (flags & CG_ETCD_RANGE_PREFIX) ? prefix_end (key) : NULL;
  return range_impl (etcd, key, end, flags, revision, limit, out_kvs, out_revision, out_more,
                     error);
}

gboolean
cg_etcd_range_from (CgEtcd *etcd, GBytes *prefix, GBytes *from, CgEtcdRangeFlags flags,
                    gint64 revision, gint64 limit, GPtrArray **out_kvs, gint64 *out_revision,
                    gboolean *out_more, GError **error)
{
  g_return_val_if_fail (etcd != NULL && prefix != NULL && out_kvs != NULL, FALSE);
  g_autoptr (GBytes) end = prefix_end (prefix);
  return range_impl (etcd, from ? from : prefix, end, flags, revision, limit, out_kvs,
                     out_revision, out_more, error);
}

GBytes *
cg_etcd_key_after (GBytes *key)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (key, &len);
  guint8 *next = g_malloc (len + 1);
  if (len)
    memcpy (next, data, len);
  next[len] = 0;
  return g_bytes_new_take (next, len + 1);
}

gboolean
cg_etcd_put (CgEtcd *etcd, GBytes *key, GBytes *value, gint64 lease, gint64 *out_revision,
             GError **error)
{
  g_return_val_if_fail (etcd != NULL && key != NULL && value != NULL, FALSE);
  json_auto_t *body = json_object ();
  json_auto_t *reply = NULL;

  json_object_set_new (body, "key", bytes_json (key));
  json_object_set_new (body, "value", bytes_json (value));
  if (lease != 0)
    json_object_set_new (body, "lease", int64_json (lease));
  return call (etcd, "/v3/kv/put", body, REQ_NEED_LEADER, &reply, error)
         && header_revision (reply, out_revision, error);
}

static json_t *
delete_request (GBytes *key, gboolean prefix)
{
  json_t *body = json_object ();
  json_object_set_new (body, "key", bytes_json (key));
  if (prefix)
    {
      g_autoptr (GBytes) end = prefix_end (key);
      json_object_set_new (body, "range_end", bytes_json (end));
    }
  return body;
}

gboolean
cg_etcd_delete_range (CgEtcd *etcd, GBytes *key, gboolean prefix, gint64 *out_deleted,
                      gint64 *out_revision, GError **error)
{
  g_return_val_if_fail (etcd != NULL && key != NULL, FALSE);
  json_auto_t *body = delete_request (key, prefix);
  json_auto_t *reply = NULL;
  gint64 deleted = 0;

  if (!call (etcd, "/v3/kv/deleterange", body, REQ_NEED_LEADER, &reply, error)
      || !header_revision (reply, out_revision, error)
      || !get_int64 (reply, "deleted", &deleted, error))
    return FALSE;
  if (out_deleted)
    *out_deleted = deleted;
  return TRUE;
}

/* ---- txn ---- */

struct _CgEtcdTxn
{
  json_t *compare; /* array */
  json_t *success; /* array */
};

CgEtcdTxn *
cg_etcd_txn_new (void)
{
  CgEtcdTxn *txn = g_new0 (CgEtcdTxn, 1);
  txn->compare = json_array ();
  txn->success = json_array ();
  return txn;
}

void
cg_etcd_txn_free (CgEtcdTxn *txn)
{
  if (txn == NULL)
    return;
  json_decref (txn->compare);
  json_decref (txn->success);
  g_free (txn);
}

void
cg_etcd_txn_compare_mod_revision (CgEtcdTxn *txn, GBytes *key, gint64 mod_revision)
{
  g_return_if_fail (txn != NULL && key != NULL && mod_revision >= 0);
  json_t *cmp = json_object ();
  json_object_set_new (cmp, "key", bytes_json (key));
  json_object_set_new (cmp, "result", json_string ("EQUAL"));
  if (mod_revision == 0)
    {
      json_object_set_new (cmp, "target", json_string ("CREATE"));
      json_object_set_new (cmp, "create_revision", int64_json (0));
    }
  else
    {
      json_object_set_new (cmp, "target", json_string ("MOD"));
      json_object_set_new (cmp, "mod_revision", int64_json (mod_revision));
    }
  json_array_append_new (txn->compare, cmp);
}

void
cg_etcd_txn_compare_prefix_mod_below (CgEtcdTxn *txn, GBytes *prefix, gint64 below)
{
  g_return_if_fail (txn != NULL && prefix != NULL && below > 0);
  g_autoptr (GBytes) end = prefix_end (prefix);
  json_t *cmp = json_object ();
  json_object_set_new (cmp, "key", bytes_json (prefix));
  json_object_set_new (cmp, "range_end", bytes_json (end));
  json_object_set_new (cmp, "result", json_string ("LESS"));
  json_object_set_new (cmp, "target", json_string ("MOD"));
  json_object_set_new (cmp, "mod_revision", int64_json (below));
  json_array_append_new (txn->compare, cmp);
}

guint
cg_etcd_txn_get_n_compares (CgEtcdTxn *txn)
{
  return json_array_size (txn->compare);
}

guint
cg_etcd_txn_get_n_ops (CgEtcdTxn *txn)
{
  return json_array_size (txn->success);
}

void
cg_etcd_txn_put (CgEtcdTxn *txn, GBytes *key, GBytes *value, gint64 lease)
{
  g_return_if_fail (txn != NULL && key != NULL && value != NULL);
  json_t *put = json_object ();
  json_object_set_new (put, "key", bytes_json (key));
  json_object_set_new (put, "value", bytes_json (value));
  if (lease != 0)
    json_object_set_new (put, "lease", int64_json (lease));
  json_array_append_new (txn->success, json_pack ("{s:o}", "request_put", put));
}

void
cg_etcd_txn_delete (CgEtcdTxn *txn, GBytes *key, gboolean prefix)
{
  g_return_if_fail (txn != NULL && key != NULL);
  json_array_append_new (txn->success,
                         json_pack ("{s:o}", "request_delete_range", delete_request (key, prefix)));
}

gboolean
cg_etcd_txn (CgEtcd *etcd, CgEtcdTxn *txn, gint64 *out_revision, GError **error)
{
  g_return_val_if_fail (etcd != NULL && txn != NULL, FALSE);
  json_auto_t *body = json_pack ("{s:O, s:O}", "compare", txn->compare, "success", txn->success);
  json_auto_t *reply = NULL;

  if (!call (etcd, "/v3/kv/txn", body, REQ_NEED_LEADER, &reply, error)
      || !header_revision (reply, out_revision, error))
    return FALSE;
  json_t *succeeded = json_object_get (reply, "succeeded");
  if (succeeded != NULL && !json_is_boolean (succeeded))
    return bad_reply (error, "succeeded is not a boolean");
  if (!json_is_true (succeeded))
    {
      g_set_error_literal (error, CG_ETCD_ERROR, CG_ETCD_ERROR_CONFLICT,
                           "etcd txn: a compare failed, nothing was written");
      return FALSE;
    }
  return TRUE;
}

/* ---- leases ---- */

gboolean
cg_etcd_lease_grant (CgEtcd *etcd, gint64 ttl, gint64 *out_id, gint64 *out_ttl, GError **error)
{
  g_return_val_if_fail (etcd != NULL && ttl > 0 && out_id != NULL, FALSE);
  json_auto_t *body = json_pack ("{s:o}", "TTL", int64_json (ttl));
  json_auto_t *reply = NULL;
  gint64 id = 0, granted = 0;

  if (!call (etcd, "/v3/lease/grant", body, REQ_NEED_LEADER, &reply, error)
      || !get_int64 (reply, "ID", &id, error) || !get_int64 (reply, "TTL", &granted, error))
    return FALSE;
  const char *err = json_string_value (json_object_get (reply, "error"));
  if (err != NULL && *err != '\0')
    {
      g_set_error_literal (error, CG_ETCD_ERROR, CG_ETCD_ERROR_REFUSED, "etcd refused the lease");
      return FALSE;
    }
  if (id == 0 || granted <= 0)
    return bad_reply (error, "a lease without ID or TTL");
  *out_id = id;
  if (out_ttl)
    *out_ttl = granted;
  return TRUE;
}

gboolean
cg_etcd_lease_keepalive_once (CgEtcd *etcd, gint64 id, gint64 *out_ttl, GError **error)
{
  g_return_val_if_fail (etcd != NULL && id != 0, FALSE);
  json_auto_t *body = json_pack ("{s:o}", "ID", int64_json (id));
  json_auto_t *reply = NULL;
  gint64 ttl = 0;

  /* A streaming RPC in gRPC; the gateway answers one request with one
   * {"result": …} object. */
  if (!call (etcd, "/v3/lease/keepalive", body, REQ_NEED_LEADER, &reply, error))
    return FALSE;
  json_t *result = json_object_get (reply, "result");
  if (!json_is_object (result))
    {
      json_t *err = json_object_get (reply, "error");
      gint64 code = 0;
      if (json_is_object (err) && get_int64 (err, "grpc_code", &code, NULL) && code != 0)
        {
          set_grpc_error (error, code, NULL, etcd->endpoints[etcd->current]);
          return FALSE;
        }
      return bad_reply (error, "keepalive without a result");
    }
  if (!get_int64 (result, "TTL", &ttl, error))
    return FALSE;
  if (ttl <= 0)
    {
      g_set_error_literal (error, CG_ETCD_ERROR, CG_ETCD_ERROR_REFUSED,
                           "etcd: the lease has expired or was revoked");
      return FALSE;
    }
  if (out_ttl)
    *out_ttl = ttl;
  return TRUE;
}

gboolean
cg_etcd_lease_revoke (CgEtcd *etcd, gint64 id, GError **error)
{
  g_return_val_if_fail (etcd != NULL && id != 0, FALSE);
  json_auto_t *body = json_pack ("{s:o}", "ID", int64_json (id));
  json_auto_t *reply = NULL;
  return call (etcd, "/v3/lease/revoke", body, REQ_NEED_LEADER, &reply, error);
}

/* ---- watch ---- */

typedef struct
{
  GByteArray *line; /* the message being received */
  CgEtcdWatchFunc func;
  CgEtcdWatchBatchFunc batch_done;
  gpointer user_data;
  gboolean created;
  gboolean stopped;      /* func asked to stop */
  gint64 next_revision;
  gint64 compact_revision;
  GError *error;         /* set: abort the transfer with it */
} Watch;

static gboolean
watch_message (Watch *w, const guint8 *data, gsize len)
{
  g_autoptr (GError) parse_error = NULL;
  json_auto_t *root = cg_json_load_strict ((const char *) data, len, &parse_error);
  if (root == NULL || !json_is_object (root))
    return bad_reply (&w->error, "a watch message is not a JSON object");

  json_t *err = json_object_get (root, "error");
  if (err != NULL)
    {
      gint64 code = 0;
      if (!json_is_object (err) || !get_int64 (err, "grpc_code", &code, &w->error))
        return w->error ? FALSE : bad_reply (&w->error, "a watch error is not an object");
      set_grpc_error (&w->error, code, json_string_value (json_object_get (err, "message")),
                      "watch");
      return FALSE;
    }
  json_t *result = json_object_get (root, "result");
  if (!json_is_object (result))
    return bad_reply (&w->error, "a watch message without result");

  if (json_is_true (json_object_get (result, "created")))
    w->created = TRUE;
  if (json_is_true (json_object_get (result, "canceled")))
    {
      if (!get_int64 (result, "compact_revision", &w->compact_revision, &w->error))
        return FALSE;
      if (w->compact_revision > 0)
        g_set_error (&w->error, CG_ETCD_ERROR, CG_ETCD_ERROR_COMPACTED,
                     "etcd watch: revision %" G_GINT64_FORMAT " was compacted (history from %" G_GINT64_FORMAT ")",
                     w->next_revision, w->compact_revision);
      else
        g_set_error_literal (&w->error, CG_ETCD_ERROR, CG_ETCD_ERROR_UNAVAILABLE,
                             "etcd watch: canceled by etcd");
      return FALSE;
    }

  json_t *events = json_object_get (result, "events");
  if (events != NULL && !json_is_array (events))
    return bad_reply (&w->error, "watch events is not an array");
  size_t i;
  json_t *ev;
  json_array_foreach (events, i, ev)
    {
      const char *type = json_string_value (json_object_get (ev, "type"));
      CgEtcdEventType t;
      if (!json_is_object (ev))
        return bad_reply (&w->error, "a watch event is not an object");
      if (json_object_get (ev, "type") == NULL || g_strcmp0 (type, "PUT") == 0)
        t = CG_ETCD_EVENT_PUT;
      else if (g_strcmp0 (type, "DELETE") == 0)
        t = CG_ETCD_EVENT_DELETE;
      else
        return bad_reply (&w->error, "a watch event of unknown type");
      g_autoptr (CgEtcdKv) kv = parse_kv (json_object_get (ev, "kv"), t == CG_ETCD_EVENT_PUT, &w->error);
      if (kv == NULL)
        return FALSE;
      if (kv->mod_revision <= 0 || kv->mod_revision < w->next_revision - 1)
        return bad_reply (&w->error, "a watch event out of order");
      w->next_revision = kv->mod_revision + 1;
      if (!w->func (t, kv, w->user_data))
        {
          w->stopped = TRUE;
          return FALSE;
        }
    }
  if (w->batch_done && json_array_size (events) > 0
      && !w->batch_done (w->next_revision - 1, w->user_data))
    {
      w->stopped = TRUE;
      return FALSE;
    }
  return TRUE;
}

static size_t
watch_write_cb (char *ptr, size_t size, size_t nmemb, void *userdata)
{
  Watch *w = userdata;
  gsize n = size * nmemb;
  const char *p = ptr, *end = ptr + n;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      gsize chunk = (nl ? nl : end) - p;
      if (w->line->len + chunk > CG_ETCD_MAX_REPLY)
        {
          bad_reply (&w->error, "a watch message is too large");
          return 0;
        }
      g_byte_array_append (w->line, (const guint8 *) p, chunk);
      if (nl == NULL)
        break;
      p = nl + 1;
      if (w->line->len > 0 && !watch_message (w, w->line->data, w->line->len))
        return 0;
      g_byte_array_set_size (w->line, 0);
    }
  return n;
}

gboolean
cg_etcd_watch (CgEtcd *etcd, GBytes *key, gboolean prefix, gint64 start_revision,
               guint duration_ms, CgEtcdWatchFunc func, gpointer user_data,
               GCancellable *cancellable, gint64 *out_next_revision,
               gint64 *out_compact_revision, GError **error)
{
  return cg_etcd_watch_batched (etcd, key, prefix, start_revision, duration_ms, func, NULL,
                                user_data, cancellable, out_next_revision, out_compact_revision,
                                error);
}

gboolean
cg_etcd_watch_batched (CgEtcd *etcd, GBytes *key, gboolean prefix, gint64 start_revision,
                       guint duration_ms, CgEtcdWatchFunc func, CgEtcdWatchBatchFunc batch_done,
                       gpointer user_data, GCancellable *cancellable, gint64 *out_next_revision,
                       gint64 *out_compact_revision, GError **error)
{
  g_return_val_if_fail (etcd != NULL && key != NULL && func != NULL && duration_ms > 0, FALSE);
  json_auto_t *create = json_object ();
  g_autoptr (GByteArray) line = g_byte_array_new ();
  g_autoptr (GError) local_error = NULL;
  Watch w = { line, func, batch_done, user_data, FALSE, FALSE, start_revision, 0, NULL };

  json_object_set_new (create, "key", bytes_json (key));
  if (prefix)
    {
      g_autoptr (GBytes) end = prefix_end (key);
      json_object_set_new (create, "range_end", bytes_json (end));
    }
  if (start_revision > 0)
    json_object_set_new (create, "start_revision", int64_json (start_revision));
  json_auto_t *body = json_pack ("{s:o}", "create_request", json_incref (create));
  g_autofree char *text = cg_json_dump (body);

  gboolean ok = request (etcd, "/v3/watch", text, REQ_NEED_LEADER | REQ_STREAM, watch_write_cb,
                         &w, duration_ms, cancellable, NULL, &local_error);
  /* A last message without its newline (an error reply, for one). */
  if (w.error == NULL && !w.stopped && line->len > 0)
    watch_message (&w, line->data, line->len);
  if (out_next_revision)
    *out_next_revision = w.next_revision;
  if (out_compact_revision)
    *out_compact_revision = w.compact_revision;

  if (w.stopped)
    return TRUE;
  if (w.error)
    {
      g_propagate_error (error, w.error);
      return FALSE;
    }
  if (ok)
    {
      /* etcd closed the stream: the caller watches again. */
      return TRUE;
    }
  if (g_error_matches (local_error, CG_ETCD_ERROR, CG_ETCD_ERROR_UNAVAILABLE) && w.created)
    return TRUE; /* the watch ran for duration_ms */
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/* ---- cluster ---- */

/* A uint64 id as etcd's tools print it (hex); absent or malformed is "0". */
static json_t *
id_hex (json_t *obj, const char *key)
{
  guint64 id = 0;
  json_t *v = json_object_get (obj, key);
  if (json_is_string (v))
    g_ascii_string_to_unsigned (json_string_value (v), 10, 0, G_MAXUINT64, &id, NULL);
  else if (json_is_integer (v))
    id = (guint64) json_integer_value (v);
  g_autofree char *hex = g_strdup_printf ("%" G_GINT64_MODIFIER "x", id);
  return json_string (hex);
}

/* An array of strings from @obj's @key; anything else is left out. */
static json_t *
string_array (json_t *obj, const char *key)
{
  json_t *out = json_array ();
  json_t *v = json_object_get (obj, key);
  size_t i;
  json_t *item;
  json_array_foreach (v, i, item)
    if (json_is_string (item))
      json_array_append (out, item);
  return out;
}

gboolean
cg_etcd_member_list (CgEtcd *etcd, json_t **out_members, GError **error)
{
  g_return_val_if_fail (etcd != NULL && out_members != NULL, FALSE);
  json_auto_t *body = json_object ();
  json_auto_t *reply = NULL;
  if (!call (etcd, "/v3/cluster/member/list", body, REQ_NEED_LEADER, &reply, error))
    return FALSE;
  json_t *members = json_object_get (reply, "members");
  if (members != NULL && !json_is_array (members))
    return bad_reply (error, "members is not an array");
  json_t *out = json_array ();
  size_t i;
  json_t *m;
  json_array_foreach (members, i, m)
    {
      if (!json_is_object (m))
        {
          json_decref (out);
          return bad_reply (error, "a member is not an object");
        }
      const char *name = json_string_value (json_object_get (m, "name"));
      json_array_append_new (out, json_pack ("{s:o, s:s, s:o, s:o}", "id", id_hex (m, "ID"),
                                             "name", name ? name : "", "peerURLs",
                                             string_array (m, "peerURLs"), "clientURLs",
                                             string_array (m, "clientURLs")));
    }
  *out_members = out;
  return TRUE;
}

gboolean
cg_etcd_member_status (CgEtcd *etcd, const char *endpoint, json_t **out_status, GError **error)
{
  g_return_val_if_fail (etcd != NULL && endpoint != NULL && out_status != NULL, FALSE);
  guint idx = 0;
  while (idx < etcd->n_endpoints && strcmp (etcd->endpoints[idx], endpoint) != 0)
    idx++;
  if (idx == etcd->n_endpoints)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "not one of the client's etcd endpoints");
      return FALSE;
    }
  guint saved = etcd->current;
  json_auto_t *body = json_object ();
  json_auto_t *reply = NULL;
  etcd->current = idx;
  /* Not REQ_NEED_LEADER: a member without a leader still says so. */
  gboolean ok = call (etcd, "/v3/maintenance/status", body, REQ_ONE_ENDPOINT, &reply, error);
  etcd->current = saved;
  if (!ok)
    return FALSE;
  json_t *header = json_object_get (reply, "header");
  gint64 revision = 0, db_size = 0, term = 0, index = 0;
  if (!json_is_object (header) || !get_int64 (header, "revision", &revision, error)
      || !get_int64 (reply, "dbSize", &db_size, error)
      || !get_int64 (reply, "raftTerm", &term, error)
      || !get_int64 (reply, "raftIndex", &index, error))
    return header ? FALSE : bad_reply (error, "no header");
  const char *version = json_string_value (json_object_get (reply, "version"));
  *out_status = json_pack ("{s:s, s:o, s:o, s:s, s:I, s:I, s:I, s:I, s:o}", "endpoint", endpoint,
                           "id", id_hex (header, "member_id"), "leader", id_hex (reply, "leader"),
                           "version", version ? version : "", "dbSize", (json_int_t) db_size,
                           "raftTerm", (json_int_t) term, "raftIndex", (json_int_t) index,
                           "revision", (json_int_t) revision, "errors",
                           string_array (reply, "errors"));
  return TRUE;
}
