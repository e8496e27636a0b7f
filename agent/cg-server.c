/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-server.h"
#include "agent/cg-api.h"
#include "agent/cg-conn-limit.h"
#include "agent/cg-http.h"
#include "agent/cg-linger.h"
#include "agent/cg-tls.h"
#include "agent/cg-write-clock.h"
#include "agent/cg-write-queue.h"
#include "common/cg-error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct CgServer
{
  CgAgent *agent;
  GArray *fds;        /* bound listening sockets, until the daemons take them */
  GPtrArray *addrs;   /* the address of each */
  GPtrArray *daemons; /* struct MHD_Daemon * */
  GPtrArray *urls;
  CgLinger *linger;   /* closes the connections refused before their body */
  CgConnLimit *limit; /* max_connections, max_connections_per_ip: all listeners */
  CgWriteQueue *writes; /* a cluster's writes, answered off the daemons' threads */
};

/* What the agent keeps per connection (MHD's socket context), from
 * NOTIFY_CONNECTION STARTED to CLOSED. */
typedef struct
{
  CgConnSlot *slot;    /* its place in the limits, while it counts */
  gboolean last;       /* the request in hand is its last (Connection: close) */
  gboolean linger;     /* answered before its body was read: close gracefully */
} CgConnection;

/* The connection limits hold for the agent as a whole, not per listening
 * address (libmicrohttpd's own limits are per daemon), so they are kept
 * here, in one CgConnLimit for every listener:
 *
 * - A connection takes its place when it is accepted (accept_cb, before
 *   libmicrohttpd sets anything up for it); past a limit it is closed at
 *   once.
 * - It stops counting as soon as it is over for its client: when the last
 *   answer on it has been sent and the agent closes it (a request with
 *   "Connection: close", a refused request, an error, a timeout), at
 *   NOTIFY_COMPLETED; else when libmicrohttpd lets it go (NOTIFY_CONNECTION
 *   CLOSED).  libmicrohttpd cleans up closed connections only at the end
 *   of its worker's event-loop pass, and counted them until then: under
 *   many short connections a client that had 50 open against a limit of 64
 *   was refused, because the connections it had already been answered on
 *   and had seen closed still counted (measured: up to 26 of 64).
 * - A connection kept alive between requests counts: it holds a socket.
 * - TIME_WAIT is the kernel's, after the socket is closed: never counted.
 *   Nor is a refused connection's lingering close (cg-linger.h, bounded by
 *   its own limits).
 *
 * libmicrohttpd calls the accept policy and then NOTIFY_CONNECTION STARTED
 * for a connection in the same worker thread, one connection at a time, so
 * the place taken in the first is handed to the second through this
 * thread-local.  If libmicrohttpd drops the connection in between (out of
 * memory), the place is given back at that thread's next accept. */
static _Thread_local CgConnSlot *accepting;

static enum MHD_Result
accept_cb (void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
  CgServer *server = cls;
  if (accepting)
    cg_conn_limit_release (server->limit, g_steal_pointer (&accepting));
  accepting = cg_conn_limit_acquire (server->limit, addr);
  return accepting ? MHD_YES : MHD_NO;
}

/* Does this request end its connection?  Only what makes libmicrohttpd
 * 0.9.75 close for certain (keepalive_possible): a "close" token in the
 * request's Connection header, or HTTP/1.0 without "keep-alive".  When in
 * doubt the connection goes on counting until it is closed. */
static gboolean
request_is_last (struct MHD_Connection *connection, const char *version)
{
  const char *value
      = MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONNECTION);
  gboolean wants_close = FALSE, keep_alive = FALSE;
  if (value)
    {
      g_auto (GStrv) tokens = g_strsplit (value, ",", -1);
      for (char **t = tokens; *t; t++)
        {
          g_strstrip (*t);
          wants_close |= g_ascii_strcasecmp (*t, "close") == 0;
          keep_alive |= g_ascii_strcasecmp (*t, "keep-alive") == 0;
        }
    }
  return wants_close || (g_str_equal (version, MHD_HTTP_VERSION_1_0) && !keep_alive);
}

