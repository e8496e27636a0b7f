/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Times as text, one format per purpose, each written once:
 *   data (JSON fields, state.db, audit lines): RFC 3339 in UTC to the
 *     second, "2026-12-02T03:53:18Z";
 *   messages for people: "2026-12-02 03:53:18 UTC".
 * A time outside years 1000 to 9999 is clamped to the nearest end.
 * (transfer full) */
char *cg_time_rfc3339 (gint64 unix_seconds);
char *cg_time_now_rfc3339 (void);
char *cg_time_human (gint64 unix_seconds);
/* The data format back (RFC 3339 with a zone; what GLib's ISO 8601
 * parser takes); FALSE for anything else. */
gboolean cg_time_parse_rfc3339 (const char *text, gint64 *unix_seconds);

G_END_DECLS
