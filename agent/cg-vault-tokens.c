/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Access tokens: shown once, kept only as HMAC-SHA256(token_key, token).
 * The token key is a file in the state directory, not a keyring item, so
 * clients can still authenticate (and be told "locked") while the keyring
 * is locked.  A stolen state.db alone reveals no usable token. */
#include "config.h"

#include "agent/cg-vault-private.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "jose/cg-b64.h"
#include "protocol/cg-names.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/hmac.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_KEY_LEN 32
#define TOKEN_RAW_LEN 32
#define TOKEN_PREFIX "cgt_"
#define TOKEN_TEXT_LEN (4 + 43) /* prefix + base64url of 32 bytes */
#define LAST_USED_GRANULARITY_S 60

static const CgVaultHooks tokens_hooks = { NULL, NULL, (GDestroyNotify) cg_buf_free };

CgBuf *
cg_vault_tokens_key (CgVault *v)
{
  CgBuf *key = cg_vault_get_hooks_data (v, &tokens_hooks);
  g_assert (key != NULL);
  return key;
}

/* STATE_DIR/token.key, made on first use (transfer full). */
static CgBuf *
load_token_key (CgVault *v, GError **error)
{
  g_autofree char *path = g_build_filename (v->state_dir, "token.key", NULL);
  struct stat st;

  if (lstat (path, &st) < 0)
    {
      if (errno != ENOENT)
        {
          int e = errno;
          g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot read %s: %s", path, g_strerror (e));
          return NULL;
        }
      g_autoptr (CgBuf) key = cg_buf_new (TOKEN_KEY_LEN);
      if (gnutls_rnd (GNUTLS_RND_KEY, key->data, key->len) < 0)
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "no randomness for a key");
          return NULL;
        }
      if (!cg_file_write_atomic (path, key->data, key->len, 0600, error))
        return NULL;
      return g_steal_pointer (&key);
    }
  /* Whoever can read this file can check guessed tokens offline against a
   * copy of state.db: refuse to run with one others could have read. */
  if (!S_ISREG (st.st_mode) || (st.st_mode & 077) || st.st_uid != geteuid ())
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO,
                   "%s must be a regular file owned by the agent's user and readable by "
                   "its owner only (chmod 600)",
                   path);
      return NULL;
    }
  char *contents = NULL;
  gsize len = 0;
  if (!cg_file_read_capped (path, TOKEN_KEY_LEN + 1, &contents, &len, error))
    return NULL;
  if (len != TOKEN_KEY_LEN)
    {
      cg_wipe (contents, len);
      g_free (contents);
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "%s is damaged (%" G_GSIZE_FORMAT " bytes, not %d)",
                   path, len, TOKEN_KEY_LEN);
      return NULL;
    }
  CgBuf *key = cg_buf_new_copy (contents, len);
  cg_wipe (contents, len);
  g_free (contents);
  return key;
}

/* The token key is loaded with the vault, so that a damaged or
 * world-readable one stops the start, as it always did. */
gboolean
cg_vault_tokens_attach (CgVault *v, GError **error)
{
  CgBuf *key = load_token_key (v, error);
  if (!key)
    return FALSE;
  cg_vault_add_hooks (v, &tokens_hooks, key);
  return TRUE;
}

/* Under v->lock: a restore replaces the token key in place. */
void
cg_vault_token_hmac (CgVault *v, const char *token, gsize len, guint8 out[SHA256_DIGEST_SIZE])
{
  struct hmac_sha256_ctx ctx;
  CgBuf *key = cg_vault_tokens_key (v);
  hmac_sha256_set_key (&ctx, key->len, key->data);
  hmac_sha256_update (&ctx, len, (const guint8 *) token);
  hmac_sha256_digest (&ctx, SHA256_DIGEST_SIZE, out);
  cg_wipe (&ctx, sizeof ctx);
}

char *
cg_vault_random_text (const char *prefix, GError **error)
{
  guint8 raw[TOKEN_RAW_LEN];
  if (gnutls_rnd (GNUTLS_RND_KEY, raw, sizeof raw) < 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "no randomness");
      return NULL;
    }
  char *b64 = cg_b64url_encode (raw, sizeof raw);
  cg_wipe (raw, sizeof raw);
  char *text = g_strconcat (prefix, b64, NULL);
  cg_wipe_str (b64);
  return text;
}

char *
cg_vault_token_create (CgVault *v, const char *name, GError **error)
{
  if (!cg_name_is_valid (name))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "token names are 1 to 128 characters of A-Z a-z 0-9 . _ -");
      return NULL;
    }
  char *token = cg_vault_random_text (TOKEN_PREFIX, error);
  if (!token)
    return NULL;

  guint8 mac[SHA256_DIGEST_SIZE];
  g_autofree char *now = cg_vault_now_rfc3339 ();

  g_mutex_lock (&v->lock);
  cg_vault_token_hmac (v, token, strlen (token), mac);
  gboolean ok = v->store->ops->token_add (v->store, name, mac, now, error);
  g_mutex_unlock (&v->lock);
  if (!ok)
    {
      cg_wipe_str (token);
      return NULL;
    }
  return token;
}

json_t *
cg_vault_token_list (CgVault *v, GError **error)
{
  g_mutex_lock (&v->lock);
  json_t *list = v->store->ops->token_list (v->store, error);
  g_mutex_unlock (&v->lock);
  return list;
}

gboolean
cg_vault_token_revoke (CgVault *v, const char *name, GError **error)
{
  if (!cg_name_is_valid (name))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "token names are 1 to 128 characters of A-Z a-z 0-9 . _ -");
      return FALSE;
    }
  g_mutex_lock (&v->lock);
  gboolean ok = v->store->ops->token_delete (v->store, name, error);
  g_mutex_unlock (&v->lock);
  return ok;
}

char *
cg_vault_token_check (CgVault *v, const char *token)
{
  /* Every token is HMAC'd and looked up, well-formed or not, so the
   * answer takes the same work either way; the length is bounded first. */
  gsize len = strnlen (token, TOKEN_TEXT_LEN + 1);
  guint8 mac[SHA256_DIGEST_SIZE];
  gboolean well_formed = len == TOKEN_TEXT_LEN && g_str_has_prefix (token, TOKEN_PREFIX);

  g_autofree char *last = NULL;
  g_mutex_lock (&v->lock);
  cg_vault_token_hmac (v, token, len, mac);
  char *name = v->store->ops->token_find (v->store, mac, &last, NULL);
  if (name && !well_formed)
    g_clear_pointer (&name, g_free);
  if (name)
    {
      g_autoptr (GDateTime) then = last ? g_date_time_new_from_iso8601 (last, NULL) : NULL;
      g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
      /* Record use at most once a minute: not a disk write per request. */
      if (!then || g_date_time_difference (now, then) > LAST_USED_GRANULARITY_S * G_USEC_PER_SEC)
        {
          g_autofree char *ts = cg_vault_now_rfc3339 ();
          v->store->ops->token_touch (v->store, name, ts, NULL);
        }
    }
  g_mutex_unlock (&v->lock);
  return name;
}
