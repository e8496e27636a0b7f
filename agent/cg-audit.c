/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-audit.h"
#include "common/cg-error.h"
#include "common/cg-json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static GMutex audit_lock;
static int audit_fd = -1;

gboolean
cg_audit_open (const char *path, GError **error)
{
  int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot open audit log %s: %s", path,
                   g_strerror (e));
      return FALSE;
    }
  g_mutex_lock (&audit_lock);
  if (audit_fd >= 0)
    close (audit_fd);
  audit_fd = fd;
  g_mutex_unlock (&audit_lock);
  return TRUE;
}

void
cg_audit_close (void)
{
  g_mutex_lock (&audit_lock);
  if (audit_fd >= 0)
    close (audit_fd);
  audit_fd = -1;
  g_mutex_unlock (&audit_lock);
}

gboolean
cg_audit_log (const char *who, const char *client, const char *action, const char *target,
              const char *result)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *ts = g_date_time_format_iso8601 (now);
  json_auto_t *line = json_pack ("{s:s, s:s, s:s, s:s, s:s?, s:s?}", "ts", ts, "audit", action,
                                 "who", who ? who : "-", "result", result, "target", target,
                                 "client", client);
  g_autofree char *text = cg_json_dump (line);
  g_autofree char *out = g_strconcat (text, "\n", NULL);
  gboolean ok = TRUE;

  g_mutex_lock (&audit_lock);
  fputs (out, stderr);
  fflush (stderr);
  if (audit_fd >= 0)
    {
      /* A line is in the file whole or not at all: a short write (a full
       * disk) is cut back off, so the log stays one JSON object per line
       * for whoever parses it, and the caller refuses the change. */
      gsize len = strlen (out);
      struct stat st;
      gboolean sized = fstat (audit_fd, &st) == 0;
      ssize_t n = write (audit_fd, out, len);
      ok = n == (ssize_t) len && fdatasync (audit_fd) == 0;
      if (n > 0 && n < (ssize_t) len && sized && ftruncate (audit_fd, st.st_size) < 0)
        g_warning ("audit log: a partial line could not be cut off: %s", g_strerror (errno));
    }
  g_mutex_unlock (&audit_lock);
  return ok;
}
