/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "common/cg-json.h"
#include "common/cg-error.h"
#include "common/cg-secure.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static void *
wiping_malloc (size_t size)
{
  return malloc (size);
}

static void
wiping_free (void *p)
{
  if (p)
    {
      /* jansson does not tell us the size; the allocator does. */
      cg_wipe (p, malloc_usable_size (p));
      free (p);
    }
}

void
cg_json_use_wiping_allocator (void)
{
  json_set_alloc_funcs (wiping_malloc, wiping_free);
}

/* What went wrong, in words of our own: jansson's text quotes up to 20
 * bytes of the input near the error ("invalid token near 'hunter2'"), and
 * the input may be a secret. */
static const char *
describe_load_error (const json_error_t *jerr)
{
  switch (json_error_code (jerr))
    {
    case json_error_premature_end_of_input:
      return "the document ends too early (truncated?)";
    case json_error_end_of_input_expected:
      return "more than one value";
    case json_error_invalid_utf8:
      return "not UTF-8";
    case json_error_null_character:
    case json_error_null_byte_in_key:
      return "a NUL byte";
    case json_error_duplicate_key:
      return "a duplicate key";
    case json_error_numeric_overflow:
      return "a number out of range";
    case json_error_stack_overflow:
      return "nested too deeply";
    case json_error_out_of_memory:
      return "out of memory";
    default:
      return "a syntax error";
    }
}

json_t *
cg_json_load_strict (const char *buf, gsize len, GError **error)
{
  json_error_t jerr;
  json_t *root = json_loadb (buf, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "invalid JSON at line %d, column %d: %s",
                   jerr.line, jerr.column, describe_load_error (&jerr));
      cg_wipe (&jerr, sizeof jerr);
      return NULL;
    }
  return root;
}

gboolean
cg_json_check_fields (json_t *obj, const char *const *allowed, const char **bad_field,
                      GError **error)
{
  const char *key;
  json_t *value;

  if (bad_field)
    *bad_field = NULL;
  if (!json_is_object (obj))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "the body must be a JSON object");
      return FALSE;
    }
  json_object_foreach (obj, key, value)
    {
      if (!g_strv_contains (allowed, key))
        {
          if (bad_field)
            *bad_field = key;
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "unknown field \"%s\"", key);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
cg_json_get_string (json_t *obj, const char *key, gboolean required, const char **out,
                    GError **error)
{
  json_t *v = json_object_get (obj, key);
  *out = NULL;
  if (!v)
    {
      if (required)
        g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "missing field \"%s\"", key);
      return !required;
    }
  if (!json_is_string (v))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "field \"%s\" must be a string", key);
      return FALSE;
    }
  *out = json_string_value (v);
  return TRUE;
}

char *
cg_json_dump (json_t *value)
{
  /* jansson allocates with malloc (ours wraps it) and GLib's g_free is
   * free, so the result can be released with g_free or cg_wipe_str. */
  return json_dumps (value, JSON_COMPACT | JSON_ENCODE_ANY);
}
