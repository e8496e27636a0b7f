/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "protocol/cg-linked-service.h"

#include <jansson.h>
#include <string.h>

#include "common/cg-error.h"

#define FAKE_JWE "JWE.TEST.VALUE"

static char *
read_data (const char *name, gsize *len)
{
  g_autofree char *path = g_build_filename (CG_TEST_DATA, name, NULL);
  char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &text, len, &error);
  g_assert_no_error (error);
  return text;
}

static char *
secrets_text (CgLinkedService *ls)
{
  g_autoptr (CgBuf) buf = cg_linked_service_get_secrets (ls);
  return g_strndup ((const char *) buf->data, buf->len);
}

/* The whole document, byte for byte: order, values, formatting. */
static void
check_file (const char *input, const char *expected_file, const char *expected_secrets,
            const char *const *expected_preview)
{
  gsize len, exp_len;
  g_autofree char *text = read_data (input, &len);
  g_autofree char *expected = read_data (expected_file, &exp_len);
  g_autoptr (GError) error = NULL;

  g_autoptr (CgLinkedService) ls = cg_linked_service_parse (text, len, FALSE, &error);
  g_assert_no_error (error);
  g_autofree char *secrets = secrets_text (ls);
  g_assert_cmpstr (secrets, ==, expected_secrets);
  const char *const *preview = cg_linked_service_preview (ls);
  g_assert_cmpuint (g_strv_length ((char **) preview), ==,
                    g_strv_length ((char **) expected_preview));
  for (guint i = 0; expected_preview[i]; i++)
    g_assert_cmpstr (preview[i], ==, expected_preview[i]);

  g_autofree char *out = cg_linked_service_rewrite (ls, FAKE_JWE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, expected);
}

static void
test_new_shape (void)
{
  static const char *const preview[] = {
    "password", "accountKey", "servicePrincipalKey", "sasToken", "nested.alpha.2.pwd",
    "nested.token", NULL,
  };
  check_file ("new-shape.json", "new-shape.expected.json",
              "{\"password\":\"p@ss\\\"w0rd\",\"accountKey\":\"acctkey==\","
              "\"servicePrincipalKey\":\"spkey\",\"sasToken\":\"sv=2020&sig=abc\","
              "\"nested.alpha.2.pwd\":\"nestedpwd\",\"nested.token\":\"tok\"}",
              preview);
}

static void
test_old_shape (void)
{
  static const char *const preview[] = { "connectionString.Password", NULL };
  check_file ("old-shape.json", "old-shape.expected.json",
              "{\"connectionString.Password\":\"se;cr'et\"}", preview);
}

static CgLinkedService *
parse_tp (const char *type_properties, GError **error)
{
  g_autofree char *doc = g_strdup_printf (
      "{\"name\":\"ls\",\"properties\":{\"type\":\"X\",\"typeProperties\":%s}}", type_properties);
  return cg_linked_service_parse (doc, strlen (doc), FALSE, error);
}