static CgConnection *
connection_of (struct MHD_Connection *connection)
{
  const union MHD_ConnectionInfo *info
      = MHD_get_connection_info (connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return info ? info->socket_context : NULL;
}

/* An answer queued on the first call: libmicrohttpd skips the body and
 * closes the connection after it, and the close lingers (cg-linger.h). */
static enum MHD_Result
refuse_early (struct MHD_Connection *connection, enum MHD_Result ret)
{
  CgConnection *conn = connection_of (connection);
  if (conn)
    conn->linger = TRUE;
  return ret;
}

/* A body declared this many times over the limit is refused at once and
 * the connection closed; a smaller excess is read, dropped and answered
 * 413 so that the client sees the answer rather than a reset. */
#define DROP_AT_ONCE_FACTOR 16

static enum MHD_Result
access_cb (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  CgServer *server = cls;
  CgRequest *req = *con_cls;

  if (!req)
    {
      req = cg_request_new (connection, method, url, server->agent->config->max_body);
      *con_cls = req;
      CgConnection *conn = connection_of (connection);
      if (conn)
        conn->last = request_is_last (connection, version);

      /* A caller that fails to authenticate is answered now, on its
       * headers, and its body is never read. */
      enum MHD_Result ret;
      if (!cg_api_begin (server->agent, req, &ret))
        return refuse_early (connection, ret);

      /* A declared length past the limit is refused before a byte of it is
       * read. */
      const char *cl = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_CONTENT_LENGTH);
      guint64 declared;
      if (cl && g_ascii_string_to_unsigned (cl, 10, 0, G_MAXUINT64, &declared, NULL)
          && declared > req->body_max)
        {
          if (declared / DROP_AT_ONCE_FACTOR > req->body_max)
            return refuse_early (connection, cg_http_reply_error (connection,
                                                                  MHD_HTTP_CONTENT_TOO_LARGE,
                                                                  "too_large",
                                                                  "the request body is too large",
                                                                  NULL));
          req->too_large = TRUE;
        }

      /* Answer on a later call: libmicrohttpd 0.9.75 answers
       * "Connection: close" to a response queued on the first call (headers
       * only), which cut keep-alive from ~57,000 to ~1,700 requests/s when
       * measured here. */
      return MHD_YES;
    }

  if (*upload_data_size > 0)
    {
      cg_request_append (req, upload_data, *upload_data_size);
      *upload_data_size = 0;
      return MHD_YES;
    }

  /* Answered by the write queue, its connection resumed: the answer. */
  if (req->handed_off)
    return cg_http_queue_kept (req);
  if (cg_write_queue_take (server->writes, req))
    return MHD_YES;

  /* A write's 5 s count from the request's arrival, not from when it
   * gets the vault's lock (cg-write-clock.h). */
  cg_write_clock_start (req->arrived);
  enum MHD_Result ret = cg_api_dispatch (server->agent, req);
  cg_write_clock_stop ();
  return ret;
}

static void
completed_cb (void *cls, struct MHD_Connection *connection, void **con_cls,
              enum MHD_RequestTerminationCode toe)
{
  CgServer *server = cls;
  cg_request_free (*con_cls);
  *con_cls = NULL;

  /* Its answer is sent; if the connection ends with it, it is over for the
   * client, who may already be opening the next one. */
  CgConnection *conn = connection_of (connection);
  if (conn && (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK || conn->last || conn->linger))
    cg_conn_limit_release (server->limit, g_steal_pointer (&conn->slot));
}

static void
connection_cb (void *cls, struct MHD_Connection *connection, void **socket_context,
               enum MHD_ConnectionNotificationCode toe)
{
  CgServer *server = cls;
  const union MHD_ConnectionInfo *info
      = MHD_get_connection_info (connection, MHD_CONNECTION_INFO_CONNECTION_FD);

