/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Lingering close, as Apache and nginx do it.  A request refused on its
 * headers (401, 429, 413) is answered before its body is read; closing its
 * socket with that body still unread makes the kernel send a reset, and the
 * reset can destroy the answer before the client reads it.  So such a
 * socket is handed here instead: its write side is shut (FIN after the
 * answer), whatever still arrives is read and thrown away, and it is closed
 * once the client closes, or after a short time or amount at the latest.
 * Bounded: past a number of sockets held, a new one is closed at once. */
typedef struct CgLinger CgLinger;

CgLinger *cg_linger_new (void);
/* Closes every socket still held. */
void cg_linger_free (CgLinger *linger);
/* Takes @fd (owned from here on; a dup of the connection's socket). */
void cg_linger_take (CgLinger *linger, int fd);
/* Sockets held right now (for tests and status). */
guint cg_linger_held (CgLinger *linger);

G_END_DECLS
