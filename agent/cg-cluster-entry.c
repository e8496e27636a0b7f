/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* MACs on the cluster's node entries and heartbeats under the master key. */
#include "config.h"

#include "agent/cg-cluster-entry.h"
#include "agent/cg-cluster-keys.h"
#include "common/cg-error.h"
#include "jose/cg-b64.h"

#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <string.h>

#define MAC_KEY_LEN SHA256_DIGEST_SIZE

CgBuf *
cg_cluster_entry_key (const CgBuf *master)
{
  struct hmac_sha256_ctx ctx;
  guint8 prk[SHA256_DIGEST_SIZE];
  CgBuf *key = cg_buf_new (MAC_KEY_LEN);
  /* RFC 5869 with an empty salt (a zero block): the master key is uniform. */
  hmac_sha256_set_key (&ctx, 0, (const guint8 *) "");
  hkdf_extract (&ctx, (nettle_hash_update_func *) hmac_sha256_update,
                (nettle_hash_digest_func *) hmac_sha256_digest, SHA256_DIGEST_SIZE, master->len,
                master->data, prk);
  hmac_sha256_set_key (&ctx, sizeof prk, prk);
  hkdf_expand (&ctx, (nettle_hash_update_func *) hmac_sha256_update,
               (nettle_hash_digest_func *) hmac_sha256_digest, SHA256_DIGEST_SIZE,
               strlen (CG_CLUSTER_ENTRY_LABEL), (const guint8 *) CG_CLUSTER_ENTRY_LABEL,
               key->len, key->data);
  cg_wipe (prk, sizeof prk);
  cg_wipe (&ctx, sizeof ctx);
  return key;
}

/* One field: a presence byte, then (when present) its length (4 bytes,
 * big-endian) and bytes. */
static void
add_field (GByteArray *out, const char *value)
{
  guint8 head[5] = { value != NULL, 0, 0, 0, 0 };
  if (!value)
    {
      g_byte_array_append (out, head, 1);
      return;
    }
  guint32 len = (guint32) strlen (value);
  head[1] = len >> 24;
  head[2] = len >> 16;
  head[3] = len >> 8;
  head[4] = len;
  g_byte_array_append (out, head, sizeof head);
  g_byte_array_append (out, (const guint8 *) value, len);
}

static void
add_bytes (GByteArray *out, const guint8 *data, gsize len)
{
  guint8 head[5] = { 1, len >> 24, len >> 16, len >> 8, len };
  g_byte_array_append (out, head, sizeof head);
  g_byte_array_append (out, data, len);
}

static char *
mac_of (const CgBuf *key, const guint8 *data, gsize len)
{
  struct hmac_sha256_ctx ctx;
  guint8 mac[SHA256_DIGEST_SIZE];
  hmac_sha256_set_key (&ctx, key->len, key->data);
  hmac_sha256_update (&ctx, len, data);
  hmac_sha256_digest (&ctx, sizeof mac, mac);
  cg_wipe (&ctx, sizeof ctx);
  return cg_b64url_encode (mac, sizeof mac);
}

char *
cg_cluster_secret_mac (const CgBuf *key, const char *cluster_id, const char *secret_id,
                       const CgBuf *secret)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  add_field (out, "secret");
  add_field (out, cluster_id);
  add_field (out, secret_id);
  add_bytes (out, secret->data, secret->len);
  char *mac = mac_of (key, out->data, out->len);
  cg_wipe (out->data, out->len);
  return mac;
}

/* @entry's string @field, or NULL when absent or null; FALSE when it is
 * something else. */
static gboolean
string_field (json_t *entry, const char *field, const char **out, GError **error)
{
  json_t *v = json_object_get (entry, field);
  *out = json_string_value (v);
  if (v && !json_is_null (v) && !*out)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "the entry's \"%s\" is not a string",
                   field);
      return FALSE;
    }
  return TRUE;
}

GBytes *
cg_cluster_entry_canonical (CgClusterEntryKind kind, const char *cluster_id, const char *name,
                            json_t *entry, GError **error)
{
  static const char *const node_fields[] = { "address", "pin", "joined", "admittedBy", NULL };
  static const char *const alive_fields[] = { "address", "pin", "time", NULL };
  if (!json_is_object (entry))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "the entry is not an object");
      return NULL;
    }
  /* A "name" inside must be the key's: the MAC covers the key's. */
  const char *inner = NULL;
  if (!string_field (entry, "name", &inner, error))
    return NULL;
  if (inner && !g_str_equal (inner, name))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "the entry names another node than its key");
      return NULL;
    }
  g_autoptr (GByteArray) out = g_byte_array_new ();
  add_field (out, kind == CG_CLUSTER_ENTRY_NODE ? "node" : "alive");
  add_field (out, cluster_id);
  add_field (out, name);
  if (kind == CG_CLUSTER_ENTRY_NODE)
    {
      g_autoptr (CgSealKey) pub = cg_cluster_node_pub (entry, error);
      if (!pub)
        return NULL;
      add_field (out, cg_seal_key_get_kid (pub));
    }
  for (const char *const *f = kind == CG_CLUSTER_ENTRY_NODE ? node_fields : alive_fields; *f; f++)
    {
      const char *value = NULL;
      if (!string_field (entry, *f, &value, error))
        return NULL;
      add_field (out, value);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* The MAC of @entry under @key, base64url (transfer full). */
static char *
entry_mac (CgClusterEntryKind kind, const CgBuf *key, const char *cluster_id, const char *name,
           json_t *entry, GError **error)
{
  g_autoptr (GBytes) text = cg_cluster_entry_canonical (kind, cluster_id, name, entry, error);
  if (!text)
    return NULL;
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (text, &len);
  return mac_of (key, data, len);
}

gboolean
cg_cluster_entry_seal (CgClusterEntryKind kind, const CgBuf *key, const char *cluster_id,
                       const char *name, json_t *entry, GError **error)
{
  char *mac = entry_mac (kind, key, cluster_id, name, entry, error);
  if (!mac)
    return FALSE;
  json_object_set_new (entry, "mac", json_string (mac));
  g_free (mac);
  return TRUE;
}

gboolean
cg_cluster_entry_verify (CgClusterEntryKind kind, const CgBuf *key, const char *cluster_id,
                         const char *name, json_t *entry)
{
  const char *have = json_string_value (json_object_get (entry, "mac"));
  if (!key || !have)
    return FALSE;
  g_autofree char *want = entry_mac (kind, key, cluster_id, name, entry, NULL);
  return want && strlen (have) == strlen (want) && cg_equal_ct (have, want, strlen (want));
}
