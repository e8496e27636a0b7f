/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* credgatectl backup|restore|escrow: @argv[1] is the command, the rest its
 * arguments, as main() got them after the global options.  Returns the
 * exit status (0, 1 refused, 2 usage, 3 agent unreachable). */
int cg_ctl_backup_run (const char *socket_path, gboolean json, int argc, char **argv);

G_END_DECLS
