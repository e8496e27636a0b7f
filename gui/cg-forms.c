/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gui/cg-forms.h"

#include <glib/gi18n.h>
#include <stdlib.h>
#include <string.h>

#include "common/cg-error.h"
#include "protocol/cg-names.h"

/* Every data-store type asks for its own fields.  The property names follow
 * the linked-service JSON that gateways already know (server, database,
 * user), so what the agent holds reads the same as the linked service. */

static const CgField sqlserver_fields[] = {
  { "server", N_ ("Se_rver"), N_ ("db1.example.com\\instance"), TRUE, FALSE, CG_FIELD_TEXT },
  { "port", N_ ("_Port"), N_ ("1433"), FALSE, FALSE, CG_FIELD_PORT },
  { "database", N_ ("_Database"), NULL, FALSE, FALSE, CG_FIELD_TEXT },
  { "user", N_ ("_User name"), NULL, TRUE, FALSE, CG_FIELD_TEXT },
  { "password", N_ ("Pass_word"), NULL, TRUE, TRUE, CG_FIELD_PASSWORD },
};

static const CgField postgresql_fields[] = {
  { "host", N_ ("_Host"), N_ ("db1.example.com"), TRUE, FALSE, CG_FIELD_TEXT },
  { "port", N_ ("_Port"), N_ ("5432"), FALSE, FALSE, CG_FIELD_PORT },
  { "database", N_ ("_Database"), NULL, TRUE, FALSE, CG_FIELD_TEXT },
  { "user", N_ ("_User name"), NULL, TRUE, FALSE, CG_FIELD_TEXT },
  { "sslMode", N_ ("SS_L mode"), N_ ("require"), FALSE, FALSE, CG_FIELD_TEXT },
  { "password", N_ ("Pass_word"), NULL, TRUE, TRUE, CG_FIELD_PASSWORD },
};

static const CgField mysql_fields[] = {
  { "server", N_ ("Se_rver"), N_ ("db1.example.com"), TRUE, FALSE, CG_FIELD_TEXT },
  { "port", N_ ("_Port"), N_ ("3306"), FALSE, FALSE, CG_FIELD_PORT },
  { "database", N_ ("_Database"), NULL, TRUE, FALSE, CG_FIELD_TEXT },
  { "user", N_ ("_User name"), NULL, TRUE, FALSE, CG_FIELD_TEXT },
  { "password", N_ ("Pass_word"), NULL, TRUE, TRUE, CG_FIELD_PASSWORD },
};

static const CgField oracle_fields[] = {
  { "host", N_ ("_Host"), N_ ("db1.example.com"), TRUE, FALSE, CG_FIELD_TEXT },
  { "port", N_ ("_Port"), N_ ("1521"), FALSE, FALSE, CG_FIELD_PORT },
  { "serviceName", N_ ("Ser_vice name"), N_ ("ORCLPDB1"), TRUE, FALSE, CG_FIELD_TEXT },
  { "user", N_ ("_User name"), NULL, TRUE, FALSE, CG_FIELD_TEXT },
  { "password", N_ ("Pass_word"), NULL, TRUE, TRUE, CG_FIELD_PASSWORD },
};

static const CgField smb_fields[] = {
  { "path", N_ ("Sh_are path"), N_ ("\\\\server\\share\\folder"), TRUE, FALSE, CG_FIELD_TEXT },
  { "domain", N_ ("_Domain"), NULL, FALSE, FALSE, CG_FIELD_TEXT },
  { "user", N_ ("_User name"), NULL, TRUE, FALSE, CG_FIELD_TEXT },
  { "password", N_ ("Pass_word"), NULL, TRUE, TRUE, CG_FIELD_PASSWORD },
};

static const CgField sftp_fields[] = {
  { "host", N_ ("_Host"), N_ ("files.example.com"), TRUE, FALSE, CG_FIELD_TEXT },
  { "port", N_ ("_Port"), N_ ("22"), FALSE, FALSE, CG_FIELD_PORT },
  { "user", N_ ("_User name"), NULL, TRUE, FALSE, CG_FIELD_TEXT },
  { "hostKeyFingerprint", N_ ("Host _key fingerprint"), N_ ("SHA256:…"), FALSE, FALSE,
    CG_FIELD_TEXT },
  { "password", N_ ("Pass_word"), NULL, TRUE, TRUE, CG_FIELD_PASSWORD },
};

static const CgField generic_fields[] = {
  { "properties", N_ ("_Properties (one key=value per line)"), NULL, FALSE, FALSE,
    CG_FIELD_KEY_VALUES },
  { "value", N_ ("Secret _value"), NULL, TRUE, TRUE, CG_FIELD_PASSWORD },
};

