/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Client certificates: one-time enrollment codes, the client CA, the
 * certificates it signed, and the check of a presented certificate.
 *
 * The client CA's key is a P-256 scalar in the secret store (kind
 * "clientca"), made only after the keyring answered that it is unlocked,
 * like the other keys; its self-signed certificate is public and lives in
 * the state database (meta "client_ca_cert"), so presented certificates can
 * still be checked while the keyring is locked, as tokens can.  Codes are
 * kept as HMAC-SHA256 under the token key, never in the clear.  Every
 * issued certificate is a row of "clients" (serial, SPKI pin, name, dates,
 * revocation), and that row is read on every request. */
#include "config.h"

#include "agent/cg-vault-private.h"
#include "common/cg-time.h"
#include "agent/cg-db.h"
#include "agent/cg-keystore.h"
#include "certs/cg-cert.h"
#include "certs/cg-client-cert.h"
#include "common/cg-error.h"
#include "protocol/cg-names.h"
#include "jose/cg-p256.h"

#include <gnutls/crypto.h>
#include <string.h>
#include <time.h>

#define CODE_PREFIX "cge_"
#define CODE_TEXT_LEN (4 + 43)
#define CA_DAYS (20 * 366)
#define LAST_USED_GRANULARITY_S 60

static const char CODE_REFUSED[] = "the enrollment code is not valid (unknown, used or expired)";

static gboolean
check_client_name (const char *name, GError **error)
{
  if (cg_name_is_valid (name))
    return TRUE;
  g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                       "client names are 1 to 128 characters of A-Z a-z 0-9 . _ -");
  return FALSE;
}

/* The client CA's private key from its 32-byte scalar (transfer full). */
static gnutls_privkey_t
ca_key_from_scalar (const CgBuf *d, GError **error)
{
  guint8 x[CG_P256_LEN], y[CG_P256_LEN];
  gnutls_privkey_t key = NULL;
  if (d->len != CG_P256_LEN || !cg_p256_public_from_private (d->data, x, y))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                           "the client CA key in the secret store is damaged");
      return NULL;
    }
  gnutls_datum_t dx = { x, sizeof x }, dy = { y, sizeof y }, dk = { d->data, (unsigned) d->len };
  int r;
  if ((r = gnutls_privkey_init (&key)) < 0
      || (r = gnutls_privkey_import_ecc_raw (key, GNUTLS_ECC_CURVE_SECP256R1, &dx, &dy, &dk)) < 0)
    {
      if (key)
        gnutls_privkey_deinit (key);
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED, "cannot load the client CA key: %s",
                   gnutls_strerror (r));
      return NULL;
    }
  return key;
}

/* A PEM certificate (transfer full), NULL if it does not parse. */
static gnutls_x509_crt_t
crt_from_pem (const char *pem)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t in = { (unsigned char *) pem, (unsigned) strlen (pem) };
  if (gnutls_x509_crt_init (&crt) < 0 || gnutls_x509_crt_import (crt, &in, GNUTLS_X509_FMT_PEM) < 0)
    {
      if (crt)
        gnutls_x509_crt_deinit (crt);
      return NULL;
    }
  return crt;
}

/* The module's state, under the vault's lock. */
typedef struct
{
  gnutls_x509_crt_t ca;   /* the client CA certificate, once read */
  GPtrArray *ca_old;      /* ones a restore replaced, freed with the vault */
} Clients;

static const CgVaultHooks clients_hooks;

static Clients *
clients_of (CgVault *v)
{
  Clients *c = cg_vault_get_hooks_data (v, &clients_hooks);
  g_assert (c != NULL);
  return c;
}

/* With the lock held: the CA certificate from the database, parsed once
 * and kept until a restore replaces it (CG_VAULT_CLIENT_CA_RESTORED). */
