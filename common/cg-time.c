/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "common/cg-time.h"

/* 1000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: four-digit years (GLib's
 * %Y does not pad), within what GDateTime holds. */
#define CG_TIME_MIN G_GINT64_CONSTANT (-30610224000)
#define CG_TIME_MAX G_GINT64_CONSTANT (253402300799)

static char *
format_utc (gint64 t, const char *format)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (CLAMP (t, CG_TIME_MIN, CG_TIME_MAX));
  return g_date_time_format (dt, format);
}

char *
cg_time_rfc3339 (gint64 unix_seconds)
{
  return format_utc (unix_seconds, "%Y-%m-%dT%H:%M:%SZ");
}

char *
cg_time_now_rfc3339 (void)
{
  return cg_time_rfc3339 (g_get_real_time () / G_USEC_PER_SEC);
}

char *
cg_time_human (gint64 unix_seconds)
{
  return format_utc (unix_seconds, "%Y-%m-%d %H:%M:%S UTC");
}

gboolean
cg_time_parse_rfc3339 (const char *text, gint64 *unix_seconds)
{
  g_autoptr (GDateTime) dt = text ? g_date_time_new_from_iso8601 (text, NULL) : NULL;
  if (!dt)
    return FALSE;
  *unix_seconds = g_date_time_to_unix (dt);
  return TRUE;
}
