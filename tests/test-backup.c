/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The backup file format (admin/cg-backup.c): round trip, and every way a
 * file can be wrong failing with its own clear error; then a vault's
 * export into a fresh vault against the test keyring (tests/cg-test-env). */
#include "config.h"

#include "tests/cg-test-util.h"

#include "admin/cg-backup.h"
#include "agent/cg-vault-backup.h"
#include "agent/cg-vault.h"
#include "common/cg-error.h"
#include "common/cg-json.h"

#include <string.h>

#define PASS "correct horse battery"
#define CANARY "CANARY-secret-7f3a"

static GBytes *
make_file (void)
{
  g_autoptr (GError) error = NULL;
  json_auto_t *summary = json_pack ("{s:s, s:i}", "created", "2026-01-01T00:00:00Z",
                                    "credentials", 1);
  const char *text = "{\"secret\":\"" CANARY "\"}";
  g_autoptr (CgBuf) payload = cg_buf_new_copy (text, strlen (text));
  GBytes *file = cg_backup_seal (PASS, summary, payload, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (file);
  return file;
}

static void
test_roundtrip (void)
{
  g_autoptr (GBytes) file = make_file ();
  g_autoptr (GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (file, &len);

  g_assert_cmpmem (data, 8, "CGBACKUP", 8);
  /* No plaintext in the file. */
  g_assert_null (memmem (data, len, CANARY, strlen (CANARY)));

  json_auto_t *summary = NULL;
  guint format = 0;
  guint32 iterations = 0;
  g_assert_true (cg_backup_read_header (data, len, &summary, &format, &iterations, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (format, ==, CG_BACKUP_FORMAT);
  g_assert_cmpuint (iterations, >=, 600000);
  g_assert_cmpint (json_integer_value (json_object_get (summary, "credentials")), ==, 1);
  g_assert_true (json_is_integer (json_object_get (summary, "payloadBytes")));

  json_auto_t *summary2 = NULL;
  g_autoptr (CgBuf) plain = cg_backup_open (data, len, PASS, &summary2, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plain);
  g_assert_cmpstr ((const char *) plain->data, ==, "{\"secret\":\"" CANARY "\"}");
  g_assert_true (json_equal (summary, summary2));

  /* Two files of the same payload differ (salt and nonce are random). */
  g_autoptr (GBytes) other = make_file ();
  g_assert_false (g_bytes_equal (file, other));
}

static void
test_wrong_passphrase (void)
{
  g_autoptr (GBytes) file = make_file ();
  g_autoptr (GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (file, &len);
  g_autoptr (CgBuf) plain = cg_backup_open (data, len, "correct horse battery!", NULL, &error);
  g_assert_null (plain);
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_assert_nonnull (strstr (error->message, "wrong passphrase"));
}

/* A changed byte anywhere fails: in the header (salt, nonce, summary) as
 * in the ciphertext and the tag. */
static void
test_tampered (void)
{
  g_autoptr (GBytes) file = make_file ();
  gsize len;
  const guint8 *orig = g_bytes_get_data (file, &len);
  gsize positions[] = { 20, 50, 70, len - 20, len - 1 };
  for (gsize i = 0; i < G_N_ELEMENTS (positions); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree guint8 *copy = g_memdup2 (orig, len);
      copy[positions[i]] ^= 0x01;
      g_autoptr (CgBuf) plain = cg_backup_open (copy, len, PASS, NULL, &error);
      g_assert_null (plain);
      g_assert_nonnull (error);
      g_test_message ("byte %" G_GSIZE_FORMAT ": %s", positions[i], error->message);
    }
}

static void
test_truncated (void)
{
  g_autoptr (GBytes) file = make_file ();
  gsize len;
  const guint8 *data = g_bytes_get_data (file, &len);
  /* Every prefix is refused by the header checks, before any KDF run. */
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (cg_backup_read_header (data, cut, NULL, NULL, NULL, &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      if (cut >= 8)
        g_assert_nonnull (strstr (error->message, "truncated")
                              ? error->message
                              : strstr (error->message, "damaged"));
    }
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *longer = g_malloc0 (len + 3);
  memcpy (longer, data, len);
  g_assert_false (cg_backup_read_header (longer, len + 3, NULL, NULL, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "trailing"));
}

static void
test_newer_format (void)
{
  g_autoptr (GBytes) file = make_file ();
  gsize len;
  const guint8 *orig = g_bytes_get_data (file, &len);
  g_autofree guint8 *copy = g_memdup2 (orig, len);
  copy[8] = 0;
  copy[9] = 2;
  g_autoptr (GError) error = NULL;
  g_assert_null (cg_backup_open (copy, len, PASS, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "newer"));
}

static void
test_garbage (void)
{
  g_autoptr (GError) error = NULL;
  guint8 junk[4096];
  for (gsize i = 0; i < sizeof junk; i++)
    junk[i] = (guint8) g_random_int ();
  g_assert_null (cg_backup_open (junk, sizeof junk, PASS, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "not a credgate backup"));
  g_clear_error (&error);
  g_assert_null (cg_backup_open ((const guint8 *) "", 0, PASS, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
}

static void
test_kdf_bounds (void)
{
  g_autoptr (GError) error = NULL;
  json_auto_t *summary = json_object ();
  g_autoptr (CgBuf) payload = cg_buf_new_copy ("{}", 2);
  /* Too few iterations, too short a passphrase: refused when writing. */
  g_assert_null (cg_backup_seal (PASS, summary, payload, 1000, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (cg_backup_seal ("short", summary, payload, 0, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);

  /* And a header that claims few (or absurdly many) iterations is damaged. */
  g_autoptr (GBytes) file = make_file ();
  gsize len;
  const guint8 *orig = g_bytes_get_data (file, &len);
  g_autofree guint8 *copy = g_memdup2 (orig, len);
  copy[12] = copy[13] = copy[14] = 0;
  copy[15] = 1;
  g_assert_false (cg_backup_read_header (copy, len, NULL, NULL, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);
  copy[12] = 0xff;
  g_assert_false (cg_backup_read_header (copy, len, NULL, NULL, NULL, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
}

/* ---- the vault: export, import into a fresh one -------------------------- */

static void
test_vault_roundtrip (void)
{
  if (!g_getenv ("DBUS_SESSION_BUS_ADDRESS"))
    {
      g_test_fail_printf ("needs the test keyring: run it through tests/cg-test-env (make check does)");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *dir1 = cg_test_fresh_state_dir ("cg-backup");
  g_autofree char *dir2 = cg_test_fresh_state_dir ("cg-backup");
  g_autoptr (CgVault) v1 = cg_vault_open (dir1, &error);
  g_assert_no_error (error);
  json_auto_t *props = json_object ();
  json_auto_t *secret = json_string (CANARY);
  json_auto_t *meta = cg_vault_put (v1, "rec", "generic", props, secret, &error);
  g_assert_no_error (error);
  g_autofree char *jwe = cg_vault_encrypt (v1, (const guint8 *) "sealed-before", 13, "ctx",
                                           &error);
  g_assert_no_error (error);
  g_autofree char *kid2 = cg_vault_key_rotate (v1, &error);
  g_assert_no_error (error);

  json_auto_t *summary = NULL;
  g_autoptr (GBytes) file = cg_vault_backup_export (v1, PASS, 0, NULL, NULL, &summary, &error);
  g_assert_no_error (error);
  gsize len;
  const guint8 *data = g_bytes_get_data (file, &len);
  g_assert_null (memmem (data, len, CANARY, strlen (CANARY)));
  g_assert_cmpuint (json_array_size (json_object_get (summary, "keys")), ==, 2);

  g_autoptr (CgVault) v2 = cg_vault_open (dir2, &error);
  g_assert_no_error (error);
  g_assert_true (cg_vault_keys_ready (v2, &error));
  json_auto_t *result = cg_vault_backup_import (v2, data, len, PASS, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (result, "mode")), ==, "fresh");
  g_assert_cmpstr (json_string_value (json_object_get (result, "kid")), ==, kid2);

  json_auto_t *rec = cg_vault_resolve (v2, "rec", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (rec, "secret")), ==, CANARY);
  g_autoptr (CgBuf) plain = cg_vault_decrypt (v2, jwe, "ctx", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (plain->data, plain->len, "sealed-before", 13);

  /* Now in use: a second plain restore is refused, a merge of the same
   * backup finds identical records and adds nothing. */
  json_t *again = cg_vault_backup_import (v2, data, len, PASS, 0, NULL, &error);
  g_assert_null (again);
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFLICT);
  g_clear_error (&error);
  json_auto_t *merged = cg_vault_backup_import (v2, data, len, PASS, CG_RESTORE_MERGE, NULL,
                                                     &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_integer_value (json_object_get (merged, "credentialsAdded")), ==, 0);
  g_assert_cmpint (json_integer_value (json_object_get (merged, "keysAdded")), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cg_json_use_wiping_allocator ();
  g_test_add_func ("/backup/format/roundtrip", test_roundtrip);
  g_test_add_func ("/backup/format/wrong-passphrase", test_wrong_passphrase);
  g_test_add_func ("/backup/format/tampered", test_tampered);
  g_test_add_func ("/backup/format/truncated", test_truncated);
  g_test_add_func ("/backup/format/newer-format", test_newer_format);
  g_test_add_func ("/backup/format/garbage", test_garbage);
  g_test_add_func ("/backup/format/kdf-bounds", test_kdf_bounds);
  g_test_add_func ("/backup/vault/roundtrip", test_vault_roundtrip);
  return g_test_run ();
}
