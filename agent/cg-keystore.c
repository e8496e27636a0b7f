/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-keystore.h"
#include "common/cg-error.h"

#include <string.h>

#define KEY_LEN 32

static GMutex proxy_lock;
static SecretCollection *default_collection; /* cached proxy, for cheap re-checks */

const SecretSchema *
cg_secret_schema_get (void)
{
  static const SecretSchema schema = {
    "org.credgate.Key",
    SECRET_SCHEMA_NONE,
    {
        { "instance", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "kid", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { NULL, 0 },
    },
  };
  return &schema;
}

gboolean
cg_keystore_check_unlocked (GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (SecretService) service
      = secret_service_get_sync (SECRET_SERVICE_LOAD_COLLECTIONS, NULL, &local);
  if (!service)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_UNAVAILABLE, "no Secret Service: %s",
                   local->message);
      return FALSE;
    }
  g_autoptr (SecretCollection) collection
      = secret_collection_for_alias_sync (service, SECRET_COLLECTION_DEFAULT,
                                          SECRET_COLLECTION_NONE, NULL, &local);
  if (!collection)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_UNAVAILABLE,
                   "the Secret Service has no default keyring%s%s", local ? ": " : "",
                   local ? local->message : "");
      return FALSE;
    }

  g_mutex_lock (&proxy_lock);
  g_set_object (&default_collection, collection);
  g_mutex_unlock (&proxy_lock);

  if (secret_collection_get_locked (collection))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_LOCKED, "the secret store is locked");
      return FALSE;
    }
  return TRUE;
}

gboolean
cg_keystore_still_unlocked (GError **error)
{
  gboolean locked = FALSE, gone = FALSE;

  g_mutex_lock (&proxy_lock);
  if (!default_collection)
    gone = TRUE;
  else
    {
      g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (default_collection));
      gone = owner == NULL;
      locked = !gone && secret_collection_get_locked (default_collection);
    }
  g_mutex_unlock (&proxy_lock);

  if (gone)
    g_set_error_literal (error, CG_ERROR, CG_ERROR_UNAVAILABLE,
                         "the Secret Service went away");
  else if (locked)
    g_set_error_literal (error, CG_ERROR, CG_ERROR_LOCKED, "the secret store is locked");
  return !gone && !locked;
}

CgBuf *
cg_keystore_lookup (const char *instance, const char *kind, const char *kid, GError **error)
{
  g_autoptr (GError) local = NULL;
  char *text = secret_password_lookup_sync (cg_secret_schema_get (), NULL, &local, "instance",
                                            instance, "kind", kind, "kid", kid, NULL);
  if (local)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_UNAVAILABLE, "cannot read the secret store: %s",
                   local->message);
      return NULL;
    }
  if (!text)
    return NULL;

  gsize len = 0;
  guchar *raw = g_base64_decode (text, &len);
  secret_password_free (text);
  if (len != KEY_LEN)
    {
      cg_wipe (raw, len);
      g_free (raw);
      g_set_error (error, CG_ERROR, CG_ERROR_KEYS_MISSING,
                   "the %s key in the secret store is damaged", kind);
      return NULL;
    }
  CgBuf *key = cg_buf_new_copy (raw, len);
  cg_wipe (raw, len);
  g_free (raw);
  return key;
}

gboolean
cg_keystore_store (const char *instance, const char *kind, const char *kid, const CgBuf *key,
                   GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *label = g_strdup_printf ("credgate %s key%s%s", kind, *kid ? " " : "", kid);
  char *text = g_base64_encode (key->data, key->len);
  gboolean ok = secret_password_store_sync (cg_secret_schema_get (), SECRET_COLLECTION_DEFAULT,
                                            label, text, NULL, &local, "instance", instance,
                                            "kind", kind, "kid", kid, NULL);
  cg_wipe_str (text);
  if (!ok)
    g_set_error (error, CG_ERROR, CG_ERROR_UNAVAILABLE, "cannot write to the secret store: %s",
                 local->message);
  return ok;
}
