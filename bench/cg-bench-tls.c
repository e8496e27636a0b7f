/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A load client for bench/run, on GnuTLS like the agent.
 *
 *   cg-bench-tls new  HOST PORT PATH THREADS SECONDS MAX
 *       THREADS loops, each: a new TCP + TLS connection, one GET PATH with
 *       "Connection: close", the whole reply read, close.  No session
 *       resumption: every request pays a full handshake.  Stops after
 *       SECONDS or MAX requests in all, whichever comes first; prints
 *       "ok N failed F seconds S rate R".
 *
 *   cg-bench-tls hold HOST PORT PATH CONNECTIONS SECONDS
 *       opens CONNECTIONS keep-alive TLS connections, one GET PATH on each,
 *       prints "held N" and keeps them open and idle until stdin reaches
 *       end-of-file or SECONDS pass.
 *
 * The certificate is not checked: this measures, it does not trust. */

#define _GNU_SOURCE 1 /* strcasestr */

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage addr;
static socklen_t addr_len;
static const char *path;
static gnutls_certificate_credentials_t creds;
static double deadline;
static long max_requests;
static atomic_long started, ok, failed;

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
resolve (const char *host, const char *port)
{
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
  if (getaddrinfo (host, port, &hints, &res) != 0)
    return -1;
  memcpy (&addr, res->ai_addr, res->ai_addrlen);
  addr_len = res->ai_addrlen;
  freeaddrinfo (res);
  return 0;
}

/* A connected, handshaken session, or NULL. */
static gnutls_session_t
tls_open (int *fd_out)
{
  int fd = socket (addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return NULL;
  int one = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (fd, (struct sockaddr *) &addr, addr_len) < 0)
    {
      close (fd);
      return NULL;
    }
  gnutls_session_t s;
  gnutls_init (&s, GNUTLS_CLIENT | GNUTLS_NO_TICKETS);
  gnutls_set_default_priority (s);
  gnutls_credentials_set (s, GNUTLS_CRD_CERTIFICATE, creds);
  gnutls_server_name_set (s, GNUTLS_NAME_DNS, "localhost", strlen ("localhost"));
  gnutls_transport_set_int (s, fd);
  gnutls_handshake_set_timeout (s, 10000);
  int r;
  do
    r = gnutls_handshake (s);
  while (r < 0 && !gnutls_error_is_fatal (r));
  if (r < 0)
    {
      gnutls_deinit (s);
      close (fd);
      return NULL;
    }
  *fd_out = fd;
  return s;
}

static void
tls_close (gnutls_session_t s, int fd)
{
  gnutls_deinit (s);
  close (fd);
}

/* Send one GET and read the whole reply (by Content-Length).  0 on a 200. */
static int
request (gnutls_session_t s, int keep_alive)
{
  char req[512];
  int n = snprintf (req, sizeof req,
                    "GET %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n%s\r\n",
                    path, keep_alive ? "" : "Connection: close\r\n");
  if (gnutls_record_send (s, req, n) != n)
    return -1;

  char buf[16384];
  size_t have = 0;
  long body_len = -1;
  size_t head_len = 0;
  for (;;)
    {
      ssize_t r = gnutls_record_recv (s, buf + have, sizeof buf - 1 - have);
      if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
        continue;
      if (r <= 0)
        return -1; /* end-of-stream (with or without close_notify) before a whole reply */
      have += r;
      buf[have] = '\0';
      if (body_len < 0)
        {
          char *end = strstr (buf, "\r\n\r\n");
          if (!end)
            {
              if (have >= sizeof buf - 1)
                return -1;
              continue;
            }
          head_len = end + 4 - buf;
          char *cl = strcasestr (buf, "\r\nContent-Length:");
          if (!cl || cl > end)
            return -1;
          body_len = strtol (cl + 17, NULL, 10);
          if (strncmp (buf, "HTTP/1.1 200", 12) != 0)
            return -1;
        }
      if (have - head_len >= (size_t) body_len)
        return 0;
      if (have >= sizeof buf - 1)
        {
          /* A big body: keep counting, drop the bytes. */
          body_len -= have - head_len;
          have = head_len = 0;
        }
    }
}

static void *
new_worker (void *arg)
{
  (void) arg;
  while (now () < deadline && atomic_fetch_add (&started, 1) < max_requests)
    {
      int fd;
      gnutls_session_t s = tls_open (&fd);
      if (!s)
        {
          atomic_fetch_add (&failed, 1);
          continue;
        }
      if (request (s, 0) == 0)
        atomic_fetch_add (&ok, 1);
      else
        atomic_fetch_add (&failed, 1);
      tls_close (s, fd);
    }
  return NULL;
}

static int
run_new (int threads, double seconds, long max)
{
  pthread_t tid[256];
  if (threads < 1 || threads > 256)
    return 2;
  max_requests = max;
  double t0 = now ();
  deadline = t0 + seconds;
  for (int i = 0; i < threads; i++)
    pthread_create (&tid[i], NULL, new_worker, NULL);
  for (int i = 0; i < threads; i++)
    pthread_join (tid[i], NULL);
  double dt = now () - t0;
  printf ("ok %ld failed %ld seconds %.3f rate %.1f\n", (long) ok, (long) failed, dt, ok / dt);
  return ok > 0 ? 0 : 1;
}

static int
run_hold (int count, double seconds)
{
  gnutls_session_t *sessions = calloc (count, sizeof *sessions);
  int *fds = calloc (count, sizeof *fds);
  int held = 0;
  for (int i = 0; i < count; i++)
    {
      sessions[held] = tls_open (&fds[held]);
      if (!sessions[held])
        continue;
      if (request (sessions[held], 1) != 0)
        {
          tls_close (sessions[held], fds[held]);
          continue;
        }
      held++;
    }
  printf ("held %d\n", held);
  fflush (stdout);

  /* Idle until stdin ends or time is up. */
  double end = now () + seconds;
  while (now () < end)
    {
      struct pollfd p = { .fd = 0, .events = POLLIN };
      int r = poll (&p, 1, 200);
      if (r > 0)
        {
          char c[64];
          if (read (0, c, sizeof c) <= 0)
            break;
        }
    }
  for (int i = 0; i < held; i++)
    tls_close (sessions[i], fds[i]);
  free (sessions);
  free (fds);
  return held == count ? 0 : 1;
}

int
main (int argc, char **argv)
{
  if (argc < 7)
    {
      fprintf (stderr, "usage: %s new HOST PORT PATH THREADS SECONDS MAX\n"
                       "       %s hold HOST PORT PATH CONNECTIONS SECONDS\n",
               argv[0], argv[0]);
      return 2;
    }
  if (resolve (argv[2], argv[3]) < 0)
    {
      fprintf (stderr, "%s: cannot resolve %s\n", argv[0], argv[2]);
      return 2;
    }
  path = argv[4];
  gnutls_global_init ();
  gnutls_certificate_allocate_credentials (&creds);
  if (strcmp (argv[1], "new") == 0 && argc == 8)
    return run_new (atoi (argv[5]), atof (argv[6]), atol (argv[7]));
  if (strcmp (argv[1], "hold") == 0)
    return run_hold (atoi (argv[5]), atof (argv[6]));
  fprintf (stderr, "%s: unknown mode %s\n", argv[0], argv[1]);
  return 2;
}
