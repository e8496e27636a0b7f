/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-audit.h"
#include "agent/cg-peer.h"
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

static void auth_clear (void);

void
cg_audit_close (void)
{
  g_mutex_lock (&audit_lock);
  if (audit_fd >= 0)
    close (audit_fd);
  audit_fd = -1;
  g_mutex_unlock (&audit_lock);
  auth_clear ();
}

/* Append @line (and a newline) to stderr and the audit file. */
static gboolean
write_line (json_t *line)
{
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

static char *
iso_now (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return g_date_time_format_iso8601 (now);
}

gboolean
cg_audit_log (const char *who, const char *client, const char *action, const char *target,
              const char *result)
{
  g_autofree char *ts = iso_now ();
  json_auto_t *line = json_pack ("{s:s, s:s, s:s, s:s, s:s?, s:s?}", "ts", ts, "audit", action,
                                 "who", who ? who : "-", "result", result, "target", target,
                                 "client", client);
  return write_line (line);
}

gboolean
cg_audit_before (const char *who, const char *client, const char *action, const char *target,
                 GError **error)
{
  if (cg_audit_log (who, client, action, target, "attempt"))
    return TRUE;
  g_warning ("audit log not writable: refusing %s %s", action, target ? target : "");
  g_set_error_literal (error, CG_ERROR, CG_ERROR_AUDIT_UNAVAILABLE,
                       "the audit log cannot be written; changes are refused");
  return FALSE;
}

/* Failed authentications.  Each one used to be a line of its own, synced
 * to disk: an unauthenticated client could fill the audit disk, and then
 * every change was refused.  Now they are counted per client group (an
 * IPv4 address, an IPv6 /64: cg-peer.h, as the throttle counts) and written as at most one line per group
 * per interval: the first failure of a quiet group at once (an alert comes
 * without delay), the ones after it as a count when the interval is over
 * (cg_audit_auth_flush), the rest at shutdown.  The table is bounded:
 * past AUTH_GROUPS_MAX groups, further ones share the group "*". */
#define AUTH_GROUPS_MAX 256
#define AUTH_GROUP_OTHERS "*"

typedef struct
{
  guint64 kinds[CG_AUTH_N_KINDS]; /* failures since the last line, by kind */
  guint64 total;
  gint64 since;      /* real time of the first of them */
  gint64 written;    /* monotonic time of the last line; 0: none yet */
} AuthGroup;

typedef struct
{
  char *group;
  AuthGroup counts;
} AuthLine;

static struct
{
  GMutex lock;
  GHashTable *groups; /* group → AuthGroup */
  gint64 interval;    /* µs */
} auth = { .interval = 60 * G_USEC_PER_SEC };

static void
auth_clear (void)
{
  g_mutex_lock (&auth.lock);
  g_clear_pointer (&auth.groups, g_hash_table_unref);
  g_mutex_unlock (&auth.lock);
}

void
cg_audit_auth_set_interval (guint seconds)
{
  g_mutex_lock (&auth.lock);
  auth.interval = (gint64) MAX (seconds, 1) * G_USEC_PER_SEC;
  g_mutex_unlock (&auth.lock);
}

/* With the lock held: the counts of @g move into a line. */
static AuthLine *
take_line (const char *group, AuthGroup *g, gint64 now)
{
  AuthLine *line = g_new (AuthLine, 1);
  line->group = g_strdup (group);
  line->counts = *g;
  memset (g->kinds, 0, sizeof g->kinds);
  g->total = 0;
  g->written = now;
  return line;
}

static void
write_auth_line (AuthLine *l)
{
  g_autofree char *ts = iso_now ();
  g_autoptr (GDateTime) since = g_date_time_new_from_unix_utc (l->counts.since / G_USEC_PER_SEC);
  g_autofree char *since_text = since ? g_date_time_format_iso8601 (since) : NULL;
  const guint64 *k = l->counts.kinds;
  json_auto_t *line = json_pack (
      "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s?}", "ts", ts, "audit", "auth", "who",
      "-", "result", "unauthorized", "client", l->group, "count", (json_int_t) l->counts.total,
      "noToken", (json_int_t) k[CG_AUTH_NO_TOKEN], "badToken", (json_int_t) k[CG_AUTH_BAD_TOKEN],
      "badClientCertificate", (json_int_t) k[CG_AUTH_BAD_CLIENT_CERT], "badEnrollmentCode",
      (json_int_t) k[CG_AUTH_BAD_ENROLLMENT_CODE], "since", since_text);
  if (!write_line (line))
    g_warning ("audit log not writable: %" G_GUINT64_FORMAT " failed logins from %s not in it",
               l->counts.total, l->group);
  g_free (l->group);
  g_free (l);
}

static gboolean
idle_group_cb (gpointer key, gpointer value, gpointer user_data)
{
  const AuthGroup *g = value;
  return g->total == 0
         && *(const gint64 *) user_data - g->written >= auth.interval;
}

void
cg_audit_auth_failure (const char *client, CgAuthFailure kind)
{
  char group_buf[CG_PEER_GROUP_LEN];
  cg_peer_group_from_string (client ? client : "unknown", group_buf);
  g_autofree char *group = g_strdup (group_buf);
  gint64 now = g_get_monotonic_time ();
  AuthLine *line = NULL;

  g_mutex_lock (&auth.lock);
  if (!auth.groups)
    auth.groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  AuthGroup *g = g_hash_table_lookup (auth.groups, group);
  if (!g && g_hash_table_size (auth.groups) >= AUTH_GROUPS_MAX)
    {
      g_hash_table_foreach_remove (auth.groups, idle_group_cb, &now);
      if (g_hash_table_size (auth.groups) >= AUTH_GROUPS_MAX)
        {
          g_free (group);
          group = g_strdup (AUTH_GROUP_OTHERS);
          g = g_hash_table_lookup (auth.groups, group);
        }
    }
  if (!g)
    {
      g = g_new0 (AuthGroup, 1);
      g_hash_table_insert (auth.groups, g_strdup (group), g);
    }
  g_return_if_fail (kind < CG_AUTH_N_KINDS);
  if (g->total == 0)
    g->since = g_get_real_time ();
  g->kinds[kind]++;
  g->total++;
  if (g->written == 0 || now - g->written >= auth.interval)
    line = take_line (group, g, now);
  g_mutex_unlock (&auth.lock);

  if (line)
    write_auth_line (line);
}

void
cg_audit_auth_flush (gboolean all)
{
  gint64 now = g_get_monotonic_time ();
  g_autoptr (GPtrArray) lines = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key, value;

  g_mutex_lock (&auth.lock);
  if (auth.groups)
    {
      g_hash_table_iter_init (&iter, auth.groups);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          AuthGroup *g = value;
          if (g->total > 0 && (all || now - g->written >= auth.interval))
            g_ptr_array_add (lines, take_line (key, g, now));
          else if (g->total == 0 && now - g->written >= auth.interval)
            g_hash_table_iter_remove (&iter);
        }
    }
  g_mutex_unlock (&auth.lock);

  for (guint i = 0; i < lines->len; i++)
    write_auth_line (lines->pdata[i]);
}
