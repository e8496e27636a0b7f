/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "ctl/cg-ctl-util.h"
#include "common/cg-error.h"
#include "common/cg-secure.h"

#include <stdio.h>
#include <string.h>

int
cg_ctl_fail (const GError *error)
{
  fprintf (stderr, "credgatectl: %s\n", error->message);
  if (error->domain == CG_ERROR && error->code == CG_ERROR_UNAVAILABLE
      && strstr (error->message, "cannot reach the agent"))
    return EXIT_UNREACHABLE;
  return EXIT_REFUSED;
}

const char *
cg_ctl_str_or (json_t *obj, const char *key, const char *fallback)
{
  const char *s = json_string_value (json_object_get (obj, key));
  return s ? s : fallback;
}

void
cg_ctl_print_json (json_t *value)
{
  char *text = json_dumps (value, JSON_INDENT (2) | JSON_ENCODE_ANY);
  puts (text);
  cg_wipe_str (text);
}
