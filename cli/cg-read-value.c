/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cli/cg-read-value.h"

#include <unistd.h>

#include "cmdline/cg-prompt.h"
#include "common/cg-error.h"
#include "common/cg-file.h"

static void
set_too_large (GError **error, gsize max)
{
  g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE,
               "the value is larger than %" G_GSIZE_FORMAT " bytes", max);
}

CgBuf *
cg_read_value (const char *path, const char *prompt, gsize max, GError **error)
{
  CgBuf *buf;
  if (!path && isatty (STDIN_FILENO))
    {
      g_autoptr (GError) local = NULL;
      buf = cg_prompt_secret (prompt, max, "no terminal to ask on: give the value on stdin or "
                                           "with --input FILE", &local);
      if (g_error_matches (local, CG_ERROR, CG_ERROR_TOO_LARGE))
        set_too_large (error, max);
      else if (local)
        g_propagate_error (error, g_steal_pointer (&local));
    }
  else
    {
      char *text = NULL;
      gsize len = 0;
      /* One byte of slack for the newline we drop. */
      g_autoptr (GError) local = NULL;
      if (!cg_file_read_capped (path ? path : "-", max + 1, &text, &len, &local))
        {
          if (g_error_matches (local, CG_ERROR, CG_ERROR_TOO_LARGE))
            set_too_large (error, max);
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
          set_too_large (error, max);
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
