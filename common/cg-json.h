/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

/* Make every jansson allocation wipe itself on free, so request bodies and
 * resolved records that held secrets leave nothing behind in the heap.  Call
 * once at program start, before any JSON is made. */
void cg_json_use_wiping_allocator (void);

/* Strict parse of a whole buffer: duplicate keys refused, one value only.
 * The error names line and column and the kind of mistake, never the input
 * itself (which may be a secret): "invalid JSON at line 3, column 7: a
 * syntax error".  Every JSON from a user, a file or the network is parsed
 * here. */
json_t *cg_json_load_strict (const char *buf, gsize len, GError **error);

/* The body of a request must be an object; it may hold only @allowed keys
 * (NULL-terminated).  On failure *bad_field names the offending key
 * (borrowed from @obj). */
gboolean cg_json_check_fields (json_t *obj, const char *const *allowed, const char **bad_field,
                               GError **error);

/* A string member or NULL (borrowed); wrong type sets error naming @key. */
gboolean cg_json_get_string (json_t *obj, const char *key, gboolean required, const char **out,
                             GError **error);

/* Compact, sorted-as-inserted serialisation (transfer full, g_free). */
char *cg_json_dump (json_t *value);

G_END_DECLS
