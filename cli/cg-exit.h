/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "cmdline/cg-tool.h"

G_BEGIN_DECLS

/* credgate-encrypt-value's exit statuses are cmdline/cg-tool.h's CgExit:
 * scripts branch on them, so they are documented in --help and README.md
 * and never change meaning. */

/* The exit status for @error. */
CgExit cg_exit_for_error (const GError *error);

/* Print "credgate-encrypt-value: MESSAGE" on one line of stderr and return
 * the exit status for @error. */
int cg_exit_fail (const GError *error);

G_END_DECLS