static gnutls_x509_crt_t
ca_cert_locked (CgVault *v)
{
  Clients *c = clients_of (v);
  if (c->ca)
    return c->ca;
  g_autofree char *pem = cg_db_meta_get (v->db, "client_ca_cert", NULL);
  if (!pem)
    return NULL;
  gnutls_x509_crt_t crt = crt_from_pem (pem);
  if (!crt)
    {
      g_warning ("the client CA certificate in the state database cannot be read");
      return NULL;
    }
  c->ca = crt;
  return crt;
}

/* With the lock held and the keys loaded (so the keyring is unlocked):
 * the client CA's key, made first if this agent has none. */
static gnutls_privkey_t
ca_key_locked (CgVault *v, GError **error)
{
  GError *local = NULL;
  g_autofree char *pem = cg_db_meta_get (v->db, "client_ca_cert", &local);
  if (local)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (!pem)
    {
      /* The key into the keyring first, then the certificate into the
       * database: a crash between leaves an unused item, never a CA
       * certificate without its key. */
      g_autoptr (CgBuf) d = cg_buf_new (CG_P256_LEN);
      guint8 x[CG_P256_LEN], y[CG_P256_LEN];
      if (!cg_p256_generate (d->data, x, y))
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "no randomness for a key");
          return NULL;
        }
      gnutls_privkey_t key = ca_key_from_scalar (d, error);
      if (!key)
        return NULL;
      g_autofree char *label = g_strndup (v->instance, 8);
      g_autofree char *cert = cg_client_ca_make_cert (key, label, CA_DAYS, error);
      if (!cert || !cg_keystore_store (v->instance, "clientca", "", d, error)
          || !cg_db_meta_set (v->db, "client_ca_cert", cert, error))
        {
          gnutls_privkey_deinit (key);
          return NULL;
        }
      g_message ("created the client CA key in the secret store");
      return key;
    }
  g_autoptr (CgBuf) d = cg_keystore_lookup (v->instance, "clientca", "", error);
  if (!d)
    {
      if (error && *error)
        return NULL;
      if (cg_keystore_check_unlocked (NULL, error))
        g_set_error_literal (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                             "the client CA key is missing from the secret store; clients "
                             "enrolled before keep working, new ones cannot enroll");
      return NULL;
    }
  return ca_key_from_scalar (d, error);
}

/* Keys were just loaded, so the keyring is unlocked: make the client CA if
 * there is none (a failure is logged, enrollment retries). */
static void
created_keys_locked (CgVault *v)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *have = cg_db_meta_get (v->db, "client_ca_cert", NULL);
  if (have)
    return;
  gnutls_privkey_t key = ca_key_locked (v, &error);
  if (key)
    gnutls_privkey_deinit (key);
  else
    g_message ("client CA: %s", error->message);
}

static void
crt_free (gpointer crt)
{
  gnutls_x509_crt_deinit (crt);
}

/* A restore replaced the client CA: the certificate is read again. */
static void
ca_changed_locked (Clients *c)
{
  if (!c->ca)
    return;
  /* A check may be using it outside the lock: kept until the vault goes. */
  if (!c->ca_old)
    c->ca_old = g_ptr_array_new_with_free_func (crt_free);
  g_ptr_array_add (c->ca_old, g_steal_pointer (&c->ca));
}

static void
clients_event (CgVault *v, CgVaultEvent event, gpointer data)
{
  if (event == CG_VAULT_KEYS_LOADED)
    created_keys_locked (v);
  else if (event == CG_VAULT_CLIENT_CA_RESTORED)
    ca_changed_locked (data);
}

static void
clients_free (gpointer data)
{
  Clients *c = data;
  if (c->ca)
    gnutls_x509_crt_deinit (c->ca);
  g_clear_pointer (&c->ca_old, g_ptr_array_unref);
  g_free (c);
}

static const CgVaultHooks clients_hooks = { clients_event, NULL, clients_free };

void
cg_vault_clients_attach (CgVault *v)
{
  cg_vault_add_hooks (v, &clients_hooks, g_new0 (Clients, 1));
}

