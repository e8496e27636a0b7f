/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Write @data to @path atomically with mode @mode (0600 for anything secret):
 * a new file opened O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC beside the target,
 * written, fsync'd, renamed over @path, and the directory fsync'd.  On any
 * failure the old file is untouched and the temporary is removed. */
gboolean cg_file_write_atomic (const char *path, const void *data, gsize len, mode_t mode,
                               GError **error);

/* Read at most @max bytes of @path (or "-" for stdin); more is an error
 * (CG_ERROR_TOO_LARGE) that names the file.  The result is NUL-terminated. */
gboolean cg_file_read_capped (const char *path, gsize max, char **contents, gsize *len,
                              GError **error);

/* The same for an open descriptor; @what names it in errors. */
gboolean cg_fd_read_capped (int fd, const char *what, gsize max, char **contents, gsize *len,
                            GError **error);

/* mkdir -p with @mode for every directory it creates. */
gboolean cg_mkdir_private (const char *path, mode_t mode, GError **error);

G_END_DECLS
