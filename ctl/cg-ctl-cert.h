/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* credgatectl cert …, with argv[1] == "cert"; returns the exit status. */
int cg_ctl_cert_run (const char *socket_path, gboolean json, int argc, char **argv);

G_END_DECLS
