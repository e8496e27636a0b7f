/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The linked-service transformer: parse and analyse, list the secrets,
 * rewrite with an encrypted credential; and the connection-string splitter
 * on the raw input. */
#include "config.h"

#include "tests/fuzz/cg-fuzz.h"

#include "protocol/cg-linked-service.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;

  g_autoptr (CgLinkedService) ls
      = cg_linked_service_parse ((const char *) data, size, size % 2 == 0, &error);
  if (ls)
    {
      g_assert (cg_linked_service_get_name (ls) != NULL);
      /* Each secret has its own key in the sealed plaintext (a member may
       * be named "", so a key may be empty; two may not be the same). */
      g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
      for (const char *const *p = cg_linked_service_preview (ls); *p; p++)
        g_assert (g_hash_table_add (seen, (gpointer) *p));
      g_autoptr (CgBuf) secrets = cg_linked_service_get_secrets (ls);
      g_autofree char *out = cg_linked_service_rewrite (ls, "eyJhbGciOiJFQ0RILUVTIn0..x.y.z", NULL);
    }
  else
    g_assert (error != NULL);

  /* The splitter takes a C string: up to the first NUL. */
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *rest = cg_connection_string_strip (text, keys, values);
  g_assert (keys->len == values->len);
  return 0;
}
