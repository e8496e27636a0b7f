/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

/* The credential editor's forms, one per data-store type, as plain data so
 * that validation and the PUT body can be tested without a display.  The
 * labels are N_() marked: translate them with _() when shown. */

typedef enum
{
  CG_FIELD_TEXT,       /* one line of text */
  CG_FIELD_PORT,       /* 1..65535, sent as a JSON integer */
  CG_FIELD_PASSWORD,   /* one line, never shown again once saved */
  CG_FIELD_KEY_VALUES, /* lines of "key=value", sent as an object */
} CgFieldKind;

typedef struct
{
  const char *name;  /* the JSON member in "properties" or "secret" */
  const char *label; /* N_(), with a mnemonic */
  const char *hint;  /* N_() placeholder, or NULL */
  gboolean required;
  gboolean secret; /* goes into "secret", never into "properties" */
  CgFieldKind kind;
} CgField;

typedef struct
{
  const char *id;    /* the API's "type": "sqlserver", "postgresql", ... */
  const char *label; /* N_() */
  const CgField *fields;
  guint n_fields;
} CgFormType;

/* Every type, in the order the editor offers them (static). */
const CgFormType *cg_forms_get_types (guint *n_types);
/* The type with API id @id, or NULL (static). */
const CgFormType *cg_forms_lookup (const char *id);
/* The field named @name in @type, or NULL (static). */
const CgField *cg_forms_lookup_field (const CgFormType *type, const char *name);

/* Every type as JSON, for the browser page: the one definition of the
 * forms, written out at build time (gui/cg-forms-dump) into the agent's
 * web resource.  Labels and hints are the untranslated msgids; the page
 * translates them from the same catalogs.
 * {"maxLength":N,"types":[{"id","label","fields":[{"name","label","hint"?,
 *  "required","secret","kind":"text"|"port"|"password"|"keyValues"}]}]}
 * (transfer full). */
json_t *cg_forms_to_json (void);

/* Check one value as the user types it.  NULL when it is fine; otherwise a
 * translated sentence saying what is wrong (transfer full). */
char *cg_forms_check_field (const CgField *field, const char *value);
/* Check a credential name: NULL or a translated sentence (transfer full). */
char *cg_forms_check_name (const char *name);

/* Validate every field of @type; @values maps field name to text (borrowed).
 * On failure @error says why and *bad_field (nullable) names the field
 * (static string; "name" for the credential's name). */
gboolean cg_forms_validate (const CgFormType *type, const char *name, GHashTable *values,
                            const char **bad_field, GError **error);

/* The body of PUT /v1/credentials/{name}: {"type","properties","secret"}.
 * Empty optional fields are left out; "secret" is an object of the secret
 * fields (transfer full; it holds the secrets: json_decref promptly). */
json_t *cg_forms_build_body (const CgFormType *type, GHashTable *values, GError **error);

/* "key=value" lines into an object of strings (transfer full), or NULL with
 * @error naming the line.  Blank lines are skipped. */
json_t *cg_forms_parse_key_values (const char *text, GError **error);
/* The reverse, for filling the editor from stored properties (transfer full). */
char *cg_forms_format_key_values (json_t *object);

/* The text to show for a stored property value (transfer full). */
char *cg_forms_property_to_text (json_t *value);

G_END_DECLS