#define TYPE(id, label, fields)                                                                    \
  {                                                                                                \
    id, label, fields, G_N_ELEMENTS (fields)                                                       \
  }
static const CgFormType form_types[] = {
  TYPE ("sqlserver", N_ ("SQL Server"), sqlserver_fields),
  TYPE ("postgresql", N_ ("PostgreSQL"), postgresql_fields),
  TYPE ("mysql", N_ ("MySQL"), mysql_fields),
  TYPE ("oracle", N_ ("Oracle"), oracle_fields),
  TYPE ("smb", N_ ("File share (SMB)"), smb_fields),
  TYPE ("sftp", N_ ("SFTP"), sftp_fields),
  TYPE ("generic", N_ ("Generic key/value"), generic_fields),
};
#undef TYPE

/* Property values the agent will take; a bound well below its body limit. */
#define FIELD_MAX 4096

const CgFormType *
cg_forms_get_types (guint *n_types)
{
  if (n_types)
    *n_types = G_N_ELEMENTS (form_types);
  return form_types;
}

const CgFormType *
cg_forms_lookup (const char *id)
{
  for (gsize i = 0; id && i < G_N_ELEMENTS (form_types); i++)
    if (g_str_equal (form_types[i].id, id))
      return &form_types[i];
  return NULL;
}

const CgField *
cg_forms_lookup_field (const CgFormType *type, const char *name)
{
  g_return_val_if_fail (type != NULL, NULL);
  for (guint i = 0; name && i < type->n_fields; i++)
    if (g_str_equal (type->fields[i].name, name))
      return &type->fields[i];
  return NULL;
}

json_t *
cg_forms_to_json (void)
{
  static const char *const kinds[] = {
    [CG_FIELD_TEXT] = "text",
    [CG_FIELD_PORT] = "port",
    [CG_FIELD_PASSWORD] = "password",
    [CG_FIELD_KEY_VALUES] = "keyValues",
  };
  json_t *types = json_array ();
  for (gsize i = 0; i < G_N_ELEMENTS (form_types); i++)
    {
      const CgFormType *t = &form_types[i];
      json_t *fields = json_array ();
      for (guint j = 0; j < t->n_fields; j++)
        {
          const CgField *f = &t->fields[j];
          json_t *field = json_pack ("{s:s, s:s, s:b, s:b, s:s}", "name", f->name, "label",
                                     f->label, "required", f->required, "secret", f->secret,
                                     "kind", kinds[f->kind]);
          if (f->hint)
            json_object_set_new (field, "hint", json_string (f->hint));
          json_array_append_new (fields, field);
        }
      json_array_append_new (types, json_pack ("{s:s, s:s, s:o}", "id", t->id, "label", t->label,
                                               "fields", fields));
    }
  return json_pack ("{s:i, s:o}", "maxLength", FIELD_MAX, "types", types);
}

/* The label without its mnemonic underscore, for sentences. */
static char *
plain_label (const CgField *field)
{
  GString *s = g_string_new (NULL);
  for (const char *p = _ (field->label); *p; p++)
    if (*p != '_')
      g_string_append_c (s, *p);
  return g_string_free (s, FALSE);
}

static gboolean
is_blank (const char *value)
{
  if (!value)
    return TRUE;
  for (const char *p = value; *p; p++)
    if (!g_ascii_isspace (*p))
      return FALSE;
  return TRUE;
}

static gboolean
parse_port (const char *text, gint64 *port)
{
  guint64 v;
  if (!g_ascii_string_to_unsigned (text, 10, 1, 65535, &v, NULL))
    return FALSE;
  *port = (gint64)v;
  return TRUE;
}

json_t *
cg_forms_parse_key_values (const char *text, GError **error)
{
  json_auto_t *obj = json_object ();
  g_auto (GStrv) lines = g_strsplit (text ? text : "", "\n", -1);

  for (guint i = 0; lines[i]; i++)
    {
      g_autofree char *line = g_strstrip (g_strdup (lines[i]));
      if (!*line)
        continue;
      char *eq = strchr (line, '=');
      if (!eq || eq == line)
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                       _ ("Line %u is not of the form key=value."), i + 1);
          return NULL;
        }
      *eq = '\0';
      g_strchomp (line);
      if (json_object_get (obj, line))
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID, _ ("Line %u repeats the key “%s”."),
                       i + 1, line);
          return NULL;
        }
      json_object_set_new (obj, line, json_string (g_strchug (eq + 1)));
    }
  return g_steal_pointer (&obj);
}

