/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The request body parser: cg_json_load_strict, then the field allowlist
 * and string getters that every handler runs. */
#include "config.h"

#include "tests/fuzz/cg-fuzz.h"

#include "common/cg-json.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const allowed[] = { "type", "properties", "secret", "value", "context", NULL };
  g_autoptr (GError) error = NULL;
  const char *bad = NULL, *s = NULL;

  json_t *root = cg_json_load_strict ((const char *) data, size, &error);
  if (!root)
    {
      g_assert (error != NULL);
      return 0;
    }
  g_clear_error (&error);
  if (cg_json_check_fields (root, allowed, &bad, &error))
    {
      g_clear_error (&error);
      cg_json_get_string (root, "type", TRUE, &s, &error);
      g_clear_error (&error);
      cg_json_get_string (root, "context", FALSE, &s, &error);
    }
  g_free (cg_json_dump (root));
  json_decref (root);
  return 0;
}
