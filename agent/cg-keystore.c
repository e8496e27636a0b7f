/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-keystore.h"
#include "common/cg-error.h"

#include <string.h>

#define KEY_LEN 32

/* The default collection whose signals we follow, and a counter its
 * signals bump.  Handlers run in the main context of the thread that made
 * the proxy and touch nothing but the counter. */
static GMutex watch_lock;
static SecretCollection *watched;
static gint generation;

static void
properties_changed_cb (GDBusProxy *proxy, GVariant *changed, GStrv invalidated,
                       gpointer user_data)
{
  g_atomic_int_inc (&generation);
}

static void
name_owner_cb (GObject *proxy, GParamSpec *pspec, gpointer user_data)
{
  g_atomic_int_inc (&generation);
}

static void
watch_collection (SecretCollection *collection)
{
  g_mutex_lock (&watch_lock);
  if (watched != collection)
    {
      if (watched)
        {
          g_signal_handlers_disconnect_by_data (watched, &generation);
          g_object_unref (watched);
        }
      watched = g_object_ref (collection);
      g_signal_connect (watched, "g-properties-changed", G_CALLBACK (properties_changed_cb),
                        &generation);
      g_signal_connect (watched, "notify::g-name-owner", G_CALLBACK (name_owner_cb),
                        &generation);
      /* A different collection is a change too. */
      g_atomic_int_inc (&generation);
    }
  g_mutex_unlock (&watch_lock);
}

guint
cg_keystore_generation (void)
{
  return (guint) g_atomic_int_get (&generation);
}

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
cg_keystore_check_unlocked (guint *generation_out, GError **error)
{
  g_autoptr (GError) local = NULL;
  if (generation_out)
    *generation_out = cg_keystore_generation ();

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
  watch_collection (collection);

  /* Ask, rather than trust the proxy's cached property: nothing may have
   * iterated the context that updates it since the keyring changed. */
  GDBusProxy *proxy = G_DBUS_PROXY (collection);
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
      g_dbus_proxy_get_connection (proxy), g_dbus_proxy_get_name (proxy),
      g_dbus_proxy_get_object_path (proxy), "org.freedesktop.DBus.Properties", "Get",
      g_variant_new ("(ss)", "org.freedesktop.Secret.Collection", "Locked"),
      G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &local);
  if (!reply)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_UNAVAILABLE,
                   "cannot ask the secret store whether it is locked: %s", local->message);
      return FALSE;
    }
  g_autoptr (GVariant) value = NULL;
  g_variant_get (reply, "(v)", &value);
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN) || g_variant_get_boolean (value))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_LOCKED, "the secret store is locked");
      return FALSE;
    }
  return TRUE;
}

/* A search, not secret_password_lookup_sync: that one asks the service to
 * unlock a locked item, which means a prompt nobody can answer on a
 * headless host.  Searching without SECRET_SEARCH_UNLOCK never prompts,
 * and a locked item comes back without its secret, which says "locked"
 * outright instead of looking like "not found". */
CgBuf *
cg_keystore_lookup (const char *instance, const char *kind, const char *kid, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (SecretService) service = secret_service_get_sync (SECRET_SERVICE_NONE, NULL, &local);
  if (!service)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_UNAVAILABLE, "no Secret Service: %s",
                   local->message);
      return NULL;
    }
  g_autoptr (GHashTable) attrs = secret_attributes_build (
      cg_secret_schema_get (), "instance", instance, "kind", kind, "kid", kid, NULL);
  GList *items = secret_service_search_sync (service, cg_secret_schema_get (), attrs,
                                             SECRET_SEARCH_LOAD_SECRETS, NULL, &local);
  if (local)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_UNAVAILABLE, "cannot read the secret store: %s",
                   local->message);
      return NULL;
    }
  if (!items)
    return NULL;
  SecretValue *value = secret_item_get_secret (items->data);
  g_list_free_full (items, g_object_unref);
  if (!value)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_LOCKED, "the secret store is locked");
      return NULL;
    }

  /* The value lives in libsecret's wiped memory; our copies are wiped too. */
  gsize text_len = 0;
  const gchar *data = secret_value_get (value, &text_len);
  g_autoptr (CgBuf) text = cg_buf_new (text_len + 1);
  memcpy (text->data, data, text_len);
  secret_value_unref (value);

  gsize len = 0;
  guchar *raw = g_base64_decode ((const char *) text->data, &len);
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

gboolean
cg_keystore_delete (const char *instance, const char *kind, const char *kid, GError **error)
{
  g_autoptr (GError) local = NULL;
  secret_password_clear_sync (cg_secret_schema_get (), NULL, &local, "instance", instance,
                              "kind", kind, "kid", kid, NULL);
  if (local)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_UNAVAILABLE,
                   "cannot remove an item from the secret store: %s", local->message);
      return FALSE;
    }
  return TRUE;
}
