/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* keyring-ctl lock|unlock|status: drive the default gnome-keyring
 * collection for tests.  `secret-tool lock` hangs with libsecret 0.20.5 and
 * libsecret has no prompt-free unlock, so this speaks D-Bus directly:
 * Secret.Service.Lock, and gnome-keyring's UnlockWithMasterPassword with a
 * plain session opened on the same connection.  The password comes from
 * the file named by $CG_TEST_KEYRING_PASSWORD_FILE. */
#include "config.h"

#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

#define SECRETS "org.freedesktop.secrets"
#define SERVICE_PATH "/org/freedesktop/secrets"
#define SERVICE_IFACE "org.freedesktop.Secret.Service"

static GVariant *
call (GDBusConnection *bus, const char *path, const char *iface, const char *method,
      GVariant *args, const char *reply_type)
{
  g_autoptr (GError) error = NULL;
  GVariant *r = g_dbus_connection_call_sync (bus, SECRETS, path, iface, method, args,
                                             G_VARIANT_TYPE (reply_type), 0, 10000, NULL, &error);
  if (!r)
    {
      fprintf (stderr, "keyring-ctl: %s: %s\n", method, error->message);
      exit (1);
    }
  return r;
}

static char *
default_collection (GDBusConnection *bus)
{
  g_autoptr (GVariant) r = call (bus, SERVICE_PATH, SERVICE_IFACE, "ReadAlias",
                                 g_variant_new ("(s)", "default"), "(o)");
  char *path = NULL;
  g_variant_get (r, "(o)", &path);
  if (g_str_equal (path, "/"))
    {
      fprintf (stderr, "keyring-ctl: no default collection\n");
      exit (1);
    }
  return path;
}

static gboolean
is_locked (GDBusConnection *bus, const char *collection)
{
  g_autoptr (GVariant) r
      = call (bus, collection, "org.freedesktop.DBus.Properties", "Get",
              g_variant_new ("(ss)", "org.freedesktop.Secret.Collection", "Locked"), "(v)");
  g_autoptr (GVariant) v = NULL;
  g_variant_get (r, "(v)", &v);
  return g_variant_get_boolean (v);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  if (argc != 2)
    {
      fprintf (stderr, "usage: keyring-ctl lock|unlock|status\n");
      return 2;
    }
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (!bus)
    {
      fprintf (stderr, "keyring-ctl: %s\n", error->message);
      return 1;
    }
  g_autofree char *collection = default_collection (bus);

  if (g_str_equal (argv[1], "status"))
    printf ("%s\n", is_locked (bus, collection) ? "locked" : "unlocked");
  else if (g_str_equal (argv[1], "lock"))
    {
      const char *paths[] = { collection, NULL };
      g_autoptr (GVariant) r = call (bus, SERVICE_PATH, SERVICE_IFACE, "Lock",
                                     g_variant_new ("(^ao)", paths), "(aoo)");
    }
  else if (g_str_equal (argv[1], "unlock"))
    {
      const char *file = g_getenv ("CG_TEST_KEYRING_PASSWORD_FILE");
      g_autofree char *password = NULL;
      gsize len = 0;
      if (!file || !g_file_get_contents (file, &password, &len, &error))
        {
          fprintf (stderr, "keyring-ctl: no password file (CG_TEST_KEYRING_PASSWORD_FILE)\n");
          return 1;
        }
      g_autoptr (GVariant) s = call (bus, SERVICE_PATH, SERVICE_IFACE, "OpenSession",
                                     g_variant_new ("(sv)", "plain", g_variant_new_string ("")),
                                     "(vo)");
      g_autoptr (GVariant) ignored = NULL;
      const char *session = NULL;
      g_variant_get (s, "(v&o)", &ignored, &session);
      GVariant *secret = g_variant_new (
          "(o@ay@ays)", session, g_variant_new_from_data (G_VARIANT_TYPE ("ay"), "", 0, TRUE, NULL, NULL),
          g_variant_new_from_data (G_VARIANT_TYPE ("ay"), password, len, TRUE, NULL, NULL),
          "text/plain");
      g_autoptr (GVariant) r
          = call (bus, SERVICE_PATH, "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
                  "UnlockWithMasterPassword", g_variant_new ("(o@(oayays))", collection, secret),
                  "()");
    }
  else
    {
      fprintf (stderr, "keyring-ctl: unknown command %s\n", argv[1]);
      return 2;
    }

  /* Say what we did only if it took effect. */
  if (!g_str_equal (argv[1], "status")
      && is_locked (bus, collection) != g_str_equal (argv[1], "lock"))
    {
      fprintf (stderr, "keyring-ctl: %s did not take effect\n", argv[1]);
      return 1;
    }
  return 0;
}
