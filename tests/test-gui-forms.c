/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <locale.h>
#include <string.h>

#include "common/cg-error.h"
#include "gui/cg-forms.h"

static GHashTable *
values_new (const char *first, ...)
{
  GHashTable *values = g_hash_table_new (g_str_hash, g_str_equal);
  va_list ap;
  va_start (ap, first);
  for (const char *key = first; key; key = va_arg (ap, const char *))
    g_hash_table_insert (values, (gpointer)key, va_arg (ap, char *));
  va_end (ap);
  return values;
}

static void
test_table (void)
{
  guint n;
  const CgFormType *types = cg_forms_get_types (&n);
  const char *const want[]
      = { "sqlserver", "postgresql", "mysql", "oracle", "smb", "sftp", "generic" };

  g_assert_cmpuint (n, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < n; i++)
    {
      guint secrets = 0, required = 0;
      g_assert_cmpstr (types[i].id, ==, want[i]);
      g_assert_true (cg_forms_lookup (want[i]) == &types[i]);
      g_assert_nonnull (types[i].label);
      for (guint f = 0; f < types[i].n_fields; f++)
        {
          const CgField *field = &types[i].fields[f];
          g_assert_nonnull (field->label);
          /* Every label carries a mnemonic for keyboard users. */
          g_assert_nonnull (strchr (field->label, '_'));
          secrets += field->secret;
          required += field->required;
          /* A secret is always typed into a password entry. */
          g_assert_true (!field->secret || field->kind == CG_FIELD_PASSWORD);
          g_assert_true (cg_forms_lookup_field (&types[i], field->name) == field);
        }
      g_assert_cmpuint (secrets, >=, 1);
      g_assert_cmpuint (required, >=, 1);
    }
  g_assert_null (cg_forms_lookup ("nosuchtype"));
  g_assert_null (cg_forms_lookup (NULL));
}

static void
test_check_field (void)
{
  const CgFormType *sql = cg_forms_lookup ("sqlserver");
  const CgField *server = cg_forms_lookup_field (sql, "server");
  const CgField *port = cg_forms_lookup_field (sql, "port");
  const CgField *database = cg_forms_lookup_field (sql, "database");
  g_autofree char *p1 = cg_forms_check_field (server, "");
  g_autofree char *p2 = cg_forms_check_field (server, "   ");
  g_autofree char *p3 = cg_forms_check_field (port, "0");
  g_autofree char *p4 = cg_forms_check_field (port, "65536");
  g_autofree char *p5 = cg_forms_check_field (port, "14x");
  g_autofree char *long_value = g_strnfill (5000, 'a');
  g_autofree char *p6 = cg_forms_check_field (server, long_value);

  g_assert_nonnull (p1);
  g_assert_nonnull (strstr (p1, "Server")); /* the label, without its underscore */
  g_assert_null (strchr (p1, '_'));
  g_assert_nonnull (p2);
  g_assert_nonnull (p3);
  g_assert_nonnull (p4);
  g_assert_nonnull (p5);
  g_assert_nonnull (p6);
  g_assert_null (cg_forms_check_field (server, "db1"));
  g_assert_null (cg_forms_check_field (port, "1433"));
  g_assert_null (cg_forms_check_field (port, "")); /* optional */
  g_assert_null (cg_forms_check_field (database, NULL));
}

static void
test_check_name (void)
{
  g_autofree char *empty = cg_forms_check_name ("");
  g_autofree char *slash = cg_forms_check_name ("a/b");
  g_autofree char *space = cg_forms_check_name ("a b");
  g_autofree char *dots = cg_forms_check_name ("..");
  g_autofree char *too_long_name = g_strnfill (129, 'x');
  g_autofree char *too_long = cg_forms_check_name (too_long_name);

  g_assert_nonnull (empty);
  g_assert_nonnull (slash);
  g_assert_nonnull (space);
  g_assert_nonnull (dots);
  g_assert_nonnull (too_long);
  g_assert_null (cg_forms_check_name ("sql-prod_1.eu"));
}

