/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cli/cg-read-value.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/cg-error.h"
#include "common/cg-file.h"

/* Restored by the signal handler too: a Ctrl-C at the prompt must not
 * leave the user's terminal without echo. */
static struct termios saved_termios;
static volatile sig_atomic_t echo_off;

static void
restore_and_die (int sig)
{
  if (echo_off)
    tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);
  signal (sig, SIG_DFL);
  raise (sig);
}

static CgBuf *
prompt_no_echo (const char *prompt, gsize max, GError **error)
{
  struct termios t;
  if (tcgetattr (STDIN_FILENO, &saved_termios) < 0)
    {
      int e = errno;
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot read the terminal: %s", g_strerror (e));
      return NULL;
    }
  struct sigaction sa = { .sa_handler = restore_and_die }, old_int, old_term;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, &old_int);
  sigaction (SIGTERM, &sa, &old_term);
  t = saved_termios;
  t.c_lflag &= ~(ECHO | ECHONL);
  t.c_lflag |= ICANON;
  echo_off = 1;
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &t);
  fputs (prompt, stderr);
  fflush (stderr);

  CgBuf *buf = cg_buf_new (max + 1);
  gsize len = 0;
  gboolean ok = TRUE;
  for (;;)
    {
      char c;
      ssize_t n = read (STDIN_FILENO, &c, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0 || c == '\n')
        break;
      if (len == max)
        {
          ok = FALSE;
          break;
        }
      buf->data[len++] = (guint8) c;
    }

  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);
  echo_off = 0;
  sigaction (SIGINT, &old_int, NULL);
  sigaction (SIGTERM, &old_term, NULL);
  fputs ("\n", stderr);
  if (!ok)
    {
      cg_buf_free (buf);
      g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE, "the value is larger than %" G_GSIZE_FORMAT
                   " bytes", max);
      return NULL;
    }
  buf->len = len;
  return buf;
}

CgBuf *
cg_read_value (const char *path, const char *prompt, gsize max, GError **error)
{
  CgBuf *buf;
  if (!path && isatty (STDIN_FILENO))
    buf = prompt_no_echo (prompt, max, error);
  else
    {
      char *text = NULL;
      gsize len = 0;
      /* One byte of slack for the newline we drop. */
      g_autoptr (GError) local = NULL;
      if (!cg_file_read_capped (path ? path : "-", max + 1, &text, &len, &local))
        {
          if (g_error_matches (local, CG_ERROR, CG_ERROR_TOO_LARGE))
            g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE,
                         "the value is larger than %" G_GSIZE_FORMAT " bytes", max);
          else
            g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      gsize read_len = len;
      if (len > 0 && text[len - 1] == '\n')
        len--;
      if (len > 0 && text[len - 1] == '\r')
        len--;
      if (len > max)
        {
          cg_wipe (text, read_len);
          g_free (text);
          g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE,
                       "the value is larger than %" G_GSIZE_FORMAT " bytes", max);
          return NULL;
        }
      buf = cg_buf_new_copy (text, len);
      cg_wipe (text, read_len);
      g_free (text);
    }
  if (buf && buf->len == 0)
    {
      cg_buf_free (buf);
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "the value is empty");
      return NULL;
    }
  return buf;
}
