/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Join codes and the proof a joining node gives with its key. */
#include "config.h"

#include "agent/cg-cluster-join.h"
#include "common/cg-error.h"
#include "common/cg-json.h"
#include "common/cg-time.h"
#include "jose/cg-b64.h"
#include "jose/cg-jwe.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/hmac.h>
#include <string.h>

#define ID_RAW CG_CLUSTER_ID_RAW
#define SECRET_RAW 32
#define RAW_LEN (ID_RAW + ID_RAW + SECRET_RAW)

void
cg_cluster_code_free (CgClusterCode *code)
{
  if (!code)
    return;
  g_free (code->cluster_id);
  g_free (code->code_id);
  cg_buf_free (code->secret);
  g_free (code);
}

static gboolean
refused (GError **error)
{
  g_set_error_literal (error, CG_ERROR, CG_ERROR_JOIN_REFUSED, CG_CLUSTER_JOIN_REFUSED);
  return FALSE;
}

char *
cg_cluster_new_id (GError **error)
{
  guint8 raw[ID_RAW];
  if (gnutls_rnd (GNUTLS_RND_NONCE, raw, sizeof raw) < 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "no randomness");
      return NULL;
    }
  return cg_b64url_encode (raw, sizeof raw);
}

static CgClusterCode *
code_from_raw (const guint8 *raw)
{
  CgClusterCode *code = g_new0 (CgClusterCode, 1);
  code->cluster_id = cg_b64url_encode (raw, ID_RAW);
  code->code_id = cg_b64url_encode (raw + ID_RAW, ID_RAW);
  code->secret = cg_buf_new_copy (raw + 2 * ID_RAW, SECRET_RAW);
  return code;
}

CgClusterCode *
cg_cluster_code_new (const char *cluster_id, char **text, GError **error)
{
  guint8 raw[RAW_LEN];
  gsize idlen = 0;
  g_autofree guint8 *id = cg_b64url_decode (cluster_id, strlen (cluster_id), &idlen);
  if (!id || idlen != ID_RAW)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "the cluster id is damaged");
      return NULL;
    }
  memcpy (raw, id, ID_RAW);
  if (gnutls_rnd (GNUTLS_RND_NONCE, raw + ID_RAW, ID_RAW) < 0
      || gnutls_rnd (GNUTLS_RND_KEY, raw + 2 * ID_RAW, SECRET_RAW) < 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "no randomness");
      return NULL;
    }
  g_autofree char *b64 = cg_b64url_encode (raw, sizeof raw);
  *text = g_strconcat (CG_CLUSTER_CODE_PREFIX, b64, NULL);
  cg_wipe (b64, strlen (b64));
  CgClusterCode *code = code_from_raw (raw);
  cg_wipe (raw, sizeof raw);
  return code;
}

CgClusterCode *
cg_cluster_code_parse (const char *text, GError **error)
{
  gsize len = text ? strlen (text) : 0;
  if (len != CG_CLUSTER_CODE_LEN || !g_str_has_prefix (text, CG_CLUSTER_CODE_PREFIX))
    {
      refused (error);
      return NULL;
    }
  gsize rawlen = 0;
  guint8 *raw = cg_b64url_decode (text + 4, len - 4, &rawlen);
  CgClusterCode *code = raw && rawlen == RAW_LEN ? code_from_raw (raw) : NULL;
  if (raw)
    {
      cg_wipe (raw, rawlen);
      g_free (raw);
    }
  if (!code)
    refused (error);
  return code;
}

char *
cg_cluster_code_hmac (const CgClusterCode *code)
{
  struct hmac_sha256_ctx ctx;
  guint8 mac[SHA256_DIGEST_SIZE];
  static const char label[] = "credgate cluster join ";
  hmac_sha256_set_key (&ctx, code->secret->len, code->secret->data);
  hmac_sha256_update (&ctx, strlen (label), (const guint8 *) label);
  hmac_sha256_update (&ctx, strlen (code->code_id), (const guint8 *) code->code_id);
  hmac_sha256_digest (&ctx, sizeof mac, mac);
  cg_wipe (&ctx, sizeof ctx);
  return cg_b64url_encode (mac, sizeof mac);
}

static void
mac_field (struct hmac_sha256_ctx *ctx, const char *value)
{
  guint32 len = (guint32) strlen (value);
  guint8 head[4] = { len >> 24, len >> 16, len >> 8, len };
  hmac_sha256_update (ctx, sizeof head, head);
  hmac_sha256_update (ctx, len, (const guint8 *) value);
}