static void
test_validate (void)
{
  const CgFormType *sql = cg_forms_lookup ("sqlserver");
  const char *bad = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) ok = values_new ("server", "db1", "user", "app", "password", "pw", NULL);
  g_autoptr (GHashTable) no_pw = values_new ("server", "db1", "user", "app", NULL);

  g_assert_true (cg_forms_validate (sql, "sql-prod", ok, &bad, &error));
  g_assert_no_error (error);

  g_assert_false (cg_forms_validate (sql, "bad name", ok, &bad, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_assert_cmpstr (bad, ==, "name");
  g_clear_error (&error);

  g_assert_false (cg_forms_validate (sql, "sql-prod", no_pw, &bad, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_assert_cmpstr (bad, ==, "password");
}

static void
test_body_sqlserver (void)
{
  const CgFormType *sql = cg_forms_lookup ("sqlserver");
  g_autoptr (GError) error = NULL;
  /* Text is trimmed, the port becomes a number, empty optional fields are
   * left out, and the password is taken exactly, spaces and all. */
  g_autoptr (GHashTable) values = values_new ("server", " db1 ", "port", "1433", "database", "",
                                              "user", "app", "password", " s3 cret ", NULL);
  json_auto_t *body = cg_forms_build_body (sql, values, &error);
  g_assert_no_error (error);
  g_autofree char *text = json_dumps (body, JSON_COMPACT | JSON_SORT_KEYS);
  g_assert_cmpstr (text, ==,
                   "{\"properties\":{\"port\":1433,\"server\":\"db1\",\"user\":\"app\"},"
                   "\"secret\":{\"password\":\" s3 cret \"},\"type\":\"sqlserver\"}");
}

static void
test_body_secret_never_in_properties (void)
{
  guint n;
  const CgFormType *types = cg_forms_get_types (&n);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GHashTable) values = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint f = 0; f < types[i].n_fields; f++)
        {
          const CgField *field = &types[i].fields[f];
          const char *v = field->kind == CG_FIELD_PORT         ? "22"
                          : field->kind == CG_FIELD_KEY_VALUES ? "a=b"
                          : field->secret                      ? "CANARY"
                                                               : "x";
          g_hash_table_insert (values, (gpointer)field->name, (gpointer)v);
        }
      g_autoptr (GError) error = NULL;
      json_auto_t *body = cg_forms_build_body (&types[i], values, &error);
      g_assert_no_error (error);
      g_autofree char *props = json_dumps (json_object_get (body, "properties"), JSON_COMPACT);
      g_autofree char *secret = json_dumps (json_object_get (body, "secret"), JSON_COMPACT);
      g_assert_null (strstr (props, "CANARY"));
      g_assert_nonnull (strstr (secret, "CANARY"));
      g_assert_cmpstr (json_string_value (json_object_get (body, "type")), ==, types[i].id);
    }
}

static void
test_body_invalid (void)
{
  const CgFormType *pg = cg_forms_lookup ("postgresql");
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) values = values_new ("host", "h", "port", "99999", "database", "d", "user",
                                              "u", "password", "p", NULL);
  json_t *body = cg_forms_build_body (pg, values, &error);
  g_assert_null (body);
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
}

static void
test_key_values (void)
{
  g_autoptr (GError) error = NULL;
  json_auto_t *obj = cg_forms_parse_key_values ("a = 1\n\n  b=x=y \nc=", &error);
  g_assert_no_error (error);
  g_autofree char *text = json_dumps (obj, JSON_COMPACT);
  g_assert_cmpstr (text, ==, "{\"a\":\"1\",\"b\":\"x=y\",\"c\":\"\"}");
  g_autofree char *back = cg_forms_format_key_values (obj);
  g_assert_cmpstr (back, ==, "a=1\nb=x=y\nc=");

  json_t *bad = cg_forms_parse_key_values ("a=1\nnoequals", &error);
  g_assert_null (bad);
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "2"));
  g_clear_error (&error);
  bad = cg_forms_parse_key_values ("a=1\na=2", &error);
  g_assert_null (bad);
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);

  /* Generic: the pairs are the properties themselves. */
  const CgFormType *generic = cg_forms_lookup ("generic");
  g_autoptr (GHashTable) values
      = values_new ("properties", "endpoint=https://x\nregion=eu", "value", "k3y", NULL);
  json_auto_t *body = cg_forms_build_body (generic, values, &error);
  g_assert_no_error (error);
  g_autofree char *body_text = json_dumps (body, JSON_COMPACT);
  g_assert_cmpstr (body_text, ==,
                   "{\"type\":\"generic\",\"properties\":{\"endpoint\":\"https://x\","
                   "\"region\":\"eu\"},\"secret\":{\"value\":\"k3y\"}}");
}

static void
test_property_to_text (void)
{
  json_auto_t *i = json_integer (1433);
  json_auto_t *s = json_string ("db");
  json_auto_t *t = json_true ();
  g_autofree char *a = cg_forms_property_to_text (i);
  g_autofree char *b = cg_forms_property_to_text (s);
  g_autofree char *c = cg_forms_property_to_text (t);
  g_autofree char *d = cg_forms_property_to_text (NULL);
  g_assert_cmpstr (a, ==, "1433");
  g_assert_cmpstr (b, ==, "db");
  g_assert_cmpstr (c, ==, "true");
  g_assert_cmpstr (d, ==, "");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C");
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gui/forms/table", test_table);
  g_test_add_func ("/gui/forms/check-field", test_check_field);
  g_test_add_func ("/gui/forms/check-name", test_check_name);
  g_test_add_func ("/gui/forms/validate", test_validate);
  g_test_add_func ("/gui/forms/body/sqlserver", test_body_sqlserver);
  g_test_add_func ("/gui/forms/body/secret-never-in-properties",
                   test_body_secret_never_in_properties);
  g_test_add_func ("/gui/forms/body/invalid", test_body_invalid);
  g_test_add_func ("/gui/forms/key-values", test_key_values);
  g_test_add_func ("/gui/forms/property-to-text", test_property_to_text);
  return g_test_run ();
}
