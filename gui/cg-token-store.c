/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gui/cg-token-store.h"

#include <glib/gi18n.h>
#include <libsecret/secret.h>
#include <string.h>

#define KIND_TOKEN "token"
#define KIND_IDENTITY "client-certificate"
#define CERT_BEGIN "-----BEGIN CERTIFICATE-----"

static const SecretSchema *
token_schema (void)
{
  static const SecretSchema schema = {
    "org.credgate.Manager.Token",
    SECRET_SCHEMA_NONE,
    {
        { "host", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "port", SECRET_SCHEMA_ATTRIBUTE_INTEGER },
        { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { NULL, 0 },
    },
  };
  return &schema;
}

static void
store_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  if (secret_password_store_finish (result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
cg_token_store_save_async (const char *host, guint port, const char *token,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autofree char *label = g_strdup_printf (_ ("credgate access token for %s:%u"), host, port);
  secret_password_store (token_schema (), SECRET_COLLECTION_DEFAULT, label, token, cancellable,
                         store_cb, task, "host", host, "port", (int)port, "kind", KIND_TOKEN,
                         NULL);
}

gboolean
cg_token_store_save_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct
{
  char *host;
  guint port;
} Lookup;

static void
lookup_free (Lookup *l)
{
  g_free (l->host);
  g_free (l);
}

/* An item from before kinds, found by host and port alone: a token only
 * if it reads like one (the other kind holds PEM). */
static void
legacy_lookup_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  char *token = secret_password_lookup_finish (result, &error);
  if (error)
    g_task_return_error (task, error);
  else if (token && !g_str_has_prefix (token, "cgt_"))
    {
      secret_password_free (token);
      g_task_return_pointer (task, NULL, NULL);
    }
  else
    g_task_return_pointer (task, token, (GDestroyNotify)secret_password_free);
}

static void
lookup_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  char *token = secret_password_lookup_finish (result, &error);
  if (error)
    g_task_return_error (task, error);
  else if (!token)
    {
      Lookup *l = g_task_get_task_data (task);
      secret_password_lookup (token_schema (), g_task_get_cancellable (task), legacy_lookup_cb,
                              g_object_ref (task), "host", l->host, "port", (int)l->port, NULL);
    }
  else
    g_task_return_pointer (task, token, (GDestroyNotify)secret_password_free);
}

void
cg_token_store_lookup_async (const char *host, guint port, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Lookup *l = g_new0 (Lookup, 1);
  l->host = g_strdup (host);
  l->port = port;
  g_task_set_task_data (task, l, (GDestroyNotify)lookup_free);
  secret_password_lookup (token_schema (), cancellable, lookup_cb, task, "host", host, "port",
                          (int)port, "kind", KIND_TOKEN, NULL);
}

char *
cg_token_store_lookup_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
cg_token_store_free_token (char *token)
{
  secret_password_free (token);
}

/* ---- client certificates ---- */

void
cg_token_store_save_identity_async (const char *host, guint port, const char *cert_pem,
                                    const CgBuf *key_pem, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autofree char *label
      = g_strdup_printf (_ ("credgate client certificate for %s:%u"), host, port);
  /* The key, then the certificate: one PEM text. */
  g_autoptr (CgBuf) text = cg_buf_new (key_pem->len + strlen (cert_pem) + 1);
  memcpy (text->data, key_pem->data, key_pem->len);
  text->data[key_pem->len] = '\n';
  memcpy (text->data + key_pem->len + 1, cert_pem, strlen (cert_pem));
  secret_password_store (token_schema (), SECRET_COLLECTION_DEFAULT, label,
                         (const char *)text->data, cancellable, store_cb, task, "host", host,
                         "port", (int)port, "kind", KIND_IDENTITY, NULL);
}

gboolean
cg_token_store_save_identity_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct
{
  char *cert_pem;
  CgBuf *key_pem;
} Identity;

static void
identity_free (Identity *id)
{
  g_free (id->cert_pem);
  cg_buf_free (id->key_pem);
  g_free (id);
}

static void
identity_lookup_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  char *text = secret_password_lookup_finish (result, &error);
  if (error)
    {
      g_task_return_error (task, error);
      return;
    }
  const char *cert = text ? strstr (text, CERT_BEGIN) : NULL;
  Identity *id = NULL;
  if (cert && cert > text)
    {
      id = g_new0 (Identity, 1);
      id->cert_pem = g_strdup (cert);
      id->key_pem = cg_buf_new_copy (text, cert - text);
    }
  if (text)
    secret_password_free (text);
  g_task_return_pointer (task, id, (GDestroyNotify)identity_free);
}

void
cg_token_store_lookup_identity_async (const char *host, guint port, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  secret_password_lookup (token_schema (), cancellable, identity_lookup_cb, task, "host", host,
                          "port", (int)port, "kind", KIND_IDENTITY, NULL);
}

gboolean
cg_token_store_lookup_identity_finish (GAsyncResult *result, char **cert_pem, CgBuf **key_pem,
                                       GError **error)
{
  Identity *id = g_task_propagate_pointer (G_TASK (result), error);
  if (!id)
    return FALSE;
  *cert_pem = g_steal_pointer (&id->cert_pem);
  *key_pem = g_steal_pointer (&id->key_pem);
  identity_free (id);
  return TRUE;
}
