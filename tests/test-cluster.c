/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cluster's pieces that need no etcd: cluster.json, join codes and
 * the proof a joining node gives, the wrapping of cluster secrets, and the
 * node key in a real gnome-keyring (tests/cg-test-env). */
#include "config.h"

#include "tests/cg-test-util.h"

#include "agent/cg-cluster-config.h"
#include "agent/cg-cluster-entry.h"
#include "agent/cg-cluster-join.h"
#include "agent/cg-cluster-keys.h"
#include "agent/cg-keystore.h"
#include "agent/cg-vault.h"
#include "common/cg-error.h"
#include "common/cg-json.h"
#include "common/cg-time.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static const char PEM[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

static CgClusterConfig *
sample_config (const char *dir)
{
  CgClusterConfig *cfg = g_new0 (CgClusterConfig, 1);
  cfg->id = g_strdup ("AAAAAAAAAAAAAAAAAAAAAA");
  cfg->name = g_strdup ("gw1");
  cfg->address = g_strdup ("gw1.example:8443");
  cfg->since = g_strdup ("2026-12-02T06:00:00Z");
  const char *eps[] = { "https://e1:2379", "https://e2:2379", NULL };
  cfg->endpoints = g_strdupv ((char **) eps);
  g_autoptr (GError) error = NULL;
  g_assert_true (cg_cluster_config_install_files (cfg, dir, PEM, PEM, PEM, &error));
  g_assert_no_error (error);
  return cfg;
}

