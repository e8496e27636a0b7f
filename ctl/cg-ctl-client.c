/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgatectl client …: enrollment codes for client certificates, the list
 * of enrolled clients, and revocation. */
#include "config.h"

#include "ctl/cg-ctl-client.h"
#include "ctl/cg-ctl-util.h"
#include "ctl/cg-admin-call.h"
#include "common/cg-error.h"
#include "common/cg-secure.h"

#include <stdio.h>
#include <string.h>


static const char client_help[]
    = "Usage: credgatectl client COMMAND [OPTIONS]\n"
      "\n"
      "Client certificates: a second way in, next to access tokens.  A client enrolls\n"
      "once with a one-time code and from then on authenticates with a TLS client\n"
      "certificate the agent's own client CA signed for it.\n"
      "\n"
      "  enroll NAME [--expires DURATION] [--validity DURATION]\n"
      "                              print a one-time enrollment code for NAME\n"
      "  list                        enrolled clients and pending codes\n"
      "  revoke NAME                 refuse NAME's certificates from the next request\n"
      "\n"
      "Run 'credgatectl client COMMAND --help' for the details of one.\n";

static const char enroll_help[]
    = "Usage: credgatectl client enroll NAME [--expires DURATION] [--validity DURATION]\n"
      "\n"
      "Prints a one-time enrollment code for the client NAME, alone on standard output;\n"
      "the agent keeps only its HMAC.  It works once, until it expires.  On the client:\n"
      "  credgate-encrypt-value --enroll - --agent HOST[:PORT]   (the code on stdin),\n"
      "  or 'Enroll this device' in credgate-manager.\n"
      "The client makes its own P-256 key, which never leaves it, and receives a\n"
      "certificate for NAME.  A new enrollment of NAME replaces its earlier certificate.\n"
      "\n"
      "  --expires DURATION   how long the code works (default 1h, at most 7d)\n"
      "  --validity DURATION  how long the certificate is valid (default: client_cert_days\n"
      "                       in the agent's config, 395 days)\n"
      "DURATION: a number with s, m, h or d (90s, 15m, 1h, 30d).\n";

static const char list_help[]
    = "Usage: credgatectl client list\n"
      "\n"
      "Enrolled clients and pending codes: name, state (active, expired, revoked,\n"
      "superseded by a newer enrollment, or pending: a code not used yet), the SHA-256\n"
      "pin of the client's public key, the certificate's serial, when it was enrolled,\n"
      "when it expires and when it was last used.  With --json, a JSON array.\n";

static const char revoke_help[]
    = "Usage: credgatectl client revoke NAME\n"
      "\n"
      "Every certificate enrolled for NAME is refused (403 client_certificate_refused)\n"
      "from its next request on, also on a connection already open; a pending code for\n"
      "NAME is dropped.  Enroll NAME again to let it back in.\n";


static int
usage (const char *verb, const char *message)
{
  fprintf (stderr, "credgatectl: %s\nTry 'credgatectl client %s%s--help'.\n", message,
           verb ? verb : "", verb ? " " : "");
  return EXIT_USAGE;
}

gboolean
cg_ctl_parse_duration (const char *text, gint64 *seconds)
{
  static const struct
  {
    char unit;
    gint64 factor;
  } units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
  char *end = NULL;
  if (!text || !g_ascii_isdigit (*text))
    return FALSE;
  guint64 n = g_ascii_strtoull (text, &end, 10);
  gint64 factor = 0;
  if (*end == '\0')
    factor = 1;
  for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
    if (end[0] == units[i].unit && end[1] == '\0')
      factor = units[i].factor;
  if (!factor || n == 0 || n > (guint64) G_MAXINT64 / (guint64) factor)
    return FALSE;
  *seconds = (gint64) n * factor;
  return TRUE;
}


static void
print_list (json_t *list)
{
  size_t i;
  json_t *c;
  printf ("%-20s %-10s %-52s %-34s %-21s %-21s %s\n", "name", "state", "fingerprint", "serial",
          "enrolled", "expires", "last used");
  json_array_foreach (list, i, c)
    {
      gboolean pending = g_strcmp0 (cg_ctl_str_or (c, "state", ""), "pending") == 0;
      printf ("%-20s %-10s %-52s %-34s %-21s %-21s %s\n", cg_ctl_str_or (c, "name", "?"),
              cg_ctl_str_or (c, "state", "?"), cg_ctl_str_or (c, "fingerprint", "-"), cg_ctl_str_or (c, "serial", "-"),
              cg_ctl_str_or (c, "enrolled", "-"),
              pending ? cg_ctl_str_or (c, "codeExpires", "-") : cg_ctl_str_or (c, "expires", "-"),
              pending ? "(code not used yet)" : cg_ctl_str_or (c, "lastUsed", "never"));
    }
}

