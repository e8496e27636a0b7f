/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* credgatectl client …, with argv[1] == "client"; returns the exit status. */
int cg_ctl_client_run (const char *socket_path, gboolean json, int argc, char **argv);

/* "90", "90s", "15m", "1h", "7d" → seconds; FALSE if it is none of these. */
gboolean cg_ctl_parse_duration (const char *text, gint64 *seconds);

G_END_DECLS