  if (toe == MHD_CONNECTION_NOTIFY_STARTED)
    {
      CgConnection *conn = g_new0 (CgConnection, 1);
      conn->slot = g_steal_pointer (&accepting);
      *socket_context = conn;
      /* Without TCP_NODELAY a one-shot request waits ~40 ms on delayed ACK. */
      int one = 1;
      if (info)
        setsockopt (info->connect_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return;
    }

  /* Closed: libmicrohttpd closes the socket right after this.  One refused
   * before its body was read goes on (a dup) to linger instead. */
  CgConnection *conn = *socket_context;
  if (conn)
    cg_conn_limit_release (server->limit, g_steal_pointer (&conn->slot));
  if (conn && conn->linger && info)
    {
      int fd = fcntl (info->connect_fd, F_DUPFD_CLOEXEC, 0);
      if (fd >= 0)
        cg_linger_take (server->linger, fd);
    }
  g_free (conn);
  *socket_context = NULL;
}

static void
log_cb (void *cls, const char *fmt, va_list ap)
{
  /* MHD's own messages: handshake failures of clients and the like. */
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  g_strchomp (msg);
  g_debug ("libmicrohttpd: %s", msg);
}

/* Bind one listening socket; errors name the address. */
static int
bind_listen (const char *addr, guint port, GError **error)
{
  struct sockaddr_storage ss = { 0 };
  socklen_t sslen;
  int family;

  if (strchr (addr, ':'))
    {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
      s6->sin6_family = family = AF_INET6;
      s6->sin6_port = htons (port);
      inet_pton (AF_INET6, addr, &s6->sin6_addr);
      sslen = sizeof *s6;
    }
  else
    {
      struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
      s4->sin_family = family = AF_INET;
      s4->sin_port = htons (port);
      inet_pton (AF_INET, addr, &s4->sin_addr);
      sslen = sizeof *s4;
    }

  int fd = socket (family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      int e = errno;
      /* A host without IPv6: a code of its own, so that the caller can
       * fall back without reading the (maybe translated) message. */
      g_set_error (error, CG_ERROR, e == EAFNOSUPPORT ? CG_ERROR_UNSUPPORTED : CG_ERROR_IO,
                   "cannot listen on %s: %s", addr, g_strerror (e));
      return -1;
    }
  int one = 1, zero = 0;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  /* "::" alone serves IPv4 too; an explicit IPv6 address does not. */
  if (family == AF_INET6)
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, g_str_equal (addr, "::") ? &zero : &one,
                sizeof one);
  if (bind (fd, (struct sockaddr *) &ss, sslen) < 0 || listen (fd, 128) < 0)
    {
      int e = errno;
      close (fd);
      g_set_error (error, CG_ERROR, e == EAFNOSUPPORT ? CG_ERROR_UNSUPPORTED : CG_ERROR_IO,
                   "cannot listen on %s port %u: %s%s", addr, port,
                   g_strerror (e),
                   e == EADDRINUSE ? " (another program is using this port; choose one with "
                                     "--port)"
                                   : "");
      return -1;
    }
  return fd;
}

static gboolean
start_daemon (CgServer *server, int fd, const char *addr, GError **error)
{
  const CgConfig *cfg = server->agent->config;

  guint threads = cfg->threads ? cfg->threads : MAX (g_get_num_processors (), 1);
  struct MHD_OptionItem ops[] = {
    { MHD_OPTION_LISTEN_SOCKET, fd, NULL },
    { MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *) cg_tls_retrieve_cb },
    { MHD_OPTION_HTTPS_PRIORITIES, 0, cfg->priority },
    { MHD_OPTION_THREAD_POOL_SIZE, threads, NULL },
    /* The limits are the agent's (accept_cb).  libmicrohttpd's own splits
     * between its threads, and at it a thread stops accepting (a client
     * would wait unanswered): one place more than the agent's for each, so
     * that it never binds first.  (A thread accepts only after it has
     * cleaned up its closed connections, so it never holds more than the
     * agent counts.) */
    { MHD_OPTION_CONNECTION_LIMIT, (intptr_t) (cfg->max_connections + 1) * threads, NULL },
    { MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout, NULL },
    /* Headers and the MHD read buffer live in this pool; bodies are
     * accumulated by us against max_body. */
    { MHD_OPTION_CONNECTION_MEMORY_LIMIT, 32 * 1024, NULL },
    { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t) completed_cb, server },
    { MHD_OPTION_NOTIFY_CONNECTION, (intptr_t) connection_cb, server },
    { MHD_OPTION_EXTERNAL_LOGGER, (intptr_t) log_cb, NULL },
    { MHD_OPTION_END, 0, NULL },
  };
  struct MHD_Daemon *d = MHD_start_daemon (
      MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG
          | MHD_ALLOW_SUSPEND_RESUME,
      0, accept_cb, server, access_cb, server, MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
  if (!d)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED,
                   "cannot start the TLS server on %s port %u (see messages above)", addr,
                   cfg->port);
      return FALSE;
    }
  g_ptr_array_add (server->daemons, d);
  if (strchr (addr, ':'))
    g_ptr_array_add (server->urls, g_strdup_printf ("https://[%s]:%u/", addr, cfg->port));
  else
    g_ptr_array_add (server->urls, g_strdup_printf ("https://%s:%u/", addr, cfg->port));
  return TRUE;
}

