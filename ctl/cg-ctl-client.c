/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgatectl client …: enrollment codes for client certificates, the list
 * of enrolled clients, and revocation. */
#include "config.h"

#include "ctl/cg-ctl.h"
#include "common/cg-error.h"
#include "common/cg-secure.h"

#include <stdio.h>
#include <string.h>


static const char client_help[]
    = "Usage: credgatectl client SUBCOMMAND [OPTIONS]\n"
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
      "Run 'credgatectl client SUBCOMMAND --help' for the details of one.\n" CG_CTL_HELP_FOOTER;

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
      "DURATION: a number with s, m, h or d (90s, 15m, 1h, 30d).\n" CG_CTL_HELP_FOOTER;

static const char list_help[]
    = "Usage: credgatectl client list\n"
      "\n"
      "Enrolled clients and pending codes: name, state (active, expired, revoked,\n"
      "superseded by a newer enrollment, or pending: a code not used yet), the SHA-256\n"
      "pin of the client's public key, the certificate's serial, when it was enrolled,\n"
      "when it expires and when it was last used.  With --json, a JSON array.\n" CG_CTL_HELP_FOOTER;

static const char revoke_help[]
    = "Usage: credgatectl client revoke NAME\n"
      "\n"
      "Every certificate enrolled for NAME is refused (403 client_certificate_refused)\n"
      "from its next request on, also on a connection already open; a pending code for\n"
      "NAME is dropped.  Enroll NAME again to let it back in.\n" CG_CTL_HELP_FOOTER;


static int
print_list (json_t *list)
{
  size_t i;
  json_t *c;
  printf ("%-20s %-10s %-52s %-34s %-21s %-21s %s\n", "name", "state", "fingerprint", "serial",
          "enrolled", "expires", "last used");
  json_array_foreach (list, i, c)
    {
      gboolean pending = g_strcmp0 (cg_tool_str_or (c, "state", ""), "pending") == 0;
      printf ("%-20s %-10s %-52s %-34s %-21s %-21s %s\n", cg_tool_str_or (c, "name", "?"),
              cg_tool_str_or (c, "state", "?"), cg_tool_str_or (c, "fingerprint", "-"), cg_tool_str_or (c, "serial", "-"),
              cg_tool_str_or (c, "enrolled", "-"),
              pending ? cg_tool_str_or (c, "codeExpires", "-") : cg_tool_str_or (c, "expires", "-"),
              pending ? "(code not used yet)" : cg_tool_str_or (c, "lastUsed", "never"));
    }
  return 0;
}

static int
run_enroll (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  g_autofree char *expires = NULL, *validity = NULL;
  const GOptionEntry entries[] = {
    { "expires", 0, 0, G_OPTION_ARG_STRING, &expires, NULL, NULL },
    { "validity", 0, 0, G_OPTION_ARG_STRING, &validity, NULL, NULL },
    { NULL },
  };
  int status = cg_ctl_parse (verb, entries, 1, 1, "a NAME", &argc, &argv);
  if (status >= 0)
    return status;
  gint64 ttl = 0, valid = 0;
  if (expires && !cg_ctl_parse_duration (expires, &ttl))
    return cg_ctl_usage (verb, "--expires takes a duration such as 15m, 1h or 2d");
  if (validity && !cg_ctl_parse_duration (validity, &valid))
    return cg_ctl_usage (verb, "--validity takes a duration such as 30d or 395d");
  json_auto_t *request = json_pack ("{s:s, s:s}", "command", "client.enroll", "name", argv[1]);
  if (expires)
    json_object_set_new (request, "expiresSeconds", json_integer (ttl));
  if (validity)
    json_object_set_new (request, "validitySeconds", json_integer (valid));
  json_auto_t *result = cg_ctl_call (ctl, request, &status);
  if (!result)
    return status;
  /* The code alone on stdout, as for tokens (also with --json); the rest
   * to stderr. */
  printf ("%s\n", cg_tool_str_or (result, "code", ""));
  fflush (stdout);
  fprintf (stderr,
           "enrollment code for client \"%s\": single use, until %s; the certificate "
           "will be valid %" JSON_INTEGER_FORMAT " days\n",
           cg_tool_str_or (result, "name", "?"), cg_tool_str_or (result, "codeExpires", "?"),
           json_integer_value (json_object_get (result, "validitySeconds")) / 86400);
  return 0;
}

static int
run_revoke (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  int status = cg_ctl_parse (verb, NULL, 1, 1, "a NAME", &argc, &argv);
  if (status >= 0)
    return status;
  json_auto_t *request = json_pack ("{s:s, s:s}", "command", "client.revoke", "name", argv[1]);
  json_auto_t *result = cg_ctl_ask (ctl, request, &status);
  if (!result)
    return status;
  printf ("revoked %s\n", cg_tool_str_or (result, "name", "?"));
  return 0;
}

const CgCtlVerb cg_ctl_client_verbs[] = {
  { "client", NULL, client_help, NULL },
  { "client", "enroll", enroll_help, run_enroll },
  { "client", "list", list_help, cg_ctl_run_show, print_list },
  { "client", "revoke", revoke_help, run_revoke },
  { NULL },
};
