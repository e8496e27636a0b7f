/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-http.h"
#include "common/cg-error.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

CgRequest *
cg_request_new (struct MHD_Connection *connection, const char *method, const char *url,
                gsize body_max)
{
  CgRequest *req = g_new0 (CgRequest, 1);
  req->connection = connection;
  req->method = g_strdup (method);
  req->url = g_strdup (url);
  req->client = cg_http_client_address (connection);
  req->route = -1;
  req->body_max = body_max;
  req->arrived = g_get_monotonic_time ();
  return req;
}

void
cg_request_free (CgRequest *req)
{
  if (!req)
    return;
  if (req->body)
    {
      cg_wipe (req->body, req->body_max);
      g_free (req->body);
    }
  g_free (req->method);
  g_free (req->url);
  g_free (req->client);
  g_free (req->who);
  g_clear_pointer (&req->answer, MHD_destroy_response);
  g_free (req);
}

void
cg_request_append (CgRequest *req, const char *data, gsize len)
{
  if (req->too_large)
    return;
  if (len > req->body_max - req->body_len)
    {
      req->too_large = TRUE;
      return;
    }
  /* One allocation of the full limit: growing by realloc would leave
   * copies of a secret behind in freed memory. */
  if (!req->body)
    req->body = g_malloc0 (req->body_max + 1);
  memcpy (req->body + req->body_len, data, len);
  req->body_len += len;
}

static _Thread_local CgRequest *keeping;

void
cg_http_keep_answers (CgRequest *req)
{
  keeping = req;
}

enum MHD_Result
cg_http_queue_kept (CgRequest *req)
{
  if (!req->answer)
    return MHD_NO;
  enum MHD_Result ret = MHD_queue_response (req->connection, req->answer_status, req->answer);
  g_clear_pointer (&req->answer, MHD_destroy_response);
  return ret;
}

static enum MHD_Result
reply_text (struct MHD_Connection *c, unsigned int status, char *text, gsize len,
            enum MHD_ResponseMemoryMode mode)
{
  struct MHD_Response *resp = MHD_create_response_from_buffer (len, text, mode);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  MHD_add_response_header (resp, "X-Content-Type-Options", "nosniff");
  if (status == MHD_HTTP_UNAUTHORIZED)
    MHD_add_response_header (resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"credgate\"");
  if (status == MHD_HTTP_TOO_MANY_REQUESTS)
    MHD_add_response_header (resp, MHD_HTTP_HEADER_RETRY_AFTER, "60");
  if (keeping)
    {
      g_warn_if_fail (keeping->connection == c && !keeping->answer);
      g_clear_pointer (&keeping->answer, MHD_destroy_response);
      keeping->answer = resp;
      keeping->answer_status = status;
      return MHD_YES;
    }
  enum MHD_Result ret = MHD_queue_response (c, status, resp);
  MHD_destroy_response (resp);
  return ret;
}

enum MHD_Result
cg_http_reply_json (struct MHD_Connection *c, unsigned int status, json_t *body)
{
  char *text = cg_json_dump (body);
  /* MHD frees the buffer with free(); g_free is free. */
  return reply_text (c, status, text, strlen (text), MHD_RESPMEM_MUST_FREE);
}

enum MHD_Result
cg_http_reply_json_text (struct MHD_Connection *c, unsigned int status, const char *text,
                         gsize len)
{
  return reply_text (c, status, (char *) text, len, MHD_RESPMEM_MUST_COPY);
}

enum MHD_Result
cg_http_reply_error (struct MHD_Connection *c, unsigned int status, const char *code,
                     const char *message, const char *field)
{
  json_auto_t *err = json_pack ("{s:s, s:s}", "code", code, "message", message);
  if (field)
    json_object_set_new (err, "field", json_string (field));
  json_auto_t *body = json_pack ("{s:O}", "error", err);
  return cg_http_reply_json (c, status, body);
}

enum MHD_Result
cg_http_reply_gerror (struct MHD_Connection *c, const GError *error, const char *field)
{
  if (error->domain != CG_ERROR)
    return cg_http_reply_error (c, 500, "internal_error", "internal error", NULL);
  return cg_http_reply_error (c, cg_error_http_status (error->code),
                              cg_error_code_name (error->code), error->message, field);
}

char *
cg_http_client_address (struct MHD_Connection *c)
{
  const union MHD_ConnectionInfo *info
      = MHD_get_connection_info (c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char buf[INET6_ADDRSTRLEN] = "unknown";
  if (info && info->client_addr)
    {
      const struct sockaddr *sa = info->client_addr;
      if (sa->sa_family == AF_INET)
        inet_ntop (AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, buf, sizeof buf);
      else if (sa->sa_family == AF_INET6)
        {
          const struct in6_addr *a6 = &((const struct sockaddr_in6 *) sa)->sin6_addr;
          /* A v4 client on a dual-stack socket is the same client as on a
           * v4 socket: throttle and audit it by its v4 address. */
          if (IN6_IS_ADDR_V4MAPPED (a6))
            inet_ntop (AF_INET, &a6->s6_addr[12], buf, sizeof buf);
          else
            inet_ntop (AF_INET6, a6, buf, sizeof buf);
        }
    }
  return g_strdup (buf);
}