char *
cg_vault_clients_ca_pin (const char *pem, GError **error)
{
  gnutls_x509_crt_t crt = crt_from_pem (pem);
  gnutls_datum_t der = { NULL, 0 };
  char *pin = NULL;
  if (crt && gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der) >= 0)
    pin = cg_cert_spki_pin_from_der (der.data, der.size, error);
  else
    g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED,
                         "the client CA certificate in the state database cannot be read");
  gnutls_free (der.data);
  if (crt)
    gnutls_x509_crt_deinit (crt);
  return pin;
}

gboolean
cg_vault_clients_ca_matches (const char *pem, const CgBuf *d)
{
  gnutls_x509_crt_t crt = crt_from_pem (pem);
  gnutls_privkey_t key = crt ? ca_key_from_scalar (d, NULL) : NULL;
  gnutls_pubkey_t pub = NULL;
  guint8 want[32], have[32];
  size_t want_len = sizeof want, have_len = sizeof have;
  gboolean same
      = key && gnutls_pubkey_init (&pub) >= 0 && gnutls_pubkey_import_privkey (pub, key, 0, 0) >= 0
        && gnutls_pubkey_get_key_id (pub, GNUTLS_KEYID_USE_SHA256, want, &want_len) >= 0
        && gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA256, have, &have_len) >= 0
        && want_len == have_len && memcmp (want, have, want_len) == 0;
  if (pub)
    gnutls_pubkey_deinit (pub);
  if (key)
    gnutls_privkey_deinit (key);
  if (crt)
    gnutls_x509_crt_deinit (crt);
  return same;
}

/* ---- enrollment codes -------------------------------------------------- */

char *
cg_vault_client_code_create (CgVault *v, const char *name, gint64 ttl_s, gint64 validity_s,
                             char **expires_out, GError **error)
{
  if (!check_client_name (name, error))
    return NULL;
  if (ttl_s < 1 || ttl_s > CG_VAULT_CODE_TTL_MAX || validity_s < 1
      || validity_s > CG_VAULT_CLIENT_VALIDITY_MAX)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "a code lasts 1 second to 7 days, a certificate 1 second to 10 years");
      return NULL;
    }
  char *code = cg_vault_random_text (CODE_PREFIX, error);
  if (!code)
    return NULL;

  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *created = cg_time_rfc3339 (now);
  g_autofree char *expires = cg_time_rfc3339 (now + ttl_s);
  guint8 mac[32];
  gboolean ok = FALSE;

  g_mutex_lock (&v->lock);
  cg_vault_token_hmac (v, code, strlen (code), mac);
  /* One pending code per name: a new one replaces the last. */
  sqlite3_stmt *st = cg_db_prepare (v->db,
                                    "INSERT OR REPLACE INTO enroll_codes (name, hmac, created, "
                                    "expires, validity) VALUES (?, ?, ?, ?, ?)",
                                    error);
  if (st)
    {
      sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
      sqlite3_bind_blob (st, 2, mac, sizeof mac, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, created, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 4, expires, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (st, 5, validity_s);
      ok = sqlite3_step (st) == SQLITE_DONE;
      if (!ok)
        cg_db_set_error (error, v->db, "cannot store the enrollment code");
      sqlite3_finalize (st);
    }
  g_mutex_unlock (&v->lock);
  if (!ok)
    {
      cg_wipe_str (code);
      return NULL;
    }
  if (expires_out)
    *expires_out = g_steal_pointer (&expires);
  return code;
}

/* With the lock held: the live code's name and the validity it grants,
 * or FALSE (an expired code is dropped on the way).  The code is HMAC'd
 * whatever its shape, so a malformed one costs the same. */
