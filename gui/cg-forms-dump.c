/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Build tool: writes the credential forms of gui/cg-forms.c as JSON for the
 * browser page, so both clients share one definition of the types. */
#include "config.h"

#include <stdio.h>

#include "gui/cg-forms.h"

int
main (void)
{
  json_t *forms = cg_forms_to_json ();
  int r = json_dumpf (forms, stdout, JSON_INDENT (1) | JSON_PRESERVE_ORDER);
  json_decref (forms);
  return r == 0 && putchar ('\n') != EOF && fflush (stdout) == 0 ? 0 : 1;
}
