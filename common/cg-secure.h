/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A buffer that holds secret bytes: always NUL-terminated one past len (so a
 * secret string can be used as a C string), wiped before it is freed. */
typedef struct
{
  guint8 *data;
  gsize len;
} CgBuf;

CgBuf *cg_buf_new (gsize len);                            /* zero-filled */
CgBuf *cg_buf_new_copy (const void *data, gsize len);
void cg_buf_free (CgBuf *buf);                            /* wipes; NULL ok */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgBuf, cg_buf_free)

/* Wipe memory the compiler may not optimise away. */
void cg_wipe (void *p, gsize len);
/* Wipe and free a NUL-terminated string (NULL ok). */
void cg_wipe_str (char *s);
/* Constant-time comparison; TRUE when equal. */
gboolean cg_equal_ct (const void *a, const void *b, gsize len);

/* For every program that holds a secret (the agent, credgatectl,
 * credgate-encrypt-value, credgate-manager), first thing in main(): no core
 * dumps (RLIMIT_CORE 0, soft and hard) and not dumpable, so other
 * processes of the same user can neither ptrace it nor read its memory or
 * environment through /proc.  FALSE with @error if the kernel refused. */
gboolean cg_harden_process (GError **error);

G_END_DECLS
