/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Client certificates: one-time enrollment codes, the client CA, the
 * certificates it signed, and the check of a presented certificate.
 *
 * The client CA's key is a P-256 scalar in the secret store (kind
 * "clientca"), made only after the keyring answered that it is unlocked,
 * like the other keys; its self-signed certificate is public and lives in
 * the vault's store (setting "client_ca_cert"), so presented certificates
 * can still be checked while the keyring is locked, as tokens can.  Codes
 * are kept as HMAC-SHA256 under the token key, never in the clear.  Every
 * issued certificate is a row of the store (serial, SPKI pin, name, dates,
 * revocation), and that row is read on every request.
 *
 * Everything but the key goes through CgVaultStore (client_* ops), so in a
 * cluster every node sees the same CA certificate, certificates, codes and
 * revocations; the key is a cluster secret ("clientca", wrapped to each
 * node's node key like the master key), so any node can enroll. */
#include "config.h"

#include "agent/cg-vault-private.h"
#include "common/cg-time.h"
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
#define CA_SETTING "client_ca_cert"

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
  gnutls_x509_crt_t ca;   /* the client CA certificate, as last read */
  char *ca_pem;           /* its PEM, to see when the store holds another */
  GPtrArray *ca_old;      /* ones replaced (a restore, another node's), freed with the vault */
} Clients;

static const CgVaultHooks clients_hooks;
static void ca_changed_locked (Clients *c);

static Clients *
clients_of (CgVault *v)
{
  Clients *c = cg_vault_get_hooks_data (v, &clients_hooks);
  g_assert (c != NULL);
  return c;
}

/* With the lock held: the CA certificate the store holds, parsed when it
 * differs from the last one read.  Compared on every call, because it may
 * change under this node: a restore, or in a cluster the replica taking
 * the cluster's CA (a joining node's own gives way to it) or one made on
 * another node.  A store that cannot be read keeps the last one. */
static gnutls_x509_crt_t
ca_cert_locked (CgVault *v)
{
  Clients *c = clients_of (v);
  GError *local = NULL;
  g_autofree char *pem = v->store->ops->meta_get (v->store, CA_SETTING, &local);
  if (local)
    {
      g_error_free (local);
      return c->ca;
    }
  if (c->ca && g_strcmp0 (pem, c->ca_pem) == 0)
    return c->ca;
  ca_changed_locked (c);
  if (!pem)
    return NULL;
  gnutls_x509_crt_t crt = crt_from_pem (pem);
  if (!crt)
    {
      g_warning ("the client CA certificate in the state database cannot be read");
      return NULL;
    }
  c->ca = crt;
  c->ca_pem = g_steal_pointer (&pem);
  return crt;
}

/* A new client CA's certificate into the store, its key @d already in the
 * keyring.  In a cluster another node may have made one meanwhile (the
 * store's write loses its compare): this node's key then goes, unless the
 * cluster's was installed over it already, and the enrollment is retried. */
static gboolean
ca_publish_locked (CgVault *v, const char *cert, const CgBuf *d, GError **error)
{
  GError *local = NULL;
  if (v->store->ops->meta_set (v->store, CA_SETTING, cert, &local))
    return TRUE;
  if (g_error_matches (local, CG_ERROR, CG_ERROR_CONFLICT))
    {
      g_autoptr (CgBuf) held = cg_keystore_lookup (v->instance, "clientca", "", NULL);
      if (held && held->len == d->len && cg_equal_ct (held->data, d->data, d->len))
        cg_keystore_delete (v->instance, "clientca", "", NULL);
      g_clear_error (&local);
      g_set_error_literal (error, CG_ERROR, CG_ERROR_CONFLICT,
                           "another node of the cluster made the client CA meanwhile; "
                           "try again once its key reached this node");
      return FALSE;
    }
  g_propagate_error (error, local);
  return FALSE;
}

/* With the lock held and the keys loaded (so the keyring is unlocked):
 * the client CA's key, made first if this agent has none. */
