/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* credgate-encrypt-value's exit status: scripts branch on these, so they
 * are documented in --help and README.md and never change meaning. */
typedef enum
{
  CG_EXIT_OK = 0,
  CG_EXIT_FAILED = 1,      /* anything else: I/O, the agent's own failure */
  CG_EXIT_USAGE = 2,       /* bad options */
  CG_EXIT_UNREACHABLE = 3, /* no connection, TLS failed, timeout */
  CG_EXIT_PIN = 4,         /* agent key not trusted: pin mismatch, changed, unknown */
  CG_EXIT_UNAUTHORIZED = 5, /* no token, token rejected, throttled */
  CG_EXIT_BAD_INPUT = 6,   /* the value, file, key or JWE is unusable */
  CG_EXIT_REFUSED = 7,     /* refused: already encrypted, cannot decrypt (--verify) */
} CgExit;

/* The exit status for @error. */
CgExit cg_exit_for_error (const GError *error);

/* Print "credgate-encrypt-value: MESSAGE" on one line of stderr and return
 * the exit status for @error. */
int cg_exit_fail (const GError *error);

/* Print a usage error and the hint to --help; returns CG_EXIT_USAGE. */
int cg_exit_usage (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

G_END_DECLS