static gint
by_name (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

char *
cg_cluster_code_members_mac (const CgClusterCode *code, json_t *members)
{
  static const char label[] = "credgate cluster join members v1";
  struct hmac_sha256_ctx ctx;
  guint8 mac[SHA256_DIGEST_SIZE];
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  const char *name;
  json_t *kid;
  json_object_foreach (members, name, kid)
    g_ptr_array_add (names, (gpointer) name);
  g_ptr_array_sort (names, by_name);
  hmac_sha256_set_key (&ctx, code->secret->len, code->secret->data);
  hmac_sha256_update (&ctx, strlen (label), (const guint8 *) label);
  for (guint i = 0; i < names->len; i++)
    {
      const char *k = json_string_value (json_object_get (members, names->pdata[i]));
      mac_field (&ctx, names->pdata[i]);
      mac_field (&ctx, k ? k : "");
    }
  hmac_sha256_digest (&ctx, sizeof mac, mac);
  cg_wipe (&ctx, sizeof ctx);
  return cg_b64url_encode (mac, sizeof mac);
}

gboolean
cg_cluster_code_check (const CgClusterCode *code, json_t *entry, gint64 now, GError **error)
{
  const char *hmac = json_string_value (json_object_get (entry, "hmac"));
  const char *expires = json_string_value (json_object_get (entry, "expires"));
  gint64 until = 0;
  if (!hmac || !expires || !cg_time_parse_rfc3339 (expires, &until) || until <= now)
    return refused (error);
  g_autofree char *want = cg_cluster_code_hmac (code);
  if (strlen (hmac) != strlen (want) || !cg_equal_ct (hmac, want, strlen (want)))
    return refused (error);
  json_t *members = json_object_get (entry, "members");
  const char *mac = json_string_value (json_object_get (entry, "membersMac"));
  if (!json_is_object (members) || json_object_size (members) == 0 || !mac)
    return refused (error);
  g_autofree char *want_members = cg_cluster_code_members_mac (code, members);
  if (strlen (mac) != strlen (want_members) || !cg_equal_ct (mac, want_members, strlen (mac)))
    return refused (error);
  return TRUE;
}

static char *
proof_ctx (const char *code_id)
{
  return g_strdup_printf ("cluster-join:%s", code_id);
}

char *
cg_cluster_proof_seal (CgSealKey *member_pub, const CgClusterCode *code, const char *name,
                       const char *kid, GError **error)
{
  g_autofree char *secret = cg_b64url_encode (code->secret->data, code->secret->len);
  json_auto_t *body = json_pack ("{s:s, s:s, s:s}", "secret", secret, "name", name, "kid", kid);
  cg_wipe (secret, strlen (secret));
  char *text = cg_json_dump (body);
  g_autofree char *ctx = proof_ctx (code->code_id);
  char *jwe = cg_jwe_seal (member_pub, ctx, (const guint8 *) text, strlen (text), error);
  cg_wipe_str (text);
  return jwe;
}

CgClusterCode *
cg_cluster_proof_open (CgSealKey *member_key, const char *jwe, const char *cluster_id,
                       const char *code_id, const char *name, const char *kid, GError **error)
{
  g_autofree char *ctx = proof_ctx (code_id);
  g_autoptr (CgBuf) plain = cg_jwe_open (member_key, jwe, strlen (jwe), ctx, NULL);
  if (!plain)
    {
      refused (error);
      return NULL;
    }
  json_auto_t *body = cg_json_load_strict ((const char *) plain->data, plain->len, NULL);
  const char *secret = NULL, *pname = NULL, *pkid = NULL;
  if (!body
      || json_unpack (body, "{s:s, s:s, s:s}", "secret", &secret, "name", &pname, "kid", &pkid)
             < 0
      || !g_str_equal (pname, name) || !g_str_equal (pkid, kid))
    {
      refused (error);
      return NULL;
    }
  gsize len = 0;
  guint8 *raw = cg_b64url_decode (secret, strlen (secret), &len);
  CgClusterCode *code = NULL;
  if (raw && len == SECRET_RAW)
    {
      code = g_new0 (CgClusterCode, 1);
      code->cluster_id = g_strdup (cluster_id);
      code->code_id = g_strdup (code_id);
      code->secret = cg_buf_new_copy (raw, len);
    }
  if (raw)
    {
      cg_wipe (raw, len);
      g_free (raw);
    }
  if (!code)
    refused (error);
  return code;
}
