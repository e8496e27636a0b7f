/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The no-echo prompt, once for both command-line tools. */
#include "config.h"

#include "cmdline/cg-prompt.h"
#include "common/cg-error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* What the signal handler needs to give the terminal its echo back: a
 * Ctrl-C (or a kill) at the prompt must not leave the user's shell blind. */
static volatile sig_atomic_t quiet_fd = -1;
static struct termios saved_termios;

static const int restore_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void
restore_and_reraise (int sig)
{
  int fd = quiet_fd;
  if (fd >= 0)
    {
      tcsetattr (fd, TCSAFLUSH, &saved_termios);
      (void)!write (fd, "\n", 1);
    }
  /* Blocked while this handler runs: delivered, with its default action,
   * as soon as it returns. */
  signal (sig, SIG_DFL);
  raise (sig);
}

/* Read one line from @fd into @buf (@max bytes at most).  Returns the
 * length, or -1 when the line was longer (the rest is read and dropped). */
static gssize
read_line (int fd, guint8 *buf, gsize max)
{
  gsize len = 0;
  gboolean over = FALSE;
  for (;;)
    {
      char c;
      ssize_t n = read (fd, &c, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0 || c == '\n' || c == '\r')
        break;
      if (len == max)
        over = TRUE;
      else
        buf[len++] = (guint8)c;
    }
  return over ? -1 : (gssize)len;
}

CgBuf *
cg_prompt_secret (const char *prompt, gsize max, const char *no_terminal, GError **error)
{
  int fd = open ("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  struct termios quiet;
  if (fd < 0 || tcgetattr (fd, &saved_termios) < 0)
    {
      if (fd >= 0)
        close (fd);
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, no_terminal);
      return NULL;
    }

  struct sigaction sa = { .sa_handler = restore_and_reraise }, old[G_N_ELEMENTS (restore_signals)];
  sigemptyset (&sa.sa_mask);
  for (gsize i = 0; i < G_N_ELEMENTS (restore_signals); i++)
    sigaddset (&sa.sa_mask, restore_signals[i]);
  for (gsize i = 0; i < G_N_ELEMENTS (restore_signals); i++)
    sigaction (restore_signals[i], &sa, &old[i]);

  /* Echo off before the prompt, so nothing typed after it can show. */
  quiet = saved_termios;
  quiet.c_lflag &= ~(ECHO | ECHONL);
  quiet.c_lflag |= ICANON;
  quiet_fd = fd;
  gboolean ok = tcsetattr (fd, TCSAFLUSH, &quiet) == 0
                && write (fd, prompt, strlen (prompt)) == (ssize_t)strlen (prompt);
  CgBuf *buf = cg_buf_new (max);
  gssize len = ok ? read_line (fd, buf->data, max) : 0;

  tcsetattr (fd, TCSAFLUSH, &saved_termios);
  quiet_fd = -1;
  for (gsize i = 0; i < G_N_ELEMENTS (restore_signals); i++)
    sigaction (restore_signals[i], &old[i], NULL);
  (void)!write (fd, "\n", 1);
  close (fd);

  if (!ok)
    g_set_error_literal (error, CG_ERROR, CG_ERROR_IO, "cannot turn off echo on the terminal");
  else if (len < 0)
    g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE,
                 "what was typed is longer than %" G_GSIZE_FORMAT " bytes", max);
  if (!ok || len < 0)
    {
      cg_buf_free (buf);
      return NULL;
    }
  buf->data[len] = 0;
  buf->len = len;
  return buf;
}
