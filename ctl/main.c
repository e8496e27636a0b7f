/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgatectl: the host admin's tool.  It talks to the running agent over
 * the admin socket only; it never opens the state directory itself, so the
 * agent stays the one writer of keys and records. */
#include "config.h"

#include "ctl/cg-ctl-util.h"
#include "ctl/cg-admin-call.h"
#include "admin/cg-admin-proto.h"
#include "ctl/cg-ctl-cert.h"
#include "ctl/cg-ctl-backup.h"
#include "ctl/cg-ctl-help.h"
#include "ctl/cg-ctl-client.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


static const char usage_text[]
    = "Usage: credgatectl [--socket PATH] [--json] COMMAND [ARGS]\n"
      "\n"
      "Commands:\n"
      "  status                      the agent's state, addresses, certificate, keys\n"
      "  token create NAME           make an access token; it is printed once, alone\n"
      "  token list                  tokens by name (never the tokens themselves)\n"
      "  token revoke NAME           revoke a token; effective on its next request\n"
      "  credential list             stored credentials (metadata only)\n"
      "  credential delete NAME      remove a stored credential\n"
      "  credential resolve NAME     print a stored credential as JSON, secret included\n"
      "  decrypt [--context NAME]    read an EncryptedCredential on stdin, print the value\n"
      "  key list                    sealing keys: kid, age, values opened and when\n"
      "                              last, current / old / retired\n"
      "  key rotate                  make a new current sealing key; old ones keep opening\n"
      "  key retire KID [--force]    stop a non-current key from opening anything\n"
      "                              (refused while it opened a value in the last 30 days)\n"
      "  cert show | check | install | activate | generate | export\n"
      "                              the TLS certificate ('credgatectl cert --help')\n"
      "  client enroll NAME [--expires 1h] [--validity 395d]\n"
      "                              a one-time code a client enrolls its own key with;\n"
      "                              it then authenticates with a client certificate\n"
      "  client list | revoke NAME   enrolled clients; refuse one from its next request\n"
      "  backup --output FILE [--passphrase-fd N]   keys, records and the certificate,\n"
      "                              under a passphrase\n"
      "  backup --inspect FILE       what a backup holds (no passphrase, no secrets)\n"
      "  restore FILE [--merge] [--passphrase-fd N] [--certificate | --keep-certificate]\n"
      "               [--no-tokens]  bring a backup into this agent (its certificate and\n"
      "                              tokens too, unless --merge, --keep-certificate,\n"
      "                              --no-tokens)\n"
      "  restore --escrow DIR --recipient-key ADMIN.jwk --escrow-signer sha256:FP\n"
      "                              recover the keys from an escrow directory (the old\n"
      "                              host's STATE_DIR/escrow) signed by that signer\n"
      "  escrow add RECIPIENT.jwk    escrow every key to an admin's public key\n"
      "  escrow status               which keys each escrow recipient can recover\n"
      "\n"
      "Run 'credgatectl COMMAND --help' for the details of one.\n"
      "\n"
      "Options:\n"
      "  --socket PATH   the agent's admin socket (default $CREDGATE_ADMIN_SOCKET,\n"
      "                  $XDG_RUNTIME_DIR/credgate/admin.sock, or /run/credgate/admin.sock)\n"
      "  --json          print results as JSON\n"
      "\n"
      "Exit status: 0 success, 1 refused by the agent, 2 usage, 3 agent unreachable.\n";

static gboolean opt_json;

static int usage_error (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

static int
usage_error (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "credgatectl: ");
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fprintf (stderr, "\nTry 'credgatectl --help'.\n");
  return EXIT_USAGE;
}




