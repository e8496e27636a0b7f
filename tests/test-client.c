/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* protocol/cg-client.h's typed calls against the real agent that
 * tests/test-client.sh starts: every call, and every kind of error a
 * caller must tell apart (by domain and code, never by text).  The script
 * passes the agent in the environment (CG_TEST_HOST, CG_TEST_PORT,
 * CG_TEST_PIN as openssl saw it, CG_TEST_TOKEN_FILE) and runs one group of
 * paths per state of the agent: /client/agent/ (serving), /client/locked/
 * (its keyring locked), /client/throttled/ (after failed logins). */
#include "config.h"

#include <gio/gio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cg-error.h"
#include "protocol/cg-client.h"
#include "tests/cg-test-util.h"

#define OTHER_PIN "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static const char *
env (const char *name)
{
  const char *v = g_getenv (name);
  if (!v || !*v)
    g_error ("%s is not set: run through tests/test-client.sh", name);
  return v;
}

/* A pinned client with the token: what every caller starts from. */
static CgClient *
agent_client (void)
{
  CgClient *client = cg_client_new (env ("CG_TEST_HOST"), atoi (env ("CG_TEST_PORT")));
  cg_client_set_pins (client, env ("CG_TEST_PIN"), NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (cg_client_load_token (client, env ("CG_TEST_TOKEN_FILE"), &error));
  g_assert_no_error (error);
  return client;
}

static void
test_probe (void)
{
  g_autoptr (CgClient) client = cg_client_new (env ("CG_TEST_HOST"), atoi (env ("CG_TEST_PORT")));
  g_autoptr (GError) error = NULL;
  /* No pin and no token: the one unpinned contact. */
  g_autoptr (CgCertInfo) info = cg_client_probe (client, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->pin, ==, env ("CG_TEST_PIN"));
  g_assert_true (info->self_signed);
  g_assert_nonnull (info->subject);
  g_assert_true (g_strv_contains ((const char *const *) info->sans, "localhost"));
  g_assert_true (g_strv_contains ((const char *const *) info->sans, "127.0.0.1"));
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_assert_cmpint (info->not_before, <=, now);
  g_assert_cmpint (info->not_after, >, now);
  g_autofree char *pin = cg_client_fetch_pin (client, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pin, ==, info->pin);
}

static void
test_info (void)
{
  g_autoptr (CgClient) client = agent_client ();
  g_autoptr (GError) error = NULL;
  json_auto_t *info = cg_client_get_info (client, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (info, "tlsPin")), ==, env ("CG_TEST_PIN"));
  g_assert_cmpstr (cg_client_get_peer_pin (client), ==, env ("CG_TEST_PIN"));
}

