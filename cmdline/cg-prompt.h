/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "common/cg-secure.h"

G_BEGIN_DECLS

/* One line typed on the terminal (/dev/tty) with echo off, after @prompt
 * (written to the terminal, never to stdout).  At most @max bytes: a longer
 * line is CG_ERROR_TOO_LARGE, and the rest of it is read and dropped.  The
 * newline (or CR) ending the line is not part of it.  The terminal gets its
 * settings back however this ends: normally, or on SIGINT, SIGTERM, SIGHUP
 * or SIGQUIT, after which the signal does what it would have done.  With
 * no terminal to ask on: CG_ERROR_INVALID with @no_terminal as the
 * message.  (transfer full, wiped on free) */
CgBuf *cg_prompt_secret (const char *prompt, gsize max, const char *no_terminal, GError **error);

G_END_DECLS