static void
print_status (json_t *s)
{
  printf ("agent:         %s %s\n", cg_ctl_str_or (s, "agent", "?"), cg_ctl_str_or (s, "version", "?"));
  printf ("pid:           %" JSON_INTEGER_FORMAT "\n", json_integer_value (json_object_get (s, "pid")));
  size_t i;
  json_t *u;
  json_array_foreach (json_object_get (s, "listening"), i, u)
    printf ("listening:     %s\n", json_string_value (u));
  printf ("certificate:   %s\n", cg_ctl_str_or (s, "tlsPin", "-"));
  if (json_is_integer (json_object_get (s, "tlsExpiresInDays")))
    printf ("  expires in:  %" JSON_INTEGER_FORMAT " days (%s)\n",
            json_integer_value (json_object_get (s, "tlsExpiresInDays")),
            cg_ctl_str_or (s, "tlsOrigin", "?"));
  if (json_is_string (json_object_get (s, "tlsWarning")))
    printf ("  WARNING:     %s\n", cg_ctl_str_or (s, "tlsWarning", ""));
  if (json_is_string (json_object_get (s, "nextTlsPin")))
    printf ("  staged next: %s ('credgatectl cert activate' serves it)\n",
            cg_ctl_str_or (s, "nextTlsPin", ""));
  printf ("secret store:  %s\n", cg_ctl_str_or (s, "secretStore", "?"));
  printf ("sealing key:   %s\n", cg_ctl_str_or (s, "kid", "-"));
  printf ("credentials:   %" JSON_INTEGER_FORMAT "\n",
          json_integer_value (json_object_get (s, "credentials")));
  printf ("tokens:        %" JSON_INTEGER_FORMAT "\n",
          json_integer_value (json_object_get (s, "tokens")));
  printf ("clients:       %" JSON_INTEGER_FORMAT " enrolled\n",
          json_integer_value (json_object_get (s, "clients")));
  printf ("state dir:     %s\n", cg_ctl_str_or (s, "stateDir", "-"));
}

static void
print_table (json_t *rows, const char *const *columns)
{
  size_t i;
  json_t *row;
  for (const char *const *c = columns; *c; c++)
    printf ("%-32s", *c);
  printf ("\n");
  json_array_foreach (rows, i, row)
    {
      for (const char *const *c = columns; *c; c++)
        {
          json_t *v = json_object_get (row, *c);
          if (json_is_integer (v))
            printf ("%-32" JSON_INTEGER_FORMAT, json_integer_value (v));
          else
            printf ("%-32s", json_is_string (v) ? json_string_value (v) : "-");
        }
      printf ("\n");
    }
}

/* Read the EncryptedCredential from stdin: bounded, surrounding
 * whitespace dropped. */
static char *
read_stdin_jwe (GError **error)
{
  char *text = NULL;
  gsize len = 0;
  if (!cg_fd_read_capped (STDIN_FILENO, "standard input", 512 * 1024, &text, &len, error))
    return NULL;
  g_strstrip (text);
  if (!*text)
    {
      g_free (text);
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "no EncryptedCredential on standard input");
      return NULL;
    }
  return text;
}

