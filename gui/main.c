/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "common/cg-json.h"
#include "common/cg-secure.h"
#include "gui/cg-application.h"
#include "protocol/cg-client.h"

int
main (int argc, char **argv)
{
  /* CREDGATE_LOCALEDIR lets the tests run translations from a scratch
   * install without touching the system's locale directory. */
  const char *localedir = g_getenv ("CREDGATE_LOCALEDIR");
  g_autoptr (GError) error = NULL;

  /* The window holds tokens, plaintext secrets and linked services being
   * edited: no core dumps, no ptrace by other processes of the user. */
  if (!cg_harden_process (&error))
    {
      g_printerr ("credgate-manager: %s\n", error->message);
      return 1;
    }
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir && *localedir ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  /* Request bodies carry secrets: every JSON allocation wipes itself. */
  cg_json_use_wiping_allocator ();
  /* Before any thread exists: the client's workers use libcurl. */
  cg_client_global_init ();

  g_autoptr (CgApplication) app = cg_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