static void
test_credentials (void)
{
  g_autoptr (CgClient) client = agent_client ();
  g_autoptr (GError) error = NULL;
  json_auto_t *body = json_pack ("{s:s, s:s, s:{s:s}}", "type", "postgresql", "secret",
                                 "client-test-secret", "properties", "host", "db1");
  json_auto_t *put = cg_client_credential_put (client, "client-test", body, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (put, "name")), ==, "client-test");

  json_auto_t *got = cg_client_credential_get (client, "client-test", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (got, "type")), ==, "postgresql");
  /* Metadata only: the secret never comes back. */
  g_autofree char *text = json_dumps (got, 0);
  g_assert_null (strstr (text, "client-test-secret"));

  json_auto_t *list = cg_client_credential_list (client, &error);
  g_assert_no_error (error);
  g_assert_true (json_is_array (list));
  gboolean found = FALSE;
  size_t i;
  json_t *item;
  json_array_foreach (list, i, item)
    found |= g_strcmp0 (json_string_value (json_object_get (item, "name")), "client-test") == 0;
  g_assert_true (found);

  json_auto_t *del = cg_client_credential_delete (client, "client-test", &error);
  g_assert_no_error (error);
  g_assert_true (json_is_true (json_object_get (del, "deleted")));
  json_t *gone = cg_client_credential_get (client, "client-test", &error);
  g_assert_null (gone);
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A name the API cannot carry is refused before anything is sent. */
  g_assert_null (cg_client_credential_get (client, "../info", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
}

static void
test_seal (void)
{
  g_autoptr (CgClient) client = agent_client ();
  g_autoptr (GError) error = NULL;
  const char *value = "a value to seal";
  json_auto_t *sealed = cg_client_encrypt (client, value, strlen (value), "ctx-a", &error);
  g_assert_no_error (error);
  const char *jwe = json_string_value (json_object_get (sealed, "encryptedCredential"));
  g_assert_nonnull (jwe);

  json_auto_t *ok = cg_client_verify (client, jwe, "ctx-a", &error);
  g_assert_no_error (error);
  g_assert_true (json_is_true (json_object_get (ok, "ok")));
  json_t *wrong = cg_client_verify (client, jwe, "ctx-b", &error);
  g_assert_null (wrong);
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);

  json_auto_t *fresh = cg_client_rewrap (client, jwe, "ctx-a", &error);
  g_assert_no_error (error);
  const char *jwe2 = json_string_value (json_object_get (fresh, "encryptedCredential"));
  g_assert_nonnull (jwe2);
  g_assert_cmpstr (jwe2, !=, jwe);
  json_auto_t *ok2 = cg_client_verify (client, jwe2, "ctx-a", &error);
  g_assert_no_error (error);

  /* Not UTF-8: refused here, nothing sent. */
  g_assert_null (cg_client_encrypt (client, "\xff\xfe", 2, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
}

static void
test_unauthorized (void)
{
  g_autoptr (CgClient) client = agent_client ();
  g_autoptr (GError) error = NULL;
  cg_client_set_token (client, "cgt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  g_assert_null (cg_client_credential_list (client, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_UNAUTHORIZED);
}

static void
test_forbidden (void)
{
  g_autoptr (CgClient) client = agent_client ();
  g_autoptr (GError) error = NULL;
  cg_client_set_token (client, NULL);
  g_autoptr (CgBuf) key = NULL;
  g_assert_null (cg_client_enroll (client, "not-a-code", "client-test", &key, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_FORBIDDEN);
  g_assert_null (key);
}

static void
test_too_large (void)
{
  g_autoptr (CgClient) client = agent_client ();
  g_autoptr (GError) error = NULL;
  g_autofree char *big = g_strnfill (256 * 1024, 'a');
  json_auto_t *body = json_pack ("{s:s, s:s}", "type", "x", "secret", big);
  g_assert_null (cg_client_credential_put (client, "big", body, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_TOO_LARGE);
}

static void
test_unreachable (void)
{
  g_autoptr (CgClient) client = cg_client_new ("127.0.0.1", cg_test_closed_port ());
  cg_client_set_pins (client, env ("CG_TEST_PIN"), NULL);
  g_autoptr (GError) error = NULL;
  g_assert_null (cg_client_credential_list (client, &error));
  g_assert_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_UNREACHABLE);
  g_clear_error (&error);
  g_assert_null (cg_client_probe (client, &error));
  g_assert_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_UNREACHABLE);
}

static void
test_pin_mismatch (void)
{
  g_autoptr (CgClient) client = agent_client ();
  g_autoptr (GError) error = NULL;
  cg_client_set_pins (client, OTHER_PIN, NULL);
  g_assert_null (cg_client_encrypt (client, "v", 1, NULL, &error));
  g_assert_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH);
  /* The report names the key the agent presented. */
  g_assert_nonnull (strstr (error->message, env ("CG_TEST_PIN")));
  g_clear_error (&error);

  /* No pin at all: nothing is sent. */
  cg_client_set_pins (client, NULL, NULL);
  g_assert_null (cg_client_credential_list (client, &error));
  g_assert_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH);
}

static void
test_locked (void)
{
  g_autoptr (CgClient) client = agent_client ();
  g_autoptr (GError) error = NULL;
  g_assert_null (cg_client_encrypt (client, "v", 1, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_LOCKED);
  g_clear_error (&error);
  json_auto_t *body = json_pack ("{s:s, s:s}", "type", "x", "secret", "s");
  g_assert_null (cg_client_credential_put (client, "locked", body, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_LOCKED);
  g_clear_error (&error);
  /* /v1/info has no sealing key then, and says why: the same 503 state,
   * not a malformed reply (a list of agents goes on to the next one). */
  g_assert_null (cg_client_get_info (client, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_LOCKED);
  g_clear_error (&error);
  /* The agent itself is reachable: listing needs no key. */
  json_auto_t *list = cg_client_credential_list (client, &error);
  g_assert_no_error (error);
}

static void
test_throttled (void)
{
  g_autoptr (CgClient) client = agent_client ();
  g_autoptr (GError) error = NULL;
  g_assert_null (cg_client_credential_list (client, &error));
  g_assert_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_BUSY);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/client/agent/probe", test_probe);
  g_test_add_func ("/client/agent/info", test_info);
  g_test_add_func ("/client/agent/credentials", test_credentials);
  g_test_add_func ("/client/agent/encrypt-verify-rewrap", test_seal);
  g_test_add_func ("/client/agent/401-unauthorized", test_unauthorized);
  g_test_add_func ("/client/agent/403-forbidden", test_forbidden);
  g_test_add_func ("/client/agent/413-too-large", test_too_large);
  g_test_add_func ("/client/agent/unreachable", test_unreachable);
  g_test_add_func ("/client/agent/pin-mismatch", test_pin_mismatch);
  g_test_add_func ("/client/locked/503-secret-store-locked", test_locked);
  g_test_add_func ("/client/throttled/429-busy", test_throttled);
  return g_test_run ();
}
