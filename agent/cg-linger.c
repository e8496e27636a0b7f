/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-linger.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* Long enough for a client to see the answer and stop sending (curl stops
 * an upload on an error answer), short enough that a client cannot hold the
 * agent's sockets. */
#define LINGER_MAX_SOCKETS 256
#define LINGER_USEC (2 * G_USEC_PER_SEC)
#define LINGER_MAX_BYTES (16 * 1024 * 1024)

typedef struct
{
  int fd;
  gint64 deadline;
  gsize drained;
} Held;

struct CgLinger
{
  GMutex lock;
  GArray *incoming; /* Held: handed over, not yet polled */
  gboolean stop;
  gint held;        /* atomic: sockets held, incoming and polled */
  int wake_fd;      /* eventfd: a socket came in, or stop */
  GThread *thread;
};

/* Reads and drops what is there; TRUE when the socket is done with (the
 * client closed, an error, or enough was drained). */
static gboolean
drain (Held *h)
{
  char buf[16384];
  for (;;)
    {
      ssize_t n = read (h->fd, buf, sizeof buf);
      if (n > 0)
        {
          h->drained += n;
          if (h->drained >= LINGER_MAX_BYTES)
            return TRUE;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    }
}

static gpointer
linger_thread (gpointer data)
{
  CgLinger *l = data;
  g_autoptr (GArray) polled = g_array_new (FALSE, FALSE, sizeof (Held));
  g_autoptr (GArray) pfds = g_array_new (FALSE, FALSE, sizeof (struct pollfd));

  for (;;)
    {
      g_mutex_lock (&l->lock);
      gboolean stop = l->stop;
      g_array_append_vals (polled, l->incoming->data, l->incoming->len);
      g_array_set_size (l->incoming, 0);
      g_mutex_unlock (&l->lock);
      if (stop)
        break;

      gint64 now = g_get_monotonic_time ();
      int timeout = -1;
      g_array_set_size (pfds, 0);
      struct pollfd wake = { .fd = l->wake_fd, .events = POLLIN };
      g_array_append_val (pfds, wake);
      for (guint i = 0; i < polled->len; i++)
        {
          const Held *h = &g_array_index (polled, Held, i);
          struct pollfd p = { .fd = h->fd, .events = POLLIN };
          g_array_append_val (pfds, p);
          int ms = h->deadline <= now ? 0 : (int) ((h->deadline - now + 999) / 1000);
          if (timeout < 0 || ms < timeout)
            timeout = ms;
        }
      if (poll ((struct pollfd *) pfds->data, pfds->len, timeout) < 0 && errno != EINTR)
        g_warning ("lingering close: poll: %s", g_strerror (errno));
      if (g_array_index (pfds, struct pollfd, 0).revents)
        {
          eventfd_t v;
          (void) eventfd_read (l->wake_fd, &v);
        }

      now = g_get_monotonic_time ();
      /* From the end, so that removing one moves an element already seen. */
      for (guint i = polled->len; i-- > 0;)
        {
          Held *h = &g_array_index (polled, Held, i);
          gboolean done = now >= h->deadline;
          if (!done && g_array_index (pfds, struct pollfd, i + 1).revents)
            done = drain (h);
          if (done)
            {
              close (h->fd);
              g_array_remove_index_fast (polled, i);
              g_atomic_int_add (&l->held, -1);
            }
        }
    }

  for (guint i = 0; i < polled->len; i++)
    close (g_array_index (polled, Held, i).fd);
  return NULL;
}

CgLinger *
cg_linger_new (void)
{
  CgLinger *l = g_new0 (CgLinger, 1);
  g_mutex_init (&l->lock);
  l->incoming = g_array_new (FALSE, FALSE, sizeof (Held));
  l->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (l->wake_fd < 0)
    g_error ("lingering close: eventfd: %s", g_strerror (errno));
  l->thread = g_thread_new ("cg-linger", linger_thread, l);
  return l;
}

void
cg_linger_free (CgLinger *l)
{
  if (!l)
    return;
  g_mutex_lock (&l->lock);
  l->stop = TRUE;
  g_mutex_unlock (&l->lock);
  (void) eventfd_write (l->wake_fd, 1);
  g_thread_join (l->thread);
  for (guint i = 0; i < l->incoming->len; i++)
    close (g_array_index (l->incoming, Held, i).fd);
  g_array_unref (l->incoming);
  close (l->wake_fd);
  g_mutex_clear (&l->lock);
  g_free (l);
}

void
cg_linger_take (CgLinger *l, int fd)
{
  if (g_atomic_int_add (&l->held, 1) >= LINGER_MAX_SOCKETS)
    {
      g_atomic_int_add (&l->held, -1);
      close (fd);
      return;
    }
  int flags = fcntl (fd, F_GETFL);
  if (flags >= 0)
    fcntl (fd, F_SETFL, flags | O_NONBLOCK);
  /* The answer is out: FIN after it, and the client can see it whole. */
  shutdown (fd, SHUT_WR);
  Held h = { .fd = fd, .deadline = g_get_monotonic_time () + LINGER_USEC };
  g_mutex_lock (&l->lock);
  g_array_append_val (l->incoming, h);
  g_mutex_unlock (&l->lock);
  (void) eventfd_write (l->wake_fd, 1);
}

guint
cg_linger_held (CgLinger *l)
{
  return g_atomic_int_get (&l->held);
}