static void
test_config_roundtrip (void)
{
  g_autofree char *dir = cg_test_make_tmpdir ("cluster-config");
  g_autoptr (GError) error = NULL;

  /* No cluster.json: a single node, no error. */
  g_assert_null (cg_cluster_config_load (dir, &error));
  g_assert_no_error (error);
  g_assert_false (cg_cluster_config_exists (dir));

  g_autoptr (CgClusterConfig) cfg = sample_config (dir);
  g_autofree char *key = g_build_filename (dir, "cluster", "key.pem", NULL);
  struct stat st;
  g_assert_cmpint (stat (key, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (cg_cluster_config_save (cfg, dir, &error));
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "cluster.json", NULL);
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_autoptr (CgClusterConfig) back = cg_cluster_config_load (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  g_assert_cmpstr (back->id, ==, cfg->id);
  g_assert_cmpstr (back->name, ==, "gw1");
  g_assert_cmpstr (back->address, ==, "gw1.example:8443");
  g_assert_cmpuint (g_strv_length (back->endpoints), ==, 2);
  g_assert_cmpstr (back->key_file, ==, key);
  /* The paths are kept relative: the state directory may move. */
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"key\": \"cluster/key.pem\""));

  /* Readable by others: refused, not used. */
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  g_assert_null (cg_cluster_config_load (dir, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_clear_error (&error);
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);

  /* A file it names is gone: an error, never a single node again. */
  g_assert_cmpint (g_unlink (key), ==, 0);
  g_assert_null (cg_cluster_config_load (dir, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "missing"));
  g_clear_error (&error);

  /* Damaged. */
  g_assert_true (g_file_set_contents (path, "{\"id\": 1}", -1, NULL));
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  g_assert_null (cg_cluster_config_load (dir, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_clear_error (&error);
  cg_test_rm_rf (dir);
}

static void
test_config_refusals (void)
{
  g_autoptr (GError) error = NULL;
  const char *bad[][3] = {
    { "http://e1:2379", NULL, NULL },
    { "https://", NULL, NULL },
    { "https://e1:2379/v3", NULL, NULL },
    { "https://user@e1:2379", NULL, NULL },
    { NULL, NULL, NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (cg_cluster_config_check_endpoints (bad[i], &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
      g_clear_error (&error);
    }
  const char *good[] = { "https://127.0.0.1:2379", "https://[::1]:2379", NULL };
  g_assert_true (cg_cluster_config_check_endpoints (good, &error));
  g_assert_no_error (error);

  /* Not PEM: refused, and the message never quotes the text (a key). */
  g_autofree char *dir = cg_test_make_tmpdir ("cluster-pem");
  g_autoptr (CgClusterConfig) cfg = g_new0 (CgClusterConfig, 1);
  g_assert_false (cg_cluster_config_install_files (cfg, dir, PEM, PEM, "secret-key-text", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_assert_null (strstr (error->message, "secret-key-text"));
  cg_test_rm_rf (dir);
}

static void
test_code (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = cg_cluster_new_id (&error);
  g_assert_cmpuint (strlen (id), ==, 22);
  g_autofree char *text = NULL;
  g_autoptr (CgClusterCode) code = cg_cluster_code_new (id, &text, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (text), ==, CG_CLUSTER_CODE_LEN);
  g_assert_true (g_str_has_prefix (text, "cgj_"));

  g_autoptr (CgClusterCode) parsed = cg_cluster_code_parse (text, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (parsed->cluster_id, ==, id);
  g_assert_cmpstr (parsed->code_id, ==, code->code_id);

  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *hmac = cg_cluster_code_hmac (code);
  g_autofree char *later = cg_time_rfc3339 (now + 60);
  g_autofree char *earlier = cg_time_rfc3339 (now - 1);
  json_auto_t *members = json_pack ("{s:s, s:s}", "gw1", "kid-1", "gw2", "kid-2");
  g_autofree char *members_mac = cg_cluster_code_members_mac (code, members);
  json_auto_t *entry = json_pack ("{s:s, s:s, s:O, s:s}", "hmac", hmac, "expires", later,
                                  "members", members, "membersMac", members_mac);
  g_assert_true (cg_cluster_code_check (parsed, entry, now, &error));
  g_assert_no_error (error);
  /* The member list is bound to the code: a member added (one written
   * into etcd, to receive a proof), a key swapped, or the list or its MAC
   * dropped, and the code is refused. */
  {
    json_auto_t *copy = json_deep_copy (entry);
    json_object_set_new (json_object_get (copy, "members"), "evil", json_string ("kid-e"));
    g_assert_false (cg_cluster_code_check (parsed, copy, now, &error));
    g_assert_error (error, CG_ERROR, CG_ERROR_JOIN_REFUSED);
    g_clear_error (&error);
    json_object_del (json_object_get (copy, "members"), "evil");
    g_assert_true (cg_cluster_code_check (parsed, copy, now, NULL));
    json_object_set_new (json_object_get (copy, "members"), "gw2", json_string ("kid-e"));
    g_assert_false (cg_cluster_code_check (parsed, copy, now, NULL));
    json_object_set_new (json_object_get (copy, "members"), "gw2", json_string ("kid-2"));
    json_object_del (copy, "membersMac");
    g_assert_false (cg_cluster_code_check (parsed, copy, now, NULL));
    json_object_set_new (copy, "membersMac", json_string (members_mac));
    json_object_del (copy, "members");
    g_assert_false (cg_cluster_code_check (parsed, copy, now, NULL));
    /* The order the names come in does not matter. */
    json_object_set_new (copy, "members", json_pack ("{s:s, s:s}", "gw2", "kid-2", "gw1", "kid-1"));
    g_assert_true (cg_cluster_code_check (parsed, copy, now, NULL));
  }
  /* The secret is nowhere in the entry. */
  g_autofree char *dump = cg_json_dump (entry);
  g_assert_null (strstr (dump, text + 4 + 44));

  /* Expired. */
  json_object_set_new (entry, "expires", json_string (earlier));
  g_assert_false (cg_cluster_code_check (parsed, entry, now, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_JOIN_REFUSED);
  g_clear_error (&error);
  json_object_set_new (entry, "expires", json_string (later));

  /* Forged: one bit of the secret changed. */
  parsed->secret->data[5] ^= 1;
  g_assert_false (cg_cluster_code_check (parsed, entry, now, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_JOIN_REFUSED);
  g_assert_cmpstr (error->message, ==, CG_CLUSTER_JOIN_REFUSED);
  g_clear_error (&error);

  /* Malformed texts, one message. */
  const char *bad[] = { "", "cgj_", "cge_x", "cgj_!!!!", NULL };
  for (gsize i = 0; bad[i]; i++)
    {
      g_assert_null (cg_cluster_code_parse (bad[i], &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_JOIN_REFUSED);
      g_clear_error (&error);
    }
  g_autofree char *longer = g_strconcat (text, "A", NULL);
  g_assert_null (cg_cluster_code_parse (longer, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_JOIN_REFUSED);
}

static void
test_proof (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgSealKey) member = cg_seal_key_generate (&error);
  g_autoptr (CgSealKey) other = cg_seal_key_generate (&error);
  g_autoptr (CgSealKey) joiner = cg_seal_key_generate (&error);
  g_autofree char *id = cg_cluster_new_id (&error);
  g_autofree char *text = NULL;
  g_autoptr (CgClusterCode) code = cg_cluster_code_new (id, &text, &error);
  const char *kid = cg_seal_key_get_kid (joiner);

  g_autofree char *proof = cg_cluster_proof_seal (member, code, "gw2", kid, &error);
  g_assert_no_error (error);
  g_autoptr (CgClusterCode) opened
      = cg_cluster_proof_open (member, proof, id, code->code_id, "gw2", kid, &error);
  g_assert_no_error (error);
  g_assert_true (cg_equal_ct (opened->secret->data, code->secret->data, 32));

  /* Another name, another key, another code id, another member: refused. */
  struct
  {
    CgSealKey *key;
    const char *code_id, *name, *kid;
  } wrong[] = {
    { member, code->code_id, "gw3", kid },
    { member, code->code_id, "gw2", cg_seal_key_get_kid (other) },
    { member, "AAAAAAAAAAAAAAAAAAAAAA", "gw2", kid },
    { other, code->code_id, "gw2", kid },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (wrong); i++)
    {
      g_assert_null (cg_cluster_proof_open (wrong[i].key, proof, id, wrong[i].code_id,
                                            wrong[i].name, wrong[i].kid, &error));
      g_assert_error (error, CG_ERROR, CG_ERROR_JOIN_REFUSED);
      g_clear_error (&error);
    }
}

static void
test_wrap (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgSealKey) node = cg_seal_key_generate (&error);
  g_autoptr (CgSealKey) other = cg_seal_key_generate (&error);
  g_autoptr (CgBuf) secret = cg_buf_new (32);
  memset (secret->data, 0x5a, 32);
  json_auto_t *pub_jwk = cg_seal_key_to_public_jwk (node);
  json_auto_t *entry = json_pack ("{s:O}", "pub", pub_jwk);
  g_autoptr (CgSealKey) pub = cg_cluster_node_pub (entry, &error);
  g_assert_no_error (error);
  g_assert_false (cg_seal_key_has_private (pub));

  g_autofree char *jwe = cg_cluster_wrap (pub, "seal/abc", secret, &error);
  g_assert_no_error (error);
  g_assert_null (strstr (jwe, "ZZZZ"));
  g_autoptr (CgBuf) back = cg_cluster_unwrap (node, "seal/abc", jwe, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->len, ==, 32);
  g_assert_true (cg_equal_ct (back->data, secret->data, 32));

  /* Bound to its id and its node. */
  g_assert_null (cg_cluster_unwrap (node, "master/0", jwe, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_DECRYPT);
  g_clear_error (&error);
  g_assert_null (cg_cluster_unwrap (other, "seal/abc", jwe, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* A node entry with a private key is refused. */
  json_auto_t *priv = cg_seal_key_to_private_jwk (node);
  json_auto_t *bad = json_pack ("{s:O}", "pub", priv);
  g_assert_null (cg_cluster_node_pub (bad, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (cg_cluster_secret_id_valid ("master/0"));
  g_assert_true (cg_cluster_secret_id_valid ("seal/kid-1_2"));
  g_assert_true (cg_cluster_secret_id_valid ("token"));
  g_assert_true (cg_cluster_secret_id_valid ("clientca"));
  g_assert_false (cg_cluster_secret_id_valid ("clientca/x"));
  g_assert_false (cg_cluster_secret_id_valid ("seal/"));
  g_assert_false (cg_cluster_secret_id_valid ("seal/a/b"));
  g_assert_false (cg_cluster_secret_id_valid ("node/x"));
  g_assert_false (cg_cluster_secret_id_valid ("master/.."));
}

/* Node entry MACs (cg-cluster-entry.h): the key and the canonical bytes
 * are fixed (known answers, computed apart with Python's hmac), so members
 * of different builds agree; every field the MAC covers changes it, and the
 * encoding tells apart what plain concatenation would not. */
static void
test_entry_mac (void)
{
  static const char x[] = "cLKYNbwmUpleZDDpGlKnAaYhtZZcIsGdW-ZSAOw-Vg8";
  static const char y[] = "hcl-GpEzscPIfIn3msi-hvx9_s87sb0_TIQP2zns7B8";
  g_autoptr (GError) error = NULL;
  g_autoptr (CgBuf) master = cg_buf_new (32);
  memset (master->data, 0x11, 32);
  g_autoptr (CgBuf) key = cg_cluster_entry_key (master);
  g_autofree char *key_hex = g_malloc0 (65);
  for (gsize i = 0; i < key->len; i++)
    g_snprintf (key_hex + 2 * i, 3, "%02x", key->data[i]);
  g_assert_cmpstr (key_hex, ==, "da01fd7f98ae87a466d3dba1c15481322ee0baf9b5a7b01fe069043f37b6a5d8");

  json_auto_t *entry = json_pack ("{s:s, s:{s:s, s:s, s:s, s:s}, s:s, s:s, s:s}", "name", "gw2",
                                  "pub", "kty", "EC", "crv", "P-256", "x", x, "y", y, "address",
                                  "gw2:8050", "pin", "sha256:PIN", "joined",
                                  "2026-12-02T10:00:00Z");
  g_autoptr (GBytes) text = cg_cluster_entry_canonical (CG_CLUSTER_ENTRY_NODE, "CID", "gw2", entry,
                                                        &error);
  g_assert_no_error (error);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (text, &len);
  g_autofree char *hex = g_malloc0 (2 * len + 1);
  for (gsize i = 0; i < len; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", data[i]);
  g_assert_cmpstr (hex, ==,
                   "01000000046e6f646501000000034349440100000003677732010000002b387432755165777145"
                   "454735484c6c7159727564636c2d554a6b344e5555744a6866427030434b6d52484d0100000008"
                   "6777323a38303530010000000a7368613235363a50494e0100000014323032362d31322d303254"
                   "31303a30303a30305a00");
  g_assert_true (cg_cluster_entry_seal (CG_CLUSTER_ENTRY_NODE, key, "CID", "gw2", entry, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_value (json_object_get (entry, "mac")), ==,
                   "opHqUhA5OcESkcCl7OuirFXEfpvYuCY__xljCJ_RfKI");
  g_assert_true (cg_cluster_entry_verify (CG_CLUSTER_ENTRY_NODE, key, "CID", "gw2", entry));
  /* Fields the MAC does not cover (a heartbeat's counters) change nothing. */
  json_object_set_new (entry, "extra", json_integer (1));
  g_assert_true (cg_cluster_entry_verify (CG_CLUSTER_ENTRY_NODE, key, "CID", "gw2", entry));

  /* Another cluster, another key name, another master key: no. */
  g_assert_false (cg_cluster_entry_verify (CG_CLUSTER_ENTRY_NODE, key, "CID2", "gw2", entry));
  g_assert_false (cg_cluster_entry_verify (CG_CLUSTER_ENTRY_NODE, key, "CID", "gw3", entry));
  g_assert_false (cg_cluster_entry_verify (CG_CLUSTER_ENTRY_NODE, NULL, "CID", "gw2", entry));
  g_autoptr (CgBuf) master2 = cg_buf_new (32);
  memset (master2->data, 0x12, 32);
  g_autoptr (CgBuf) key2 = cg_cluster_entry_key (master2);
  g_assert_false (cg_cluster_entry_verify (CG_CLUSTER_ENTRY_NODE, key2, "CID", "gw2", entry));

  /* Each covered field changed, added or dropped: no. */
  struct
  {
    const char *field, *value; /* value NULL: dropped */
  } changes[] = {
    { "address", "evil:8050" }, { "pin", "sha256:EVIL" }, { "pin", "" }, { "pin", NULL },
    { "joined", "2026-12-02T10:00:01Z" }, { "admittedBy", "gw1" }, { "mac", "x" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (changes); i++)
    {
      json_auto_t *copy = json_deep_copy (entry);
      if (changes[i].value)
        json_object_set_new (copy, changes[i].field, json_string (changes[i].value));
      else
        json_object_del (copy, changes[i].field);
      g_assert_false (cg_cluster_entry_verify (CG_CLUSTER_ENTRY_NODE, key, "CID", "gw2", copy));
    }
  /* Another public key in "pub" (the tampered entry of a real member). */
  g_autoptr (CgSealKey) other = cg_seal_key_generate (&error);
  json_auto_t *swapped = json_deep_copy (entry);
  json_object_set_new (swapped, "pub", cg_seal_key_to_public_jwk (other));
  g_assert_false (cg_cluster_entry_verify (CG_CLUSTER_ENTRY_NODE, key, "CID", "gw2", swapped));

  /* Length-prefixed: moving bytes between fields is another entry. */
  json_auto_t *a = json_pack ("{s:s, s:s}", "address", "ab", "pin", "c");
  json_auto_t *b = json_pack ("{s:s, s:s}", "address", "a", "pin", "bc");
  g_assert_true (cg_cluster_entry_seal (CG_CLUSTER_ENTRY_ALIVE, key, "CID", "gw2", a, &error));
  json_object_set (b, "mac", json_object_get (a, "mac"));
  g_assert_false (cg_cluster_entry_verify (CG_CLUSTER_ENTRY_ALIVE, key, "CID", "gw2", b));
  g_assert_true (cg_cluster_entry_verify (CG_CLUSTER_ENTRY_ALIVE, key, "CID", "gw2", a));

  /* Refused before any MAC: a "name" that is not the key's, a field that is
   * not a string, a private key or no key in "pub". */
  g_assert_null (cg_cluster_entry_canonical (CG_CLUSTER_ENTRY_NODE, "CID", "gw3", entry, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);
  json_auto_t *number = json_pack ("{s:i}", "pin", 5);
  g_assert_null (cg_cluster_entry_canonical (CG_CLUSTER_ENTRY_ALIVE, "CID", "gw2", number, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);
  json_auto_t *priv = json_pack ("{s:o}", "pub", cg_seal_key_to_private_jwk (other));
  g_assert_null (cg_cluster_entry_canonical (CG_CLUSTER_ENTRY_NODE, "CID", "gw2", priv, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);
  json_auto_t *nopub = json_pack ("{s:s}", "address", "gw2:8050");
  g_assert_false (cg_cluster_entry_seal (CG_CLUSTER_ENTRY_NODE, key, "CID", "gw2", nopub, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (cg_cluster_entry_verify (CG_CLUSTER_ENTRY_NODE, key, "CID", "gw2", nopub));

  /* A secret's voucher binds the cluster, the secret id and its bytes. */
  g_autoptr (CgBuf) secret = cg_buf_new (32);
  memset (secret->data, 0x33, 32);
  g_autofree char *v1 = cg_cluster_secret_mac (key, "CID", "master/abc", secret);
  g_autofree char *same = cg_cluster_secret_mac (key, "CID", "master/abc", secret);
  g_assert_cmpstr (v1, ==, same);
  g_autofree char *other_id = cg_cluster_secret_mac (key, "CID", "master/abd", secret);
  g_autofree char *other_cluster = cg_cluster_secret_mac (key, "CIE", "master/abc", secret);
  g_autofree char *other_key = cg_cluster_secret_mac (key2, "CID", "master/abc", secret);
  secret->data[31] ^= 1;
  g_autofree char *other_secret = cg_cluster_secret_mac (key, "CID", "master/abc", secret);
  g_assert_cmpstr (v1, !=, other_id);
  g_assert_cmpstr (v1, !=, other_cluster);
  g_assert_cmpstr (v1, !=, other_key);
  g_assert_cmpstr (v1, !=, other_secret);
}

/* The node key: made once in an unlocked keyring, the same afterwards;
 * the cluster's secrets read back from the keyring and token.key. */
static void
test_node_key (void)
{
  g_autofree char *dir = cg_test_fresh_state_dir ("cluster-node");
  g_autoptr (GError) error = NULL;
  g_autoptr (CgVault) vault = cg_vault_open (dir, &error);
  g_assert_no_error (error);
  g_assert_true (cg_vault_keys_ready (vault, &error));

  g_assert_null (cg_cluster_node_key (vault, FALSE, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING);
  g_clear_error (&error);
  g_autoptr (CgSealKey) made = cg_cluster_node_key (vault, TRUE, &error);
  g_assert_no_error (error);
  g_autoptr (CgSealKey) again = cg_cluster_node_key (vault, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cg_seal_key_get_kid (made), ==, cg_seal_key_get_kid (again));

  g_autoptr (GPtrArray) ids = cg_cluster_secret_ids (vault, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, ==, 4); /* master/0, seal/<kid>, token, clientca */
  g_assert_cmpstr (ids->pdata[3], ==, "clientca");
  g_autoptr (GPtrArray) needed = cg_cluster_secret_ids (vault, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (needed->len, ==, 4);
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr (CgBuf) s = cg_cluster_secret_read (vault, ids->pdata[i], &error);
      g_assert_no_error (error);
      g_assert_cmpuint (s->len, ==, 32);
    }
  g_assert_null (cg_cluster_secret_read (vault, "seal/not-there", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING);
  g_clear_error (&error);

  /* A held client CA key gives way to a wrapped one only when the wrapped
   * one is the key of the CA certificate the store holds and the held one
   * is not; never for another secret. */
  g_autoptr (CgBuf) ca = cg_cluster_secret_read (vault, "clientca", &error);
  g_assert_no_error (error);
  g_autoptr (CgBuf) other = cg_buf_new (32);
  memset (other->data, 9, 32);
  g_assert_false (cg_cluster_secret_replaces (vault, "clientca", ca, other));
  g_assert_true (cg_cluster_secret_replaces (vault, "clientca", other, ca));
  g_assert_false (cg_cluster_secret_replaces (vault, "clientca", ca, ca));
  g_assert_false (cg_cluster_secret_replaces (vault, "token", other, ca));

  /* A token key installed: in the file (0600) and in use at once. */
  g_autofree char *token = cg_vault_token_create (vault, "t", &error);
  g_autofree char *who = cg_vault_token_check (vault, token);
  g_assert_cmpstr (who, ==, "t");
  g_autoptr (CgBuf) tk = cg_buf_new (32);
  memset (tk->data, 7, 32);
  g_assert_true (cg_cluster_secret_install (vault, "token", tk, &error));
  g_assert_no_error (error);
  g_autoptr (CgBuf) read = cg_cluster_secret_read (vault, "token", &error);
  g_assert_true (cg_equal_ct (read->data, tk->data, 32));
  g_assert_null (cg_vault_token_check (vault, token));
  cg_wipe_str (g_steal_pointer (&token));
  cg_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  cg_json_use_wiping_allocator ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cluster/config/roundtrip", test_config_roundtrip);
  g_test_add_func ("/cluster/config/refusals", test_config_refusals);
  g_test_add_func ("/cluster/code", test_code);
  g_test_add_func ("/cluster/proof", test_proof);
  g_test_add_func ("/cluster/wrap", test_wrap);
  g_test_add_func ("/cluster/entry-mac", test_entry_mac);
  g_test_add_func ("/cluster/node-key", test_node_key);
  return g_test_run ();
}