static gboolean
code_lookup_locked (CgVault *v, const char *code, guint8 mac[32], char **name,
                    gint64 *validity_s)
{
  gsize len = strnlen (code, CODE_TEXT_LEN + 1);
  gboolean well_formed = len == CODE_TEXT_LEN && g_str_has_prefix (code, CODE_PREFIX);
  g_autofree char *now = cg_vault_now_rfc3339 ();
  gboolean found = FALSE, expired = FALSE;

  cg_vault_token_hmac (v, code, len, mac);
  sqlite3_stmt *st = cg_db_prepare (
      v->db, "SELECT name, expires, validity FROM enroll_codes WHERE hmac = ?", NULL);
  if (!st)
    return FALSE;
  sqlite3_bind_blob (st, 1, mac, 32, SQLITE_STATIC);
  if (sqlite3_step (st) == SQLITE_ROW && well_formed)
    {
      expired = strcmp ((const char *) sqlite3_column_text (st, 1), now) <= 0;
      if (!expired)
        {
          found = TRUE;
          if (name)
            *name = g_strdup ((const char *) sqlite3_column_text (st, 0));
          if (validity_s)
            *validity_s = sqlite3_column_int64 (st, 2);
        }
    }
  sqlite3_finalize (st);
  if (expired)
    {
      st = cg_db_prepare (v->db, "DELETE FROM enroll_codes WHERE hmac = ?", NULL);
      if (st)
        {
          sqlite3_bind_blob (st, 1, mac, 32, SQLITE_STATIC);
          sqlite3_step (st);
          sqlite3_finalize (st);
        }
    }
  return found;
}

char *
cg_vault_client_code_name (CgVault *v, const char *code)
{
  guint8 mac[32];
  char *name = NULL;
  g_mutex_lock (&v->lock);
  code_lookup_locked (v, code, mac, &name, NULL);
  g_mutex_unlock (&v->lock);
  return name;
}

/* With the lock held, in a transaction: mark @name's live certificates
 * revoked for @reason; *changed (nullable) gets how many. */
static gboolean
revoke_name_locked (CgVault *v, const char *name, const char *reason, int *changed,
                    GError **error)
{
  g_autofree char *now = cg_vault_now_rfc3339 ();
  sqlite3_stmt *st = cg_db_prepare (v->db,
                                    "UPDATE clients SET revoked = ?, revoked_reason = ? "
                                    "WHERE name = ? AND revoked IS NULL",
                                    error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, now, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, reason, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, name, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  sqlite3_finalize (st);
  if (!ok)
    cg_db_set_error (error, v->db, "cannot revoke the client certificate");
  else if (changed)
    *changed += sqlite3_changes (v->db);
  return ok;
}

typedef struct
{
  CgVault *v;
  const guint8 *mac;
  const char *name, *serial, *spki, *expires;
} EnrollTxn;

static gboolean
enroll_txn (sqlite3 *db, gpointer user_data, GError **error)
{
  EnrollTxn *e = user_data;
  g_autofree char *now = cg_vault_now_rfc3339 ();
  sqlite3_stmt *st = cg_db_prepare (db, "DELETE FROM enroll_codes WHERE hmac = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_blob (st, 1, e->mac, 32, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE && sqlite3_changes (db) == 1;
  sqlite3_finalize (st);
  if (!ok)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN, CODE_REFUSED);
      return FALSE;
    }
  if (!revoke_name_locked (e->v, e->name, "superseded", NULL, error))
    return FALSE;
  st = cg_db_prepare (db,
                      "INSERT INTO clients (serial, name, spki, enrolled, expires) "
                      "VALUES (?, ?, ?, ?, ?)",
                      error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, e->serial, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, e->name, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, e->spki, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 4, now, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 5, e->expires, -1, SQLITE_STATIC);
  ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    cg_db_set_error (error, db, "cannot record the client certificate");
  sqlite3_finalize (st);
  return ok;
}

/* With the lock held, inside no transaction: consume the code and record
 * the certificate, superseding the name's earlier ones, all or nothing. */
static gboolean
record_enrollment_locked (CgVault *v, const guint8 mac[32], const char *name,
                          const char *serial, const char *spki, const char *expires,
                          GError **error)
{
  EnrollTxn e = { v, mac, name, serial, spki, expires };
  return cg_db_transaction (v->db, enroll_txn, &e, error);
}

