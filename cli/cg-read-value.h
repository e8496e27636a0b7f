/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "common/cg-secure.h"

G_BEGIN_DECLS

/* The value to encrypt, never from the command line: from @path if
 * non-NULL ("-" is stdin), else from a no-echo prompt when stdin is a
 * terminal, else from stdin.  At most @max bytes (CG_ERROR_TOO_LARGE past
 * it); one trailing newline is dropped; an empty value is CG_ERROR_INVALID.
 * (transfer full, wiped on free) */
CgBuf *cg_read_value (const char *path, const char *prompt, gsize max, GError **error);

G_END_DECLS
