/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cli/cg-exit.h"

#include "common/cg-error.h"
#include "protocol/cg-client.h"

/* The exit status for each error that has one of its own; any other is
 * CG_EXIT_FAILED. */
static const struct
{
  gboolean client; /* CG_CLIENT_ERROR, else CG_ERROR */
  gint code;
  CgExit status;
} exit_table[] = {
  { TRUE, CG_CLIENT_ERROR_UNREACHABLE, CG_EXIT_UNREACHABLE },
  { TRUE, CG_CLIENT_ERROR_TLS, CG_EXIT_UNREACHABLE },
  { TRUE, CG_CLIENT_ERROR_PIN_MISMATCH, CG_EXIT_PIN },
  { TRUE, CG_CLIENT_ERROR_BUSY, CG_EXIT_UNAUTHORIZED },
  { FALSE, CG_ERROR_UNAUTHORIZED, CG_EXIT_UNAUTHORIZED },
  { FALSE, CG_ERROR_FORBIDDEN, CG_EXIT_UNAUTHORIZED },
  { FALSE, CG_ERROR_INVALID, CG_EXIT_BAD_INPUT },
  { FALSE, CG_ERROR_TOO_LARGE, CG_EXIT_BAD_INPUT },
  { FALSE, CG_ERROR_UNSUPPORTED, CG_EXIT_BAD_INPUT },
  { FALSE, CG_ERROR_NOT_FOUND, CG_EXIT_BAD_INPUT },
  { FALSE, CG_ERROR_EXISTS, CG_EXIT_REFUSED },
  { FALSE, CG_ERROR_CONFLICT, CG_EXIT_REFUSED },
  { FALSE, CG_ERROR_DECRYPT, CG_EXIT_REFUSED },
  { FALSE, CG_ERROR_AGENT_UNREACHABLE, CG_EXIT_UNREACHABLE },
};

CgExit
cg_exit_for_error (const GError *error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (exit_table); i++)
    if (error->domain == (exit_table[i].client ? CG_CLIENT_ERROR : CG_ERROR)
        && error->code == exit_table[i].code)
      return exit_table[i].status;
  return CG_EXIT_FAILED;
}

int
cg_exit_fail (const GError *error)
{
  return cg_tool_fail (error, cg_exit_for_error (error));
}