json_t *
cg_vault_client_enroll (CgVault *v, const char *code, const char *csr, gsize csr_len,
                        GError **error)
{
  guint8 mac[32];
  g_autofree char *name = NULL, *cert = NULL, *serial = NULL, *spki = NULL, *expires = NULL;
  g_autofree char *ca_pem = NULL;
  gint64 validity = 0, not_after = 0;
  gnutls_privkey_t ca_key = NULL;
  json_t *result = NULL;

  g_mutex_lock (&v->lock);
  /* The keyring first: a locked one refuses before the code is used. */
  if (!cg_vault_ensure_keys (v, error) || !(ca_key = ca_key_locked (v, error)))
    goto out;
  if (!code_lookup_locked (v, code, mac, &name, &validity))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN, CODE_REFUSED);
      goto out;
    }
  gnutls_x509_crt_t ca = ca_cert_locked (v);
  if (!ca)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED,
                           "the client CA certificate cannot be read");
      goto out;
    }
  cert = cg_client_ca_sign_csr (ca, ca_key, csr, csr_len, name, validity, &serial, &spki,
                                &not_after, error);
  if (!cert)
    goto out;
  expires = cg_time_rfc3339 (not_after);
  if (!record_enrollment_locked (v, mac, name, serial, spki, expires, error))
    goto out;
  ca_pem = cg_db_meta_get (v->db, "client_ca_cert", NULL);
  result = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s?}", "name", name, "certificate", cert,
                      "serial", serial, "fingerprint", spki, "expires", expires, "ca", ca_pem);

out:
  g_mutex_unlock (&v->lock);
  if (ca_key)
    gnutls_privkey_deinit (ca_key);
  return result;
}

/* ---- the check on every request --------------------------------------- */

