/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The contract checks of CgVaultStore: see cg-vault-store-contract.h. */
#include "config.h"

#include "tests/cg-vault-store-contract.h"

#include "common/cg-error.h"

#include <jansson.h>
#include <string.h>

GBytes *
cg_test_store_seal_cb (gint64 version, gpointer user_data)
{
  CgTestSeal *s = user_data;
  s->version = version;
  s->called = TRUE;
  g_autofree char *text = g_strdup_printf ("sealed-v%" G_GINT64_FORMAT, version);
  return g_bytes_new (text, strlen (text));
}

/* A new name is version 1; a replace is version 2, sealed for 2, keeps
 * its creation time; get gives back exactly the sealed bytes of the last
 * write; delete removes it, and a second delete is NOT_FOUND. */
void
cg_test_store_contract_records (CgVaultStore *store)
{
  const CgVaultStoreOps *ops = store->ops;
  g_autoptr (GError) error = NULL;
  CgTestSeal s = { 0 };
  json_auto_t *m1 = ops->record_put (store, "db1", "sql", "{\"host\":\"h\"}",
                                        "2026-01-01T00:00:00Z", cg_test_store_seal_cb, &s, &error);
  g_assert_no_error (error);
  g_assert_cmpint (s.version, ==, 1);
  g_assert_cmpint (json_integer_value (json_object_get (m1, "version")), ==, 1);

  json_auto_t *m2 = ops->record_put (store, "db1", "sql", "{\"host\":\"h2\"}",
                                        "2026-02-01T00:00:00Z", cg_test_store_seal_cb, &s, &error);
  g_assert_no_error (error);
  g_assert_cmpint (s.version, ==, 2);
  g_assert_cmpint (json_integer_value (json_object_get (m2, "version")), ==, 2);
  g_assert_cmpstr (json_string_value (json_object_get (m2, "created")), ==,
                   "2026-01-01T00:00:00Z");
  g_assert_cmpstr (json_string_value (json_object_get (m2, "updated")), ==,
                   "2026-02-01T00:00:00Z");

  g_autoptr (GBytes) sealed = NULL;
  json_auto_t *got = ops->record_get (store, "db1", &sealed, &error);
  g_assert_no_error (error);
  gsize len;
  const char *bytes = g_bytes_get_data (sealed, &len);
  g_assert_cmpmem (bytes, len, "sealed-v2", 9);
  g_assert_cmpstr (json_string_value (json_object_get (
                       json_object_get (got, "properties"), "host")), ==, "h2");

  json_auto_t *list = ops->record_list (store, &error);
  g_assert_cmpuint (json_array_size (list), ==, 1);
  g_assert_true (ops->record_delete (store, "db1", &error));
  g_assert_false (ops->record_delete (store, "db1", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (ops->record_get (store, "db1", NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
}

/* One current key at any time; the first key also records that keys were
 * made; retire marks it, an unknown kid is NOT_FOUND; use counts add up. */
void
cg_test_store_contract_keys (CgVaultStore *store)
{
  const CgVaultStoreOps *ops = store->ops;
  g_autoptr (GError) error = NULL;
  g_assert_true (ops->key_add_current (store, "k1", "2026-01-01T00:00:00Z", TRUE, &error));
  g_autofree char *made = ops->meta_get (store, "keys_created", &error);
  g_assert_cmpstr (made, ==, "1");
  g_assert_true (ops->key_add_current (store, "k2", "2026-02-01T00:00:00Z", FALSE, &error));
  g_assert_true (ops->key_note_use (store, "k1", 3, "2026-02-02T00:00:00Z", &error));
  g_assert_true (ops->key_note_use (store, "k1", 2, "2026-02-03T00:00:00Z", &error));
  g_assert_true (ops->key_retire (store, "k1", &error));
  g_assert_false (ops->key_retire (store, "nope", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  /* The same kid twice is refused, and changes nothing. */
  g_assert_false (ops->key_add_current (store, "k2", "2026-03-01T00:00:00Z", FALSE, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_clear_error (&error);

  json_auto_t *keys = ops->key_list (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_size (keys), ==, 2);
  json_t *k1 = json_array_get (keys, 0), *k2 = json_array_get (keys, 1);
  g_assert_cmpstr (json_string_value (json_object_get (k1, "kid")), ==, "k1");
  g_assert_false (json_is_true (json_object_get (k1, "current")));
  g_assert_true (json_is_true (json_object_get (k1, "retired")));
  g_assert_cmpint (json_integer_value (json_object_get (k1, "opened")), ==, 5);
  g_assert_cmpstr (json_string_value (json_object_get (k1, "lastOpened")), ==,
                   "2026-02-03T00:00:00Z");
  g_assert_true (json_is_true (json_object_get (k2, "current")));
  g_assert_true (json_is_null (json_object_get (k2, "lastOpened")));
}

void
cg_test_store_contract_tokens (CgVaultStore *store)
{
  const CgVaultStoreOps *ops = store->ops;
  g_autoptr (GError) error = NULL;
  guint8 mac1[32], mac2[32];
  memset (mac1, 1, sizeof mac1);
  memset (mac2, 2, sizeof mac2);
  g_assert_true (ops->token_add (store, "ci", mac1, "2026-01-01T00:00:00Z", &error));
  g_assert_false (ops->token_add (store, "ci", mac2, "2026-01-01T00:00:00Z", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_EXISTS);
  g_clear_error (&error);

  g_autofree char *last = NULL;
  g_autofree char *name = ops->token_find (store, mac1, &last, &error);
  g_assert_cmpstr (name, ==, "ci");
  g_assert_null (last);
  g_assert_null (ops->token_find (store, mac2, NULL, &error));
  g_assert_no_error (error);

  g_assert_true (ops->token_touch (store, "ci", "2026-01-02T00:00:00Z", &error));
  json_auto_t *list = ops->token_list (store, &error);
  g_assert_cmpuint (json_array_size (list), ==, 1);
  g_assert_cmpstr (json_string_value (json_object_get (json_array_get (list, 0), "last_used")),
                   ==, "2026-01-02T00:00:00Z");

  gint64 creds = -1, tokens = -1, clients = -1;
  g_assert_true (ops->counts (store, "2026-01-02T00:00:00Z", &creds, &tokens, &clients));
  g_assert_cmpint (creds, ==, 0);
  g_assert_cmpint (tokens, ==, 1);
  g_assert_cmpint (clients, ==, 0);

  g_assert_true (ops->token_delete (store, "ci", &error));
  g_assert_false (ops->token_delete (store, "ci", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
}


/* A setting is absent (NULL, no error) until set; set again, it is
 * replaced. */
void
cg_test_store_contract_meta (CgVaultStore *store)
{
  const CgVaultStoreOps *ops = store->ops;
  g_autoptr (GError) error = NULL;
  g_autofree char *none = ops->meta_get (store, "master_current", &error);
  g_assert_no_error (error);
  g_assert_null (none);
  g_assert_true (ops->meta_set (store, "master_current", "m1", &error));
  g_assert_true (ops->meta_set (store, "instance", "node-a", &error));
  g_assert_true (ops->meta_set (store, "master_current", "m2", &error));
  g_assert_no_error (error);
  g_autofree char *got = ops->meta_get (store, "master_current", &error);
  g_assert_cmpstr (got, ==, "m2");
  g_autofree char *instance = ops->meta_get (store, "instance", &error);
  g_assert_cmpstr (instance, ==, "node-a");
}

typedef struct
{
  gint64 version; /* the version the store asked to re-seal */
  char *old;      /* the bytes it passed */
  gboolean fail;
} Reseal;

static GBytes *
reseal_cb (GBytes *old_sealed, gint64 version, gpointer data, GError **error)
{
  Reseal *r = data;
  gsize len;
  const char *bytes = g_bytes_get_data (old_sealed, &len);
  g_free (r->old);
  r->old = g_strndup (bytes, len);
  r->version = version;
  if (r->fail)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_DECRYPT, "cannot open the stored record");
      return NULL;
    }
  g_autofree char *text = g_strdup_printf ("resealed-%s", r->old);
  return g_bytes_new (text, strlen (text));
}

/* record_reseal replaces the sealed bytes of the version asked for and
 * nothing else (version, type, properties, times stay); a stale version
 * is CONFLICT and a missing name NOT_FOUND, both without calling back; a
 * callback that fails leaves the record as it was. */
void
cg_test_store_contract_reseal (CgVaultStore *store)
{
  const CgVaultStoreOps *ops = store->ops;
  g_autoptr (GError) error = NULL;
  CgTestSeal s = { 0 };
  Reseal r = { 0 };
  json_auto_t *m1 = ops->record_put (store, "db1", "sql", "{\"host\":\"h\"}",
                                        "2026-01-01T00:00:00Z", cg_test_store_seal_cb, &s, &error);
  json_auto_t *m2 = ops->record_put (store, "db1", "sql", "{\"host\":\"h2\"}",
                                        "2026-02-01T00:00:00Z", cg_test_store_seal_cb, &s, &error);
  g_assert_no_error (error);

  g_assert_false (ops->record_reseal (store, "db1", 1, reseal_cb, &r, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFLICT);
  g_clear_error (&error);
  g_assert_null (r.old);
  g_assert_false (ops->record_reseal (store, "nope", 1, reseal_cb, &r, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (r.old);

  r.fail = TRUE;
  g_assert_false (ops->record_reseal (store, "db1", 2, reseal_cb, &r, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);
  g_autoptr (GBytes) sealed = NULL;
  json_auto_t *got = ops->record_get (store, "db1", &sealed, &error);
  gsize len;
  const char *bytes = g_bytes_get_data (sealed, &len);
  g_assert_cmpmem (bytes, len, "sealed-v2", 9);

  r.fail = FALSE;
  g_assert_true (ops->record_reseal (store, "db1", 2, reseal_cb, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (r.old, ==, "sealed-v2");
  g_assert_cmpint (r.version, ==, 2);
  g_clear_pointer (&sealed, g_bytes_unref);
  json_auto_t *after = ops->record_get (store, "db1", &sealed, &error);
  g_assert_no_error (error);
  bytes = g_bytes_get_data (sealed, &len);
  g_assert_cmpmem (bytes, len, "resealed-sealed-v2", 18);
  g_assert_true (json_equal (after, got));
  g_free (r.old);
}

static const char *
member (json_t *obj, const char *key)
{
  return json_string_value (json_object_get (obj, key));
}

/* Client certificates: the CA certificate is a setting; a code is found by
 * its HMAC until it expires, a new one replaces the name's last; an
 * enrollment uses the code up (the same code again, or a replaced one, is
 * NOT_FOUND), supersedes the name's earlier certificate and records the
 * new one; a revocation marks the live ones and drops a pending code; the
 * counts and the list follow. */
void
cg_test_store_contract_clients (CgVaultStore *store)
{
  const CgVaultStoreOps *ops = store->ops;
  g_autoptr (GError) error = NULL;
  guint8 mac1[32], mac2[32], mac3[32], mac4[32];
  memset (mac1, 0x11, sizeof mac1);
  memset (mac2, 0x22, sizeof mac2);
  memset (mac3, 0x33, sizeof mac3);
  memset (mac4, 0x44, sizeof mac4);
  const char *pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  g_assert_true (ops->meta_set (store, "client_ca_cert", pem, &error));
  g_autofree char *got_pem = ops->meta_get (store, "client_ca_cert", &error);
  g_assert_cmpstr (got_pem, ==, pem);

  g_assert_true (ops->client_code_add (store, "laptop", mac1, "2026-01-01T00:00:00Z",
                                       "2026-01-02T00:00:00Z", 3600, &error));
  gint64 validity = 0;
  g_autofree char *n1 = ops->client_code_find (store, mac1, "2026-01-01T12:00:00Z", &validity,
                                               &error);
  g_assert_no_error (error);
  g_assert_cmpstr (n1, ==, "laptop");
  g_assert_cmpint (validity, ==, 3600);
  g_assert_null (ops->client_code_find (store, mac1, "2026-01-02T00:00:00Z", NULL, &error));
  g_assert_no_error (error);
  /* A new code for the name replaces the last. */
  g_assert_true (ops->client_code_add (store, "laptop", mac2, "2026-01-01T01:00:00Z",
                                       "2026-01-02T01:00:00Z", 7200, &error));
  g_assert_null (ops->client_code_find (store, mac1, "2026-01-01T12:00:00Z", NULL, &error));
  g_autofree char *n2 = ops->client_code_find (store, mac2, "2026-01-01T12:00:00Z", &validity,
                                               &error);
  g_assert_cmpstr (n2, ==, "laptop");
  g_assert_cmpint (validity, ==, 7200);
  json_auto_t *pending = ops->client_list (store, "2026-01-01T12:00:00Z", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_size (pending), ==, 1);
  g_assert_cmpstr (member (json_array_get (pending, 0), "state"), ==, "pending");
  g_assert_cmpstr (member (json_array_get (pending, 0), "codeExpires"), ==,
                   "2026-01-02T01:00:00Z");

  /* Enrollment: the replaced code is gone, the live one works once. */
  g_assert_false (ops->client_enroll (store, mac1, "laptop", "0a01", "sha256:one",
                                      "2026-01-01T13:00:00Z", "2027-01-01T00:00:00Z", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (ops->client_enroll (store, mac2, "laptop", "0a01", "sha256:one",
                                     "2026-01-01T13:00:00Z", "2027-01-01T00:00:00Z", &error));
  g_assert_no_error (error);
  g_assert_false (ops->client_enroll (store, mac2, "laptop", "0a09", "sha256:nine",
                                      "2026-01-01T13:30:00Z", "2027-01-01T00:00:00Z", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (ops->client_code_find (store, mac2, "2026-01-01T12:00:00Z", NULL, &error));
  json_auto_t *c1 = ops->client_get (store, "0a01", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (member (c1, "name"), ==, "laptop");
  g_assert_cmpstr (member (c1, "spki"), ==, "sha256:one");
  g_assert_cmpstr (member (c1, "expires"), ==, "2027-01-01T00:00:00Z");
  g_assert_null (member (c1, "revoked"));
  g_assert_null (ops->client_get (store, "0a09", &error));
  g_assert_no_error (error);
  gint64 creds = -1, tokens = -1, clients = -1;
  g_assert_true (ops->counts (store, "2026-06-01T00:00:00Z", &creds, &tokens, &clients));
  g_assert_cmpint (clients, ==, 1);
  g_assert_true (ops->counts (store, "2027-06-01T00:00:00Z", &creds, &tokens, &clients));
  g_assert_cmpint (clients, ==, 0);

  /* Enrolling the name again supersedes the first certificate. */
  g_assert_true (ops->client_code_add (store, "laptop", mac3, "2026-01-03T00:00:00Z",
                                       "2026-01-04T00:00:00Z", 3600, &error));
  g_assert_true (ops->client_enroll (store, mac3, "laptop", "0a02", "sha256:two",
                                     "2026-01-03T01:00:00Z", "2027-01-03T00:00:00Z", &error));
  g_assert_no_error (error);
  json_auto_t *c1b = ops->client_get (store, "0a01", &error);
  g_assert_cmpstr (member (c1b, "revoked"), ==, "2026-01-03T01:00:00Z");
  g_assert_cmpstr (member (c1b, "revokedReason"), ==, "superseded");
  g_assert_true (ops->client_touch (store, "0a02", "2026-01-03T02:00:00Z", &error));
  json_auto_t *c2 = ops->client_get (store, "0a02", &error);
  g_assert_null (member (c2, "revoked"));
  g_assert_cmpstr (member (c2, "lastUsed"), ==, "2026-01-03T02:00:00Z");
  json_auto_t *list = ops->client_list (store, "2026-01-05T00:00:00Z", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_size (list), ==, 2);
  g_assert_cmpstr (member (json_array_get (list, 0), "serial"), ==, "0a01");
  g_assert_cmpstr (member (json_array_get (list, 0), "state"), ==, "superseded");
  g_assert_cmpstr (member (json_array_get (list, 1), "fingerprint"), ==, "sha256:two");
  g_assert_cmpstr (member (json_array_get (list, 1), "state"), ==, "active");
  g_assert_cmpstr (member (json_array_get (list, 1), "lastUsed"), ==, "2026-01-03T02:00:00Z");

  /* Revocation: the live certificate, and the name's pending code. */
  g_assert_true (ops->client_code_add (store, "laptop", mac4, "2026-01-05T00:00:00Z",
                                       "2026-01-06T00:00:00Z", 3600, &error));
  g_assert_true (ops->client_revoke (store, "laptop", "2026-01-05T01:00:00Z", &error));
  g_assert_no_error (error);
  json_auto_t *c2b = ops->client_get (store, "0a02", &error);
  g_assert_cmpstr (member (c2b, "revoked"), ==, "2026-01-05T01:00:00Z");
  g_assert_cmpstr (member (c2b, "revokedReason"), ==, "revoked");
  g_assert_null (ops->client_code_find (store, mac4, "2026-01-05T02:00:00Z", NULL, &error));
  g_assert_no_error (error);
  g_assert_false (ops->client_enroll (store, mac4, "laptop", "0a03", "sha256:three",
                                      "2026-01-05T02:00:00Z", "2027-01-05T00:00:00Z", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (ops->counts (store, "2026-06-01T00:00:00Z", &creds, &tokens, &clients));
  g_assert_cmpint (clients, ==, 0);
  g_assert_false (ops->client_revoke (store, "laptop", "2026-01-05T03:00:00Z", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  /* A name with only a pending code: revoked, the code is gone. */
  g_assert_true (ops->client_code_add (store, "tablet", mac1, "2026-01-05T00:00:00Z",
                                       "2026-01-06T00:00:00Z", 3600, &error));
  g_assert_true (ops->client_revoke (store, "tablet", "2026-01-05T01:00:00Z", &error));
  g_assert_null (ops->client_code_find (store, mac1, "2026-01-05T02:00:00Z", NULL, &error));
  g_assert_no_error (error);
}