static gnutls_privkey_t
ca_key_locked (CgVault *v, GError **error)
{
  GError *local = NULL;
  g_autofree char *pem = v->store->ops->meta_get (v->store, CA_SETTING, &local);
  if (local)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (!pem)
    {
      /* The key into the keyring first, then the certificate into the
       * store (in a cluster, with the key wrapped to every node in the
       * same write): a crash between leaves an unused item, never a CA
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
          || !ca_publish_locked (v, cert, d, error))
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
  GError *local = NULL;
  g_autofree char *have = v->store->ops->meta_get (v->store, CA_SETTING, &local);
  if (have || local)
    {
      g_clear_error (&local);
      return;
    }
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

/* The client CA changed (a restore, or the store holds another): the
 * certificate is read again. */
static void
ca_changed_locked (Clients *c)
{
  g_clear_pointer (&c->ca_pem, g_free);
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
  g_free (c->ca_pem);
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

  g_mutex_lock (&v->lock);
  cg_vault_token_hmac (v, code, strlen (code), mac);
  gboolean ok = v->store->ops->client_code_add (v->store, name, mac, created, expires,
                                                validity_s, error);
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

/* With the lock held: the live code's name (transfer full) and the
 * validity it grants, or NULL.  The code is HMAC'd whatever its shape, so
 * a malformed one costs the same. */
static char *
code_lookup_locked (CgVault *v, const char *code, guint8 mac[32], gint64 *validity_s)
{
  gsize len = strnlen (code, CODE_TEXT_LEN + 1);
  gboolean well_formed = len == CODE_TEXT_LEN && g_str_has_prefix (code, CODE_PREFIX);
  g_autofree char *now = cg_vault_now_rfc3339 ();
  cg_vault_token_hmac (v, code, len, mac);
  g_autofree char *name = v->store->ops->client_code_find (v->store, mac, now, validity_s, NULL);
  return well_formed ? g_steal_pointer (&name) : NULL;
}

char *
cg_vault_client_code_name (CgVault *v, const char *code)
{
  guint8 mac[32];
  g_mutex_lock (&v->lock);
  char *name = code_lookup_locked (v, code, mac, NULL);
  g_mutex_unlock (&v->lock);
  return name;
}

json_t *
cg_vault_client_enroll (CgVault *v, const char *code, const char *csr, gsize csr_len,
                        GError **error)
{
  guint8 mac[32];
  g_autofree char *name = NULL, *cert = NULL, *serial = NULL, *spki = NULL, *expires = NULL;
  g_autofree char *ca_pem = NULL, *now = NULL;
  gint64 validity = 0, not_after = 0;
  gnutls_privkey_t ca_key = NULL;
  json_t *result = NULL;

  g_mutex_lock (&v->lock);
  /* The keyring first: a locked one refuses before the code is used. */
  if (!cg_vault_ensure_keys (v, error) || !(ca_key = ca_key_locked (v, error)))
    goto out;
  if (!(name = code_lookup_locked (v, code, mac, &validity)))
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
  now = cg_vault_now_rfc3339 ();
  /* Uses up the code and records the certificate, superseding the name's
   * earlier ones, all or nothing; the code used meanwhile (on any node of
   * a cluster) is the same refusal as an unknown one. */
  GError *local = NULL;
  if (!v->store->ops->client_enroll (v->store, mac, name, serial, spki, now, expires, &local))
    {
      if (g_error_matches (local, CG_ERROR, CG_ERROR_NOT_FOUND))
        {
          g_clear_error (&local);
          g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN, CODE_REFUSED);
        }
      else
        g_propagate_error (error, local);
      goto out;
    }
  ca_pem = v->store->ops->meta_get (v->store, CA_SETTING, NULL);
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
  /* A CA certificate is never freed while the vault lives: checked
   * outside the lock. */
  if (!cg_client_ca_verify (ca, der, len, &serial, &spki, error))
    return NULL;

  char *name = NULL;
  g_autofree char *now = cg_vault_now_rfc3339 ();
  GError *local = NULL;
  g_mutex_lock (&v->lock);
  json_auto_t *row = v->store->ops->client_get (v->store, serial, &local);
  const char *revoked = json_string_value (json_object_get (row, "revoked"));
  const char *expires = json_string_value (json_object_get (row, "expires"));
  if (local)
    g_propagate_error (error, local);
  else if (!row || g_strcmp0 (json_string_value (json_object_get (row, "spki")), spki) != 0)
    g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                         "the client certificate is not enrolled");
  else if (revoked)
    g_set_error (error, CG_ERROR, CG_ERROR_FORBIDDEN, "the client certificate was %s",
                 g_strcmp0 (json_string_value (json_object_get (row, "revokedReason")),
                            "superseded")
                         == 0
                     ? "replaced by a newer enrollment"
                     : "revoked");
  else if (!expires || strcmp (expires, now) <= 0)
    g_set_error_literal (error, CG_ERROR, CG_ERROR_FORBIDDEN,
                         "the client certificate has expired");
  else
    {
      name = g_strdup (json_string_value (json_object_get (row, "name")));
      const char *last = json_string_value (json_object_get (row, "lastUsed"));
      g_autoptr (GDateTime) then = last ? g_date_time_new_from_iso8601 (last, NULL) : NULL;
      g_autoptr (GDateTime) t_now = g_date_time_new_now_utc ();
      /* At most a write a minute, as for tokens. */
      if (!then
          || g_date_time_difference (t_now, then) > LAST_USED_GRANULARITY_S * G_USEC_PER_SEC)
        v->store->ops->client_touch (v->store, serial, now, NULL);
    }
  g_mutex_unlock (&v->lock);
  return name;
}

/* ---- list and revoke --------------------------------------------------- */

json_t *
cg_vault_client_list (CgVault *v, GError **error)
{
  g_autofree char *now = cg_vault_now_rfc3339 ();
  g_mutex_lock (&v->lock);
  json_t *list = v->store->ops->client_list (v->store, now, error);
  g_mutex_unlock (&v->lock);
  return list;
}

gboolean
cg_vault_client_revoke (CgVault *v, const char *name, GError **error)
{
  if (!check_client_name (name, error))
    return FALSE;
  g_autofree char *now = cg_vault_now_rfc3339 ();
  g_mutex_lock (&v->lock);
  gboolean ok = v->store->ops->client_revoke (v->store, name, now, error);
  g_mutex_unlock (&v->lock);
  return ok;
}