char *
cg_vault_client_check (CgVault *v, const guint8 *der, gsize len, GError **error)
{
  g_autofree char *serial = NULL, *spki = NULL;
  g_mutex_lock (&v->lock);
  gnutls_x509_crt_t ca = ca_cert_locked (v);
  g_mutex_unlock (&v->lock);
  if (!ca)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                           "the client certificate was not issued by this agent");
      return NULL;
    }
  /* The CA certificate is never freed while the vault lives: checked
   * outside the lock. */
  if (!cg_client_ca_verify (ca, der, len, &serial, &spki, error))
    return NULL;

  char *name = NULL;
  g_autofree char *now = cg_vault_now_rfc3339 ();
  g_mutex_lock (&v->lock);
  sqlite3_stmt *st = cg_db_prepare (
      v->db,
      "SELECT name, spki, expires, revoked, revoked_reason, last_used FROM clients "
      "WHERE serial = ?",
      error);
  if (st)
    {
      sqlite3_bind_text (st, 1, serial, -1, SQLITE_STATIC);
      int r = sqlite3_step (st);
      if (r != SQLITE_ROW && r != SQLITE_DONE)
        cg_db_set_error (error, v->db, "cannot read the enrolled clients");
      else if (r == SQLITE_DONE
               || g_strcmp0 ((const char *) sqlite3_column_text (st, 1), spki) != 0)
        g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                             "the client certificate is not enrolled");
      else if (sqlite3_column_type (st, 3) != SQLITE_NULL)
        g_set_error (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                     "the client certificate was %s",
                     g_strcmp0 ((const char *) sqlite3_column_text (st, 4), "superseded") == 0
                         ? "replaced by a newer enrollment"
                         : "revoked");
      else if (strcmp ((const char *) sqlite3_column_text (st, 2), now) <= 0)
        g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                             "the client certificate has expired");
      else
        {
          name = g_strdup ((const char *) sqlite3_column_text (st, 0));
          const char *last = (const char *) sqlite3_column_text (st, 5);
          g_autoptr (GDateTime) then = last ? g_date_time_new_from_iso8601 (last, NULL) : NULL;
          g_autoptr (GDateTime) t_now = g_date_time_new_now_utc ();
          /* At most a write a minute, as for tokens. */
          if (!then
              || g_date_time_difference (t_now, then) > LAST_USED_GRANULARITY_S * G_USEC_PER_SEC)
            {
              sqlite3_stmt *up
                  = cg_db_prepare (v->db, "UPDATE clients SET last_used = ? WHERE serial = ?",
                                   NULL);
              if (up)
                {
                  sqlite3_bind_text (up, 1, now, -1, SQLITE_STATIC);
                  sqlite3_bind_text (up, 2, serial, -1, SQLITE_STATIC);
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

/* ---- list and revoke --------------------------------------------------- */

json_t *
cg_vault_client_list (CgVault *v, GError **error)
{
  g_autofree char *now = cg_vault_now_rfc3339 ();
  json_t *list = NULL;
  g_mutex_lock (&v->lock);
  sqlite3_stmt *st = cg_db_prepare (
      v->db,
      "SELECT name, serial, spki, enrolled, expires, revoked, revoked_reason, last_used "
      "FROM clients ORDER BY name, enrolled",
      error);
  sqlite3_stmt *codes = st ? cg_db_prepare (v->db,
                                            "SELECT name, created, expires FROM enroll_codes "
                                            "WHERE expires > ? ORDER BY name",
                                            error)
                           : NULL;
  if (st && codes)
    {
      list = json_array ();
      int r;
      while ((r = sqlite3_step (st)) == SQLITE_ROW)
        {
          const char *expires = (const char *) sqlite3_column_text (st, 4);
          const char *state = sqlite3_column_type (st, 5) != SQLITE_NULL
                                  ? (const char *) sqlite3_column_text (st, 6)
                              : strcmp (expires, now) <= 0 ? "expired"
                                                           : "active";
          json_array_append_new (
              list, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s}", "name",
                               sqlite3_column_text (st, 0), "serial", sqlite3_column_text (st, 1),
                               "fingerprint", sqlite3_column_text (st, 2), "enrolled",
                               sqlite3_column_text (st, 3), "expires", expires, "revoked",
                               sqlite3_column_text (st, 5), "lastUsed",
                               sqlite3_column_text (st, 7), "state", state ? state : "revoked"));
        }
      if (r != SQLITE_DONE)
        g_clear_pointer (&list, json_decref);
      sqlite3_bind_text (codes, 1, now, -1, SQLITE_STATIC);
      while (list && (r = sqlite3_step (codes)) == SQLITE_ROW)
        json_array_append_new (list, json_pack ("{s:s, s:s, s:s, s:s}", "name",
                                                sqlite3_column_text (codes, 0), "codeCreated",
                                                sqlite3_column_text (codes, 1), "codeExpires",
                                                sqlite3_column_text (codes, 2), "state",
                                                "pending"));
      if (list && r != SQLITE_DONE)
        g_clear_pointer (&list, json_decref);
      if (!list)
        cg_db_set_error (error, v->db, "cannot list the clients");
    }
  sqlite3_finalize (codes);
  sqlite3_finalize (st);
  g_mutex_unlock (&v->lock);
  return list;
}

typedef struct
{
  CgVault *v;
  const char *name;
} RevokeTxn;

static gboolean
revoke_txn (sqlite3 *db, gpointer user_data, GError **error)
{
  RevokeTxn *r = user_data;
  int changed = 0;
  if (!revoke_name_locked (r->v, r->name, "revoked", &changed, error))
    return FALSE;
  /* A pending code for the name goes too. */
  sqlite3_stmt *st = cg_db_prepare (db, "DELETE FROM enroll_codes WHERE name = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, r->name, -1, SQLITE_STATIC);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  changed += sqlite3_changes (db);
  sqlite3_finalize (st);
  if (!ok)
    cg_db_set_error (error, db, "cannot revoke the client");
  else if (changed == 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND,
                   "no enrolled client or pending code named \"%s\"", r->name);
      ok = FALSE;
    }
  return ok;
}

gboolean
cg_vault_client_revoke (CgVault *v, const char *name, GError **error)
{
  if (!check_client_name (name, error))
    return FALSE;
  RevokeTxn r = { v, name };
  g_mutex_lock (&v->lock);
  gboolean ok = cg_db_transaction (v->db, revoke_txn, &r, error);
  g_mutex_unlock (&v->lock);
  return ok;
}
