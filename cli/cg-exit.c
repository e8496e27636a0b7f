/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cli/cg-exit.h"

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
      case CG_ERROR_AGENT_UNREACHABLE:
        return CG_EXIT_UNREACHABLE;
      default:
        return CG_EXIT_FAILED;
      }
  return CG_EXIT_FAILED;
}

int
cg_exit_fail (const GError *error)
{
  return cg_tool_fail (error, cg_exit_for_error (error));
}