static void
test_secret_kinds (void)
{
  static const struct
  {
    const char *tp, *secrets, *rest;
  } cases[] = {
    { "{\"a\":1,\"password\":\"x\"}", "{\"password\":\"x\"}", "{\"a\":1,\"encryptedCredential\":\"" FAKE_JWE "\"}" },
    { "{\"Password\":\"x\",\"a\":1}", "{\"Password\":\"x\"}", "{\"a\":1,\"encryptedCredential\":\"" FAKE_JWE "\"}" },
    { "{\"pwd\":\"x\"}", "{\"pwd\":\"x\"}", "{\"encryptedCredential\":\"" FAKE_JWE "\"}" },
    { "{\"accountKey\":\"k\"}", "{\"accountKey\":\"k\"}", NULL },
    { "{\"sasToken\":\"s\"}", "{\"sasToken\":\"s\"}", NULL },
    { "{\"servicePrincipalKey\":\"s\"}", "{\"servicePrincipalKey\":\"s\"}", NULL },
    { "{\"anything\":{\"type\":\"SecureString\",\"value\":\"v\"}}", "{\"anything\":\"v\"}", NULL },
    { "{\"password\":{\"type\":\"SecureString\",\"value\":\"v\"},\"b\":2}", "{\"password\":\"v\"}",
      "{\"b\":2,\"encryptedCredential\":\"" FAKE_JWE "\"}" },
    /* A key-vault reference is not a secret: it stays, and the other one goes. */
    { "{\"password\":{\"type\":\"AzureKeyVaultSecret\",\"secretName\":\"n\"},\"pwd\":\"p\"}",
      "{\"pwd\":\"p\"}",
      "{\"password\":{\"type\":\"AzureKeyVaultSecret\",\"secretName\":\"n\"},\"encryptedCredential\":\"" FAKE_JWE "\"}" },
    { "{\"connectionString\":{\"type\":\"SecureString\",\"value\":\"Server=a;Pwd=b\"},\"z\":0}",
      "{\"connectionString.Pwd\":\"b\"}",
      "{\"connectionString\":{\"type\":\"SecureString\",\"value\":\"Server=a\"},\"z\":0,\"encryptedCredential\":\"" FAKE_JWE "\"}" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_test_message ("case %zu: %s", i, cases[i].tp);
      g_autoptr (CgLinkedService) ls = parse_tp (cases[i].tp, &error);
      g_assert_no_error (error);
      g_autofree char *secrets = secrets_text (ls);
      g_assert_cmpstr (secrets, ==, cases[i].secrets);
      g_autofree char *out = cg_linked_service_rewrite (ls, FAKE_JWE, &error);
      g_assert_no_error (error);
      g_assert_null (strstr (out, "\"x\""));
      if (cases[i].rest)
        {
          g_autofree char *expected = g_strdup_printf (
              "{\n  \"name\": \"ls\",\n  \"properties\": {\n    \"type\": \"X\",\n    "
              "\"typeProperties\": %s\n  }\n}\n", cases[i].rest);
          /* Compare parsed-and-compacted, the formatting is tested above. */
          json_auto_t *a = json_loads (out, 0, NULL);
          json_auto_t *b = json_loads (expected, 0, NULL);
          g_autofree char *ca = json_dumps (a, JSON_COMPACT | JSON_PRESERVE_ORDER);
          g_autofree char *cb = json_dumps (b, JSON_COMPACT | JSON_PRESERVE_ORDER);
          g_assert_cmpstr (ca, ==, cb);
        }
    }
}

static void
test_connection_string (void)
{
  static const struct
  {
    const char *in, *rest, *key, *value;
  } cases[] = {
    { "Server=a;Password=b", "Server=a", "Password", "b" },
    { "Server=a;PWD=b;", "Server=a;", "PWD", "b" },
    { "  password  =  b  ; Server=a", " Server=a", "password", "b" },
    { "Server=a;Password=\"x;y\"\"z\";Db=c", "Server=a;Db=c", "Password", "x;y\"z" },
    { "Server=a;Password='x;y''z' ;Db=c", "Server=a;Db=c", "Password", "x;y'z" },
    { "Driver={SQL Server};Pwd={a}}b;c};Uid=u", "Driver={SQL Server};Uid=u", "Pwd", "a}b;c" },
    { "DefaultEndpointsProtocol=https;AccountName=acc;AccountKey=abc==;EndpointSuffix=core.windows.net",
      "DefaultEndpointsProtocol=https;AccountName=acc;EndpointSuffix=core.windows.net", "AccountKey",
      "abc==" },
    { "BlobEndpoint=https://x/;SharedAccessSignature=sv=2020&sig=a%3D",
      "BlobEndpoint=https://x/", "SharedAccessSignature", "sv=2020&sig=a%3D" },
    { "Endpoint=sb://n/;SharedAccessKeyName=k;SharedAccessKey=s3=",
      "Endpoint=sb://n/;SharedAccessKeyName=k", "SharedAccessKey", "s3=" },
    { "Password=only", "", "Password", "only" },
    { "Server=a;Database=b", "Server=a;Database=b", NULL, NULL },
    { "", "", NULL, NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
      g_test_message ("case %zu: %s", i, cases[i].in);
      g_autofree char *rest = cg_connection_string_strip (cases[i].in, keys, values);
      g_assert_cmpstr (rest, ==, cases[i].rest);
      if (cases[i].key)
        {
          g_assert_cmpuint (keys->len, ==, 1);
          g_assert_cmpstr (keys->pdata[0], ==, cases[i].key);
          g_assert_cmpstr (values->pdata[0], ==, cases[i].value);
        }
      else
        g_assert_cmpuint (keys->len, ==, 0);
    }
}

static void
test_refuse_existing (void)
{
  const char *doc = "{\"name\":\"ls\",\"properties\":{\"typeProperties\":{\"a\":1,"
                    "\"encryptedCredential\":\"old\",\"password\":\"p\",\"z\":2}}}";
  g_autoptr (GError) error = NULL;
  CgLinkedService *ls = cg_linked_service_parse (doc, strlen (doc), FALSE, &error);
  g_assert_null (ls);
  g_assert_error (error, CG_ERROR, CG_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "encryptedCredential"));
  g_clear_error (&error);

  /* --force: replaced where it was, not appended. */
  g_autoptr (CgLinkedService) forced = cg_linked_service_parse (doc, strlen (doc), TRUE, &error);
  g_assert_no_error (error);
  g_autofree char *out = cg_linked_service_rewrite (forced, "new", &error);
  json_auto_t *j = json_loads (out, 0, NULL);
  g_autofree char *compact = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  g_assert_cmpstr (compact, ==,
                   "{\"name\":\"ls\",\"properties\":{\"typeProperties\":{\"a\":1,"
                   "\"encryptedCredential\":\"new\",\"z\":2}}}");
}

static void
test_bad_json (void)
{
  const char *doc = "{\n  \"name\": \"ls\",\n  \"properties\": oops\n}";
  g_autoptr (GError) error = NULL;
  g_assert_null (cg_linked_service_parse (doc, strlen (doc), FALSE, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "line 3, column"));
}

static void
test_not_linked_service (void)
{
  static const char *const docs[] = {
    "[]",
    "{\"properties\":{\"typeProperties\":{\"password\":\"p\"}}}",
    "{\"name\":\"bad name\",\"properties\":{\"typeProperties\":{\"password\":\"p\"}}}",
    "{\"name\":\"ls\",\"properties\":{\"type\":\"X\"}}",
    "{\"name\":\"ls\",\"properties\":{\"typeProperties\":{\"server\":\"s\"}}}",
    "{\"name\":\"ls\",\"name\":\"dup\",\"properties\":{\"typeProperties\":{\"password\":\"p\"}}}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (docs); i++)
    {
      g_autoptr (GError) error = NULL;
      g_test_message ("case %zu: %s", i, docs[i]);
      g_assert_null (cg_linked_service_parse (docs[i], strlen (docs[i]), FALSE, &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
    }
}

static void
test_duplicate_secret_keys (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgLinkedService) ls
      = parse_tp ("{\"connectionString\":\"Password=a;x=1;Password=b\"}", &error);
  g_assert_no_error (error);
  g_autofree char *secrets = secrets_text (ls);
  g_assert_cmpstr (secrets, ==,
                   "{\"connectionString.Password\":\"a\",\"connectionString.Password#2\":\"b\"}");
}

/* A SecureString that cannot be taken out is refused with its path, never
 * left behind in the clear while the rest is sealed. */
static void
test_secure_string_in_array (void)
{
  static const struct
  {
    const char *tp, *path;
  } cases[] = {
    { "{\"password\":\"p\",\"hosts\":[\"a\",{\"type\":\"SecureString\",\"value\":\"canary-arr\"}]}",
      "properties.typeProperties.hosts.1:" },
    { "{\"list\":[{\"type\":\"SecureString\",\"value\":\"canary-arr\"}]}",
      "properties.typeProperties.list.0:" },
    /* Deeper: an array in an array, an array in an object in an array. */
    { "{\"pwd\":\"p\",\"m\":[[1,{\"type\":\"SecureString\",\"value\":\"canary-arr\"}]]}",
      "properties.typeProperties.m.0.1:" },
    { "{\"a\":[{\"b\":[{\"type\":\"SecureString\",\"value\":\"canary-arr\"}]}]}",
      "properties.typeProperties.a.0.b.0:" },
    /* Marked secure but with no string to seal. */
    { "{\"pwd\":\"p\",\"token\":{\"type\":\"SecureString\",\"value\":[\"canary-arr\"]}}",
      "properties.typeProperties.token:" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_test_message ("case %zu: %s", i, cases[i].tp);
      g_autoptr (CgLinkedService) ls = parse_tp (cases[i].tp, &error);
      g_assert_null (ls);
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      if (!g_str_has_prefix (error->message, cases[i].path))
        g_error ("case %zu: \"%s\" does not start with %s", i, error->message, cases[i].path);
      g_assert_null (strstr (error->message, "canary"));
    }

  /* Objects inside arrays are still searched, and their secrets removed. */
  g_autoptr (GError) error = NULL;
  g_autoptr (CgLinkedService) ls
      = parse_tp ("{\"x\":[[{\"pwd\":\"deep\",\"k\":{\"type\":\"SecureString\",\"value\":\"s\"}}]]}",
                  &error);
  g_assert_no_error (error);
  g_autofree char *secrets = secrets_text (ls);
  g_assert_cmpstr (secrets, ==, "{\"x.0.0.pwd\":\"deep\",\"x.0.0.k\":\"s\"}");
  g_autofree char *out = cg_linked_service_rewrite (ls, FAKE_JWE, &error);
  g_assert_null (strstr (out, "deep"));
  g_assert_null (strstr (out, "SecureString"));
}

/* --rewrap's form: the same shape checks, the sealed value found, and the
 * rewrite replaces it in place with every other member kept. */
static void
test_sealed (void)
{
  g_autoptr (GError) error = NULL;
  const char *doc = "{\"name\": \"Ls1\", \"properties\": {\"type\": \"SqlServer\", "
                    "\"typeProperties\": {\"server\": \"db\", \"encryptedCredential\": \"OLD\", "
                    "\"user\": \"u\"}}}";
  g_autoptr (CgLinkedService) ls = cg_linked_service_parse_sealed (doc, strlen (doc), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cg_linked_service_get_name (ls), ==, "Ls1");
  g_assert_cmpstr (cg_linked_service_get_encrypted_credential (ls), ==, "OLD");
  g_assert_null (cg_linked_service_preview (ls)[0]);
  g_autofree char *out = cg_linked_service_rewrite (ls, FAKE_JWE, &error);
  g_assert_no_error (error);
  json_auto_t *root = json_loads (out, 0, NULL);
  json_t *tp = json_object_get (json_object_get (root, "properties"), "typeProperties");
  g_assert_cmpstr (json_string_value (json_object_get (tp, "encryptedCredential")), ==, FAKE_JWE);
  g_assert_cmpstr (json_string_value (json_object_get (tp, "user")), ==, "u");
  /* In place: still between server and user. */
  g_assert_true (strstr (out, "server") < strstr (out, FAKE_JWE));
  g_assert_true (strstr (out, FAKE_JWE) < strstr (out, "\"user\""));

  const char *plain = "{\"name\": \"Ls1\", \"properties\": {\"typeProperties\": "
                      "{\"password\": \"pw\"}}}";
  g_assert_null (cg_linked_service_parse_sealed (plain, strlen (plain), &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "encryptedCredential"));
  g_clear_error (&error);
  const char *noname = "{\"properties\": {\"typeProperties\": {\"encryptedCredential\": \"X\"}}}";
  g_assert_null (cg_linked_service_parse_sealed (noname, strlen (noname), &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/linked-service/new-shape", test_new_shape);
  g_test_add_func ("/linked-service/old-shape", test_old_shape);
  g_test_add_func ("/linked-service/secret-kinds", test_secret_kinds);
  g_test_add_func ("/linked-service/connection-string", test_connection_string);
  g_test_add_func ("/linked-service/refuse-existing", test_refuse_existing);
  g_test_add_func ("/linked-service/bad-json", test_bad_json);
  g_test_add_func ("/linked-service/not-a-linked-service", test_not_linked_service);
  g_test_add_func ("/linked-service/duplicate-secret-keys", test_duplicate_secret_keys);
  g_test_add_func ("/linked-service/secure-string-in-array", test_secure_string_in_array);
  g_test_add_func ("/linked-service/sealed", test_sealed);
  return g_test_run ();
}