char *
cg_forms_property_to_text (json_t *value)
{
  if (json_is_string (value))
    return g_strdup (json_string_value (value));
  if (json_is_integer (value))
    return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64)json_integer_value (value));
  if (json_is_true (value))
    return g_strdup ("true");
  if (json_is_false (value))
    return g_strdup ("false");
  if (!value || json_is_null (value))
    return g_strdup ("");
  return json_dumps (value, JSON_COMPACT);
}

char *
cg_forms_format_key_values (json_t *object)
{
  GString *s = g_string_new (NULL);
  const char *key;
  json_t *value;

  json_object_foreach (object, key, value)
  {
    g_autofree char *text = cg_forms_property_to_text (value);
    g_string_append_printf (s, "%s%s=%s", s->len ? "\n" : "", key, text);
  }
  return g_string_free (s, FALSE);
}

char *
cg_forms_check_name (const char *name)
{
  if (is_blank (name))
    return g_strdup (_ ("A name is required."));
  if (!cg_name_is_valid (name))
    return g_strdup (_ ("Use 1 to 128 letters, digits, dots, dashes or underscores."));
  return NULL;
}

char *
cg_forms_check_field (const CgField *field, const char *value)
{
  g_return_val_if_fail (field != NULL, NULL);

  if (is_blank (value))
    {
      if (!field->required)
        return NULL;
      g_autofree char *label = plain_label (field);
      return g_strdup_printf (_ ("%s is required."), label);
    }
  if (strlen (value) > FIELD_MAX)
    return g_strdup (_ ("This is too long."));

  switch (field->kind)
    {
    case CG_FIELD_PORT:
      {
        gint64 port;
        if (!parse_port (value, &port))
          return g_strdup (_ ("A port is a number from 1 to 65535."));
        break;
      }
    case CG_FIELD_KEY_VALUES:
      {
        g_autoptr (GError) error = NULL;
        json_auto_t *obj = cg_forms_parse_key_values (value, &error);
        if (!obj)
          return g_strdup (error->message);
        break;
      }
    case CG_FIELD_TEXT:
    case CG_FIELD_PASSWORD:
    default:
      break;
    }
  return NULL;
}

gboolean
cg_forms_validate (const CgFormType *type, const char *name, GHashTable *values,
                   const char **bad_field, GError **error)
{
  g_return_val_if_fail (type != NULL && values != NULL, FALSE);

  g_autofree char *problem = cg_forms_check_name (name);
  if (problem)
    {
      if (bad_field)
        *bad_field = "name";
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, problem);
      return FALSE;
    }
  for (guint i = 0; i < type->n_fields; i++)
    {
      const CgField *field = &type->fields[i];
      problem = cg_forms_check_field (field, g_hash_table_lookup (values, field->name));
      if (problem)
        {
          if (bad_field)
            *bad_field = field->name;
          g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, problem);
          return FALSE;
        }
    }
  return TRUE;
}

json_t *
cg_forms_build_body (const CgFormType *type, GHashTable *values, GError **error)
{
  g_return_val_if_fail (type != NULL && values != NULL, NULL);

  json_auto_t *properties = json_object ();
  json_auto_t *secret = json_object ();

  for (guint i = 0; i < type->n_fields; i++)
    {
      const CgField *field = &type->fields[i];
      const char *value = g_hash_table_lookup (values, field->name);
      g_autofree char *problem = cg_forms_check_field (field, value);
      if (problem)
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, problem);
          return NULL;
        }
      if (is_blank (value))
        continue;

      json_t *target = field->secret ? secret : properties;
      switch (field->kind)
        {
        case CG_FIELD_PORT:
          {
            gint64 port = 0;
            parse_port (value, &port);
            json_object_set_new (target, field->name, json_integer (port));
            break;
          }
        case CG_FIELD_KEY_VALUES:
          {
            /* The pairs are the properties themselves, not a nested object. */
            json_auto_t *pairs = cg_forms_parse_key_values (value, error);
            if (!pairs)
              return NULL;
            json_object_update (target, pairs);
            break;
          }
        case CG_FIELD_PASSWORD:
          /* Secrets are taken exactly as typed: spaces may be part of them. */
          json_object_set_new (target, field->name, json_string (value));
          break;
        case CG_FIELD_TEXT:
        default:
          {
            g_autofree char *trimmed = g_strstrip (g_strdup (value));
            json_object_set_new (target, field->name, json_string (trimmed));
            break;
          }
        }
    }

  return json_pack ("{s:s, s:O, s:O}", "type", type->id, "properties", properties, "secret",
                    secret);
}
