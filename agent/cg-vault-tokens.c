/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Access tokens: shown once, kept only as HMAC-SHA256(token_key, token).
 * The token key is a file in the state directory, not a keyring item, so
 * clients can still authenticate (and be told "locked") while the keyring
 * is locked.  A stolen state.db alone reveals no usable token. */
#include "config.h"

#include "agent/cg-vault-private.h"
#include "agent/cg-db.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "protocol/cg-b64.h"
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

gboolean
cg_vault_tokens_init (CgVault *v, GError **error)
{
  g_autofree char *path = g_build_filename (v->state_dir, "token.key", NULL);
  struct stat st;

  if (lstat (path, &st) < 0)
    {
      if (errno != ENOENT)
        {
          int e = errno;
          g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot read %s: %s", path, g_strerror (e));
          return FALSE;
        }
      g_autoptr (CgBuf) key = cg_buf_new (TOKEN_KEY_LEN);
      if (gnutls_rnd (GNUTLS_RND_KEY, key->data, key->len) < 0)
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "no randomness for a key");
          return FALSE;
        }
      if (!cg_file_write_atomic (path, key->data, key->len, 0600, error))
        return FALSE;
      v->token_key = g_steal_pointer (&key);
      return TRUE;
    }
  /* Whoever can read this file can check guessed tokens offline against a
   * copy of state.db: refuse to run with one others could have read. */
  if (!S_ISREG (st.st_mode) || (st.st_mode & 077) || st.st_uid != geteuid ())
    {
      g_set_error (error, CG_ERROR, CG_ERROR_IO,
                   "%s must be a regular file owned by the agent's user and readable by "
                   "its owner only (chmod 600)",
                   path);
      return FALSE;
    }
  char *contents = NULL;
  gsize len = 0;
  if (!cg_file_read_capped (path, TOKEN_KEY_LEN + 1, &contents, &len, error))
    return FALSE;
  if (len != TOKEN_KEY_LEN)
    {
      cg_wipe (contents, len);
      g_free (contents);
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "%s is damaged (%" G_GSIZE_FORMAT " bytes, not %d)",
                   path, len, TOKEN_KEY_LEN);
      return FALSE;
    }
  v->token_key = cg_buf_new_copy (contents, len);
  cg_wipe (contents, len);
  g_free (contents);
  return TRUE;
}

/* Under v->lock: a restore replaces the token key in place. */
void
cg_vault_token_hmac (CgVault *v, const char *token, gsize len, guint8 out[SHA256_DIGEST_SIZE])
{
  struct hmac_sha256_ctx ctx;
  hmac_sha256_set_key (&ctx, v->token_key->len, v->token_key->data);
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
  gboolean ok = FALSE;
  sqlite3_stmt *st = cg_db_prepare (
      v->db, "INSERT INTO tokens (name, hmac, created) VALUES (?, ?, ?)", error);
  if (st)
    {
      sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
      sqlite3_bind_blob (st, 2, mac, sizeof mac, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, now, -1, SQLITE_STATIC);
      int r = sqlite3_step (st);
      if (r == SQLITE_DONE)
        ok = TRUE;
      else if (r == SQLITE_CONSTRAINT)
        g_set_error (error, CG_ERROR, CG_ERROR_EXISTS, "a token named \"%s\" already exists",
                     name);
      else
        cg_db_set_error (error, v->db, "cannot store the token");
      sqlite3_finalize (st);
    }
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
  json_t *list = NULL;
  sqlite3_stmt *st
      = cg_db_prepare (v->db, "SELECT name, created, last_used FROM tokens ORDER BY name", error);
  if (st)
    {
      list = json_array ();
      int r;
      while ((r = sqlite3_step (st)) == SQLITE_ROW)
        json_array_append_new (list, json_pack ("{s:s, s:s, s:s?}", "name",
                                                sqlite3_column_text (st, 0), "created",
                                                sqlite3_column_text (st, 1), "last_used",
                                                sqlite3_column_text (st, 2)));
      if (r != SQLITE_DONE)
        {
          g_clear_pointer (&list, json_decref);
          cg_db_set_error (error, v->db, "cannot list tokens");
        }
      sqlite3_finalize (st);
    }
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
  gboolean ok = FALSE;
  sqlite3_stmt *st = cg_db_prepare (v->db, "DELETE FROM tokens WHERE name = ?", error);
  if (st)
    {
      sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
      if (sqlite3_step (st) != SQLITE_DONE)
        cg_db_set_error (error, v->db, "cannot revoke the token");
      else if (sqlite3_changes (v->db) == 0)
        g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "no token named \"%s\"", name);
      else
        ok = TRUE;
      sqlite3_finalize (st);
    }
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

  char *name = NULL;
  g_mutex_lock (&v->lock);
  cg_vault_token_hmac (v, token, len, mac);
  sqlite3_stmt *st = cg_db_prepare (v->db, "SELECT name, last_used FROM tokens WHERE hmac = ?",
                                    NULL);
  if (st)
    {
      sqlite3_bind_blob (st, 1, mac, sizeof mac, SQLITE_STATIC);
      if (sqlite3_step (st) == SQLITE_ROW && well_formed)
        {
          name = g_strdup ((const char *) sqlite3_column_text (st, 0));
          const char *last = (const char *) sqlite3_column_text (st, 1);
          g_autoptr (GDateTime) then = last ? g_date_time_new_from_iso8601 (last, NULL) : NULL;
          g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
          /* Record use at most once a minute: not a disk write per request. */
          if (!then || g_date_time_difference (now, then) > LAST_USED_GRANULARITY_S * G_USEC_PER_SEC)
            {
              sqlite3_stmt *up
                  = cg_db_prepare (v->db, "UPDATE tokens SET last_used = ? WHERE name = ?", NULL);
              if (up)
                {
                  g_autofree char *ts = cg_vault_now_rfc3339 ();
                  sqlite3_bind_text (up, 1, ts, -1, SQLITE_STATIC);
                  sqlite3_bind_text (up, 2, name, -1, SQLITE_STATIC);
                  sqlite3_step (up);
                  sqlite3_finalize (up);
                }
            }
        }
      sqlite3_finalize (st);
    }
  g_mutex_unlock (&v->lock);
  return name;
}
