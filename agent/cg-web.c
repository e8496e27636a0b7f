/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-web.h"

#include <gio/gio.h>
#include <string.h>

/* What the page may do: its own origin only, no inline script or style, no
 * framing, no <base>, no form posts anywhere. */
#define CSP                                                                                    \
  "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; "          \
  "object-src 'none'"

static const struct
{
  const char *suffix;
  const char *type;
  const char *cache;
} file_kinds[] = {
  /* The page itself is revalidated each time: a new agent brings new files. */
  { ".html", "text/html; charset=utf-8", "no-cache" },
  { ".js", "text/javascript; charset=utf-8", "no-cache" },
  { ".css", "text/css; charset=utf-8", "no-cache" },
  { ".json", "application/json", "no-cache" },
  { ".svg", "image/svg+xml", "max-age=86400" },
  { ".png", "image/png", "max-age=86400" },
};

typedef struct
{
  GBytes *data;
  char *etag;
  const char *type;
  const char *cache;
} WebFile;

static GMutex files_lock;
static GHashTable *files; /* resource path → WebFile, filled as files are asked for */

static void
web_file_free (WebFile *f)
{
  g_bytes_unref (f->data);
  g_free (f->etag);
  g_free (f);
}

gboolean
cg_web_is_page_path (const char *url)
{
  return !(g_str_equal (url, "/v1") || g_str_has_prefix (url, "/v1/"));
}

void
cg_web_add_headers (struct MHD_Response *resp)
{
  MHD_add_response_header (resp, "Content-Security-Policy", CSP);
  MHD_add_response_header (resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header (resp, "Referrer-Policy", "no-referrer");
  MHD_add_response_header (resp, "X-Frame-Options", "DENY");
  MHD_add_response_header (resp, "Cross-Origin-Opener-Policy", "same-origin");
  MHD_add_response_header (resp, "Cross-Origin-Resource-Policy", "same-origin");
}

/* The file for a request path, or NULL.  Only names made of a small
 * alphabet are looked up: no "..", no "//", no query or encoding games. */
static WebFile *
lookup (const char *url)
{
  const char *rel = g_str_equal (url, "/") ? "index.html" : url + 1;
  gsize len = strlen (rel);
  if (len == 0 || len > 128 || rel[0] == '.' || strstr (rel, "..") || strstr (rel, "//")
      || strspn (rel, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") != len)
    return NULL;
  const char *type = NULL, *cache = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (file_kinds); i++)
    if (g_str_has_suffix (rel, file_kinds[i].suffix))
      {
        type = file_kinds[i].type;
        cache = file_kinds[i].cache;
      }
  if (!type)
    return NULL;

  g_autofree char *path = g_strconcat (CG_WEB_RESOURCE_PREFIX "/", rel, NULL);
  g_mutex_lock (&files_lock);
  if (!files)
    files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) web_file_free);
  WebFile *f = g_hash_table_lookup (files, path);
  if (!f)
    {
      GBytes *data = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
      if (data)
        {
          g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, data);
          f = g_new0 (WebFile, 1);
          f->data = data;
          f->etag = g_strdup_printf ("\"%.32s\"", sum);
          f->type = type;
          f->cache = cache;
          g_hash_table_insert (files, g_steal_pointer (&path), f);
        }
    }
  g_mutex_unlock (&files_lock);
  return f; /* files are never removed, so the pointer stays valid */
}

/* If-None-Match: "*" or a comma-separated list of (possibly weak) tags. */
static gboolean
etag_matches (const char *header, const char *etag)
{
  if (!header)
    return FALSE;
  g_auto (GStrv) tags = g_strsplit (header, ",", -1);
  for (char **t = tags; *t; t++)
    {
      char *tag = g_strstrip (*t);
      if (g_str_has_prefix (tag, "W/"))
        tag += 2;
      if (g_str_equal (tag, "*") || g_str_equal (tag, etag))
        return TRUE;
    }
  return FALSE;
}

static enum MHD_Result
reply_plain (struct MHD_Connection *c, unsigned int status, const char *text)
{
  struct MHD_Response *resp
      = MHD_create_response_from_buffer (strlen (text), (void *) text, MHD_RESPMEM_PERSISTENT);
  cg_web_add_headers (resp);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header (resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  enum MHD_Result ret = MHD_queue_response (c, status, resp);
  MHD_destroy_response (resp);
  return ret;
}

enum MHD_Result
cg_web_dispatch (CgRequest *req)
{
  WebFile *f = lookup (req->url);
  if (!f)
    return reply_plain (req->connection, MHD_HTTP_NOT_FOUND, "not found\n");
  if (!g_str_equal (req->method, "GET") && !g_str_equal (req->method, "HEAD"))
    return reply_plain (req->connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");

  gboolean fresh = etag_matches (
      MHD_lookup_connection_value (req->connection, MHD_HEADER_KIND, "If-None-Match"), f->etag);
  gsize len = 0;
  const void *data = g_bytes_get_data (f->data, &len);
  struct MHD_Response *resp = fresh ? MHD_create_response_from_buffer (0, NULL,
                                                                       MHD_RESPMEM_PERSISTENT)
                                    : MHD_create_response_from_buffer (len, (void *) data,
                                                                       MHD_RESPMEM_PERSISTENT);
  cg_web_add_headers (resp);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->type);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CACHE_CONTROL, f->cache);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_ETAG, f->etag);
  enum MHD_Result ret
      = MHD_queue_response (req->connection, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, resp);
  MHD_destroy_response (resp);
  return ret;
}