static gboolean
add_listener (CgServer *server, const char *addr, GError **error)
{
  int fd = bind_listen (addr, server->agent->config->port, error);
  if (fd < 0)
    return FALSE;
  g_array_append_val (server->fds, fd);
  g_ptr_array_add (server->addrs, g_strdup (addr));
  return TRUE;
}

CgServer *
cg_server_bind (CgAgent *agent, GError **error)
{
  CgServer *server = g_new0 (CgServer, 1);
  server->agent = agent;
  server->fds = g_array_new (FALSE, FALSE, sizeof (int));
  server->addrs = g_ptr_array_new_with_free_func (g_free);
  server->daemons = g_ptr_array_new ();
  server->urls = g_ptr_array_new_with_free_func (g_free);
  server->linger = cg_linger_new ();
  server->limit = cg_conn_limit_new (agent->config->max_connections,
                                     agent->config->max_connections_per_ip);
  server->writes = cg_write_queue_new (agent);

  if (agent->config->listen)
    {
      for (char **a = agent->config->listen; *a; a++)
        if (!add_listener (server, *a, error))
          goto fail;
    }
  else
    {
      /* All addresses: dual-stack "::", or IPv4 alone on a host without
       * IPv6. */
      g_autoptr (GError) v6_error = NULL;
      if (!add_listener (server, "::", &v6_error))
        {
          if (!g_error_matches (v6_error, CG_ERROR, CG_ERROR_UNSUPPORTED))
            {
              g_propagate_error (error, g_steal_pointer (&v6_error));
              goto fail;
            }
          if (!add_listener (server, "0.0.0.0", error))
            goto fail;
        }
    }
  return server;

fail:
  cg_server_stop (server);
  return NULL;
}

gboolean
cg_server_start (CgServer *server, GError **error)
{
  for (guint i = 0; i < server->fds->len; i++)
    {
      if (!start_daemon (server, g_array_index (server->fds, int, i), server->addrs->pdata[i],
                         error))
        return FALSE;
      g_array_index (server->fds, int, i) = -1; /* the daemon owns it now */
    }
  return TRUE;
}

GStrv
cg_server_get_urls (CgServer *server)
{
  GStrvBuilder *b = g_strv_builder_new ();
  for (guint i = 0; i < server->urls->len; i++)
    g_strv_builder_add (b, server->urls->pdata[i]);
  GStrv v = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return v;
}

void
cg_server_stop (CgServer *server)
{
  if (!server)
    return;
  /* Every write in hand answered and its connection resumed first. */
  g_clear_pointer (&server->writes, cg_write_queue_free);
  for (guint i = 0; i < server->daemons->len; i++)
    {
      struct MHD_Daemon *d = server->daemons->pdata[i];
      MHD_socket fd = MHD_quiesce_daemon (d);
      MHD_stop_daemon (d);
      if (fd != MHD_INVALID_SOCKET)
        close (fd);
    }
  for (guint i = 0; i < server->fds->len; i++)
    if (g_array_index (server->fds, int, i) >= 0)
      close (g_array_index (server->fds, int, i));
  g_array_unref (server->fds);
  g_ptr_array_unref (server->addrs);
  g_ptr_array_unref (server->daemons);
  g_ptr_array_unref (server->urls);
  cg_linger_free (server->linger);
  cg_conn_limit_free (server->limit);
  g_free (server);
}