/* Parse one verb's options; *rest_argc/rest are what is left (program name
 * first).  Returns -1 to go on, or an exit status. */
static int
parse_verb (const char *verb, const char *help_text, GOptionEntry *entries, int *argc,
            char ***argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  gboolean help = FALSE;
  GOptionEntry help_entry[] = {
    { "help", 'h', 0, G_OPTION_ARG_NONE, &help, NULL, NULL },
    { NULL },
  };
  g_option_context_set_help_enabled (ctx, FALSE);
  if (entries)
    g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_main_entries (ctx, help_entry, NULL);
  if (!g_option_context_parse (ctx, argc, argv, &error))
    return usage (verb, error->message);
  if (help)
    {
      fputs (help_text, stdout);
      return 0;
    }
  return -1;
}

int
cg_ctl_client_run (const char *socket_path, gboolean json, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  json_auto_t *request = NULL;
  const char *verb = argc > 2 ? argv[2] : NULL;

  if (!verb || g_str_equal (verb, "--help") || g_str_equal (verb, "-h")
      || g_str_equal (verb, "help"))
    {
      fputs (client_help, verb ? stdout : stderr);
      return verb ? 0 : EXIT_USAGE;
    }
  /* The verb's own argv: "credgatectl", then what follows the verb. */
  int vargc = argc - 2;
  g_autofree char **vargv = g_new0 (char *, vargc + 1);
  vargv[0] = argv[0];
  for (int i = 3; i < argc; i++)
    vargv[i - 2] = argv[i];
  char **pargv = vargv;
  int r;

  if (g_str_equal (verb, "enroll"))
    {
      g_autofree char *expires = NULL, *validity = NULL;
      GOptionEntry entries[] = {
        { "expires", 0, 0, G_OPTION_ARG_STRING, &expires, NULL, NULL },
        { "validity", 0, 0, G_OPTION_ARG_STRING, &validity, NULL, NULL },
        { NULL },
      };
      if ((r = parse_verb ("enroll", enroll_help, entries, &vargc, &pargv)) >= 0)
        return r;
      if (vargc != 2)
        return usage ("enroll", vargc < 2 ? "'enroll' needs a NAME" : "too many arguments");
      gint64 ttl = 0, valid = 0;
      if (expires && !cg_ctl_parse_duration (expires, &ttl))
        return usage ("enroll", "--expires takes a duration such as 15m, 1h or 2d");
      if (validity && !cg_ctl_parse_duration (validity, &valid))
        return usage ("enroll", "--validity takes a duration such as 30d or 395d");
      request = json_pack ("{s:s, s:s}", "command", "client.enroll", "name", pargv[1]);
      if (expires)
        json_object_set_new (request, "expiresSeconds", json_integer (ttl));
      if (validity)
        json_object_set_new (request, "validitySeconds", json_integer (valid));
    }
  else if (g_str_equal (verb, "list"))
    {
      if ((r = parse_verb ("list", list_help, NULL, &vargc, &pargv)) >= 0)
        return r;
      if (vargc != 1)
        return usage ("list", "'list' takes no arguments");
      request = json_pack ("{s:s}", "command", "client.list");
    }
  else if (g_str_equal (verb, "revoke"))
    {
      if ((r = parse_verb ("revoke", revoke_help, NULL, &vargc, &pargv)) >= 0)
        return r;
      if (vargc != 2)
        return usage ("revoke", vargc < 2 ? "'revoke' needs a NAME" : "too many arguments");
      request = json_pack ("{s:s, s:s}", "command", "client.revoke", "name", pargv[1]);
    }
  else
    {
      g_autofree char *m = g_strdup_printf ("unknown client command '%s'", verb);
      return usage (NULL, m);
    }

  json_auto_t *result = cg_admin_call (socket_path, request, &error);
  if (!result)
    return cg_ctl_fail (error);

  if (g_str_equal (verb, "enroll"))
    {
      /* The code alone on stdout, as for tokens; the rest to stderr. */
      printf ("%s\n", cg_ctl_str_or (result, "code", ""));
      fflush (stdout);
      fprintf (stderr,
               "enrollment code for client \"%s\": single use, until %s; the certificate "
               "will be valid %" JSON_INTEGER_FORMAT " days\n",
               cg_ctl_str_or (result, "name", "?"), cg_ctl_str_or (result, "codeExpires", "?"),
               json_integer_value (json_object_get (result, "validitySeconds")) / 86400);
    }
  else if (json)
    {
      char *text = json_dumps (result, JSON_INDENT (2));
      puts (text);
      free (text);
    }
  else if (g_str_equal (verb, "list"))
    print_list (result);
  else
    printf ("revoked %s\n", cg_ctl_str_or (result, "name", "?"));
  return 0;
}
