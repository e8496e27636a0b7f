/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* credgatectl COMMAND [SUBCOMMAND] --help (or -h, or COMMAND help): if
 * @argv (as main() got it after the global options, argv[1] the command)
 * asks for help, prints the synopsis and options of that command or
 * subcommand on stdout and returns TRUE with *@status 0; an unknown
 * subcommand is a usage error (*@status 2, on stderr).  Returns FALSE when
 * no help was asked for, or for a command that answers --help itself
 * (cert).  Nothing reaches the agent. */
gboolean cg_ctl_help_handle (int argc, char **argv, int *status);

G_END_DECLS
