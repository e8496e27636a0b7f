/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "protocol/cg-names.h"

#include <string.h>

gboolean
cg_name_is_valid (const char *name)
{
  if (!name)
    return FALSE;
  gsize len = strlen (name);
  if (len == 0 || len > CG_NAME_MAX)
    return FALSE;
  /* "." and ".." are legal by the character class but would read as path
   * components in URLs and file names; refuse them. */
  if (g_str_equal (name, ".") || g_str_equal (name, ".."))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_isalnum (*p) || *p == '.' || *p == '_' || *p == '-'))
      return FALSE;
  return TRUE;
}
