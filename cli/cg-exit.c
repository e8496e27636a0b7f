/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cli/cg-exit.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/cg-error.h"
#include "protocol/cg-client.h"

CgExit
cg_exit_for_error (const GError *error)
{
  if (error->domain == CG_CLIENT_ERROR)
    switch (error->code)
      {
      case CG_CLIENT_ERROR_UNREACHABLE:
      case CG_CLIENT_ERROR_TLS:
        return CG_EXIT_UNREACHABLE;
      case CG_CLIENT_ERROR_PIN_MISMATCH:
        return CG_EXIT_PIN;
      case CG_CLIENT_ERROR_BUSY:
        return CG_EXIT_UNAUTHORIZED;
      default:
        return CG_EXIT_FAILED;
      }
  if (error->domain == CG_ERROR)
    switch (error->code)
      {
      case CG_ERROR_UNAUTHORIZED:
      case CG_ERROR_FORBIDDEN:
        return CG_EXIT_UNAUTHORIZED;
      case CG_ERROR_INVALID:
      case CG_ERROR_TOO_LARGE:
      case CG_ERROR_UNSUPPORTED:
      case CG_ERROR_NOT_FOUND:
        return CG_EXIT_BAD_INPUT;
      case CG_ERROR_EXISTS:
      case CG_ERROR_CONFLICT:
      case CG_ERROR_DECRYPT:
        return CG_EXIT_REFUSED;
      default:
        return CG_EXIT_FAILED;
      }
  return CG_EXIT_FAILED;
}

int
cg_exit_fail (const GError *error)
{
  /* One line: a message with a newline would break log parsers. */
  g_autofree char *line = g_strdup (error->message);
  g_strdelimit (line, "\r\n", ' ');
  fprintf (stderr, "credgate-encrypt-value: %s\n", line);
  return cg_exit_for_error (error);
}

int
cg_exit_usage (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "credgate-encrypt-value: %s (try --help)\n", msg);
  return CG_EXIT_USAGE;
}