int
main (int argc, char **argv)
{
  g_autofree char *opt_socket = NULL;
  gboolean opt_help = FALSE;
  GOptionEntry entries[] = {
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &opt_socket, NULL, NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, NULL, NULL },
    { "help", 'h', 0, G_OPTION_ARG_NONE, &opt_help, NULL, NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;

  /* credgatectl holds passphrases, keys and resolved plaintexts: no core
   * dumps, no ptrace by other processes of the admin's user. */
  if (!cg_harden_process (&error))
    return cg_ctl_fail (error);
  cg_json_use_wiping_allocator ();
  g_option_context_set_help_enabled (ctx, FALSE);
  g_option_context_set_strict_posix (ctx, TRUE);
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return usage_error ("%s", error->message);
  if (opt_help)
    {
      fputs (usage_text, stdout);
      return 0;
    }
  if (argc < 2)
    return usage_error ("%s", "no command given");
  int help_status;
  if (cg_ctl_help_handle (argc, argv, &help_status))
    return help_status;

  g_autofree char *socket_path = opt_socket ? g_strdup (opt_socket)
                                            : cg_admin_default_socket ();
  const char *group = argv[1];
  const char *verb = argc > 2 ? argv[2] : NULL;
  const char *arg = argc > 3 ? argv[3] : NULL;
  json_auto_t *request = NULL;
  int expected_args = 0;  /* after group (and verb) */

  if (g_str_equal (group, "cert"))
    return cg_ctl_cert_run (socket_path, opt_json, argc, argv);
  if (g_str_equal (group, "client"))
    return cg_ctl_client_run (socket_path, opt_json, argc, argv);
  if (g_str_equal (group, "backup") || g_str_equal (group, "restore")
      || g_str_equal (group, "escrow"))
    return cg_ctl_backup_run (socket_path, opt_json, argc, argv);
  else if (g_str_equal (group, "status"))
    {
      request = json_pack ("{s:s}", "command", "status");
      expected_args = 2;
      verb = NULL;
    }
  else if (g_str_equal (group, "decrypt"))
    {
      const char *context = NULL;
      if (argc == 4 && g_str_equal (argv[2], "--context"))
        context = argv[3];
      else if (argc == 3 && g_str_has_prefix (argv[2], "--context="))
        context = argv[2] + strlen ("--context=");
      else if (argc != 2)
        return usage_error ("decrypt takes only --context NAME; the value comes on %s",
                            "standard input");
      char *jwe = read_stdin_jwe (&error);
      if (!jwe)
        return cg_ctl_fail (error);
      request = json_pack ("{s:s, s:s, s:s*}", "command", "decrypt", "encryptedCredential", jwe,
                           "context", context);
      g_free (jwe);
      expected_args = argc;
    }
  else if (g_str_equal (group, "token") || g_str_equal (group, "credential")
           || g_str_equal (group, "key"))
    {
      if (!verb)
        return usage_error ("'%s' needs a subcommand", group);
      gboolean takes_name = !g_str_equal (verb, "list") && !g_str_equal (verb, "rotate");
      static const char *const token_verbs[] = { "create", "list", "revoke", NULL };
      static const char *const credential_verbs[] = { "list", "delete", "resolve", NULL };
      static const char *const key_verbs[] = { "list", "rotate", "retire", NULL };
      const char *const *verbs = g_str_equal (group, "token")        ? token_verbs
                                 : g_str_equal (group, "credential") ? credential_verbs
                                                                     : key_verbs;
      gboolean known = g_strv_contains (verbs, verb);
      if (!known)
        return usage_error ("unknown subcommand '%s'", verb);
      if (takes_name && !arg)
        return usage_error ("'%s' needs a NAME", verb);
      g_autofree char *command = g_strdup_printf ("%s.%s", group, verb);
      request = json_pack ("{s:s, s:s*}", "command", command, "name", takes_name ? arg : NULL);
      expected_args = takes_name ? 4 : 3;
      /* key retire KID --force: a key still in use (see key list). */
      if (g_str_equal (group, "key") && g_str_equal (verb, "retire") && argc == 5
          && g_str_equal (argv[4], "--force"))
        {
          json_object_set_new (request, "force", json_true ());
          expected_args = 5;
        }
    }
  else
    return usage_error ("unknown command '%s'", group);

  if (argc > expected_args)
    return usage_error ("unexpected argument '%s'", argv[expected_args]);

  json_auto_t *result = cg_admin_call (socket_path, request, &error);
  if (!result)
    return cg_ctl_fail (error);

  if (opt_json && !(g_str_equal (group, "token") && g_str_equal (verb, "create")))
    {
      cg_ctl_print_json (result);
      return 0;
    }

  if (g_str_equal (group, "status"))
    print_status (result);
  else if (g_str_equal (group, "decrypt"))
    {
      const char *value = json_string_value (json_object_get (result, "value"));
      if (value)
        fwrite (value, 1, json_string_length (json_object_get (result, "value")), stdout);
      else
        {
          gsize len = 0;
          guchar *raw = g_base64_decode (cg_ctl_str_or (result, "valueBase64", ""), &len);
          fwrite (raw, 1, len, stdout);
          cg_wipe (raw, len);
          g_free (raw);
        }
      fflush (stdout);
    }
  else if (g_str_equal (group, "key") && g_str_equal (verb, "rotate"))
    printf ("%s\n", cg_ctl_str_or (result, "kid", ""));
  else if (g_str_equal (group, "key") && g_str_equal (verb, "list"))
    {
      size_t i;
      json_t *k;
      printf ("%-44s %-21s %6s %7s %-21s %s\n", "kid", "created", "age", "opened",
              "last opened", "state");
      json_array_foreach (result, i, k)
        {
          g_autofree char *age = g_strdup_printf (
              "%" JSON_INTEGER_FORMAT "d", json_integer_value (json_object_get (k, "ageDays")));
          printf ("%-44s %-21s %6s %7" JSON_INTEGER_FORMAT " %-21s %s\n", cg_ctl_str_or (k, "kid", "?"),
                  cg_ctl_str_or (k, "created", "?"), age,
                  json_integer_value (json_object_get (k, "opened")),
                  cg_ctl_str_or (k, "lastOpened", "never"),
                  json_is_true (json_object_get (k, "current"))   ? "current"
                  : json_is_true (json_object_get (k, "retired")) ? "retired"
                                                                  : "old (still opens)");
        }
    }
  else if (g_str_equal (verb, "create"))
    /* The token alone, so that $(credgatectl token create ci) works. */
    printf ("%s\n", cg_ctl_str_or (result, "token", ""));
  else if (g_str_equal (verb, "list"))
    print_table (result, g_str_equal (group, "token")
                             ? (const char *const[]){ "name", "created", "last_used", NULL }
                             : (const char *const[]){ "name", "type", "version", "updated", NULL });
  else if (g_str_equal (verb, "resolve"))
    cg_ctl_print_json (result);
  else
    printf ("%s %s\n", verb, arg);
  return 0;
}
