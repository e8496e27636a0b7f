/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgatectl's commands that are one request each: status, token,
 * credential, decrypt, key. */
#include "config.h"

#include "ctl/cg-ctl.h"
#include "ctl/cg-admin-call.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-secure.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int
print_status (json_t *s)
{
  printf ("agent:         %s %s\n", cg_tool_str_or (s, "agent", "?"), cg_tool_str_or (s, "version", "?"));
  printf ("pid:           %" JSON_INTEGER_FORMAT "\n", json_integer_value (json_object_get (s, "pid")));
  size_t i;
  json_t *u;
  json_array_foreach (json_object_get (s, "listening"), i, u)
    printf ("listening:     %s\n", json_string_value (u));
  printf ("certificate:   %s\n", cg_tool_str_or (s, "tlsPin", "-"));
  if (json_is_integer (json_object_get (s, "tlsExpiresInDays")))
    printf ("  expires in:  %" JSON_INTEGER_FORMAT " days (%s)\n",
            json_integer_value (json_object_get (s, "tlsExpiresInDays")),
            cg_tool_str_or (s, "tlsOrigin", "?"));
  if (json_is_string (json_object_get (s, "tlsWarning")))
    printf ("  WARNING:     %s\n", cg_tool_str_or (s, "tlsWarning", ""));
  if (json_is_string (json_object_get (s, "nextTlsPin")))
    printf ("  staged next: %s ('credgatectl cert activate' serves it)\n",
            cg_tool_str_or (s, "nextTlsPin", ""));
  printf ("secret store:  %s\n", cg_tool_str_or (s, "secretStore", "?"));
  printf ("sealing key:   %s\n", cg_tool_str_or (s, "kid", "-"));
  printf ("credentials:   %" JSON_INTEGER_FORMAT "\n",
          json_integer_value (json_object_get (s, "credentials")));
  json_t *rotation = json_object_get (s, "rotation");
  if (json_is_true (json_object_get (rotation, "unfinished")))
    printf ("  UNFINISHED:  key rotate --all: %" JSON_INTEGER_FORMAT
            " credentials still under an earlier master key; run '%s' to finish\n",
            json_integer_value (json_object_get (rotation, "credentialsUnderOldMaster")),
            cg_tool_str_or (rotation, "finishWith", "credgatectl key rotate --all"));
  printf ("tokens:        %" JSON_INTEGER_FORMAT "\n",
          json_integer_value (json_object_get (s, "tokens")));
  printf ("clients:       %" JSON_INTEGER_FORMAT " enrolled\n",
          json_integer_value (json_object_get (s, "clients")));
  printf ("state dir:     %s\n", cg_tool_str_or (s, "stateDir", "-"));
  return 0;
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

static int
print_keys (json_t *keys)
{
  size_t i;
  json_t *k;
  printf ("%-44s %-21s %6s %7s %-21s %s\n", "kid", "created", "age", "opened", "last opened",
          "state");
  json_array_foreach (keys, i, k)
    {
      g_autofree char *age = g_strdup_printf (
          "%" JSON_INTEGER_FORMAT "d", json_integer_value (json_object_get (k, "ageDays")));
      printf ("%-44s %-21s %6s %7" JSON_INTEGER_FORMAT " %-21s %s\n",
              cg_tool_str_or (k, "kid", "?"), cg_tool_str_or (k, "created", "?"), age,
              json_integer_value (json_object_get (k, "opened")),
              cg_tool_str_or (k, "lastOpened", "never"),
              json_is_true (json_object_get (k, "current"))   ? "current"
              : json_is_true (json_object_get (k, "retired")) ? "retired"
                                                              : "old (still opens)");
    }
  return 0;
}

/* GROUP NAME [ARG]: the request {"command": "GROUP.NAME", "name": ARG},
 * with --force for key retire.  @what: the argument's name ("a NAME"), or
 * NULL for none.  Returns the result, or NULL with *@status set. */
static json_t *
simple_call (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv, const char *what,
             int *status)
{
  gboolean force = FALSE;
  const GOptionEntry force_entries[] = {
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, NULL, NULL },
    { NULL },
  };
  gboolean retire = g_str_equal (verb->group, "key") && g_str_equal (verb->name, "retire");
  int n = what ? 1 : 0;
  if ((*status = cg_ctl_parse (verb, retire ? force_entries : NULL, n, n, what, &argc, &argv))
      >= 0)
    return NULL;
  g_autofree char *command = g_strdup_printf ("%s.%s", verb->group, verb->name);
  json_auto_t *request
      = json_pack ("{s:s, s:s*}", "command", command, "name", what ? argv[1] : NULL);
  if (force)
    json_object_set_new (request, "force", json_true ());
  /* The token alone even with --json, so that $(credgatectl token create
   * ci) works. */
  if (g_str_equal (command, "token.create"))
    return cg_ctl_call (ctl, request, status);
  return cg_ctl_ask (ctl, request, status);
}

/* token create NAME, token revoke NAME, credential delete NAME, … */
static int
run_named (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  int status;
  const char *what = g_str_equal (verb->group, "key") ? "a KID" : "a NAME";
  json_auto_t *result = simple_call (ctl, verb, argc, argv, what, &status);
  if (!result)
    return status;
  if (g_str_equal (verb->name, "create"))
    printf ("%s\n", cg_tool_str_or (result, "token", ""));
  else if (g_str_equal (verb->name, "resolve"))
    cg_tool_print_json (result);
  else
    printf ("%s %s\n", verb->name, argv[argc - 1]);
  return 0;
}

static int
print_tokens (json_t *result)
{
  print_table (result, (const char *const[]){ "name", "created", "last_used", NULL });
  return 0;
}

static int
print_credentials (json_t *result)
{
  print_table (result, (const char *const[]){ "name", "type", "version", "updated", NULL });
  return 0;
}

/* key rotate: the new kid alone. */
static int
print_kid (json_t *result)
{
  printf ("%s\n", cg_tool_str_or (result, "kid", ""));
  return 0;
}

/* key rotate --all: how far the re-sealing got, on stderr (stdout keeps
 * the result, JSON with --json). */
static void
rotate_progress (json_t *progress, gpointer data)
{
  (void) data;
  fprintf (stderr, "re-sealed %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
           " credentials\n",
           json_integer_value (json_object_get (progress, "done")),
           json_integer_value (json_object_get (progress, "total")));
}

/* key rotate [--all]: without --all a new sealing key and its kid alone,
 * as always. */
static int
run_key_rotate (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  gboolean all = FALSE;
  const GOptionEntry entries[] = {
    { "all", 0, 0, G_OPTION_ARG_NONE, &all, NULL, NULL },
    { NULL },
  };
  int status;
  if ((status = cg_ctl_parse (verb, entries, 0, 0, NULL, &argc, &argv)) >= 0)
    return status;
  if (!all)
    {
      json_auto_t *request = json_pack ("{s:s}", "command", "key.rotate");
      json_auto_t *result = cg_ctl_ask (ctl, request, &status);
      return result ? print_kid (result) : status;
    }
  json_auto_t *request = json_pack ("{s:s, s:b}", "command", "key.rotate_all", "progress", TRUE);
  g_autoptr (GError) error = NULL;
  json_auto_t *result
      = cg_admin_call_progress (ctl->socket, request, rotate_progress, NULL, &error);
  if (!result)
    return cg_ctl_fail (error);
  if (ctl->json)
    {
      cg_tool_print_json (result);
      return 0;
    }
  g_autofree char *retired = NULL;
  {
    g_autoptr (GString) list = g_string_new (NULL);
    gsize i;
    json_t *id;
    json_array_foreach (json_object_get (result, "retiredMasters"), i, id)
      g_string_append_printf (list, "%s%s", list->len ? ", " : "", json_string_value (id));
    retired = g_string_free (g_steal_pointer (&list), FALSE);
  }
  printf ("%s"
          "master key %s and sealing key %s are current\n"
          "%" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
          " credentials re-sealed under the new master key\n"
          "retired master key: %s\n"
          "older sealing keys keep opening the EncryptedCredentials made with them\n",
          json_is_true (json_object_get (result, "resumed"))
              ? "finished a rotation that was cut short\n"
              : "",
          cg_tool_str_or (result, "master", "?"), cg_tool_str_or (result, "kid", "?"),
          json_integer_value (json_object_get (result, "resealed")),
          json_integer_value (json_object_get (result, "credentials")),
          *retired ? retired : "none");
  return 0;
}

static void
print_value (json_t *result)
{
  json_t *value = json_object_get (result, "value");
  if (json_is_string (value))
    fwrite (json_string_value (value), 1, json_string_length (value), stdout);
  else
    {
      gsize len = 0;
      guchar *raw = g_base64_decode (cg_tool_str_or (result, "valueBase64", ""), &len);
      fwrite (raw, 1, len, stdout);
      cg_wipe (raw, len);
      g_free (raw);
    }
  fflush (stdout);
}

static int
run_decrypt (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  g_autofree char *context = NULL;
  const GOptionEntry entries[] = {
    { "context", 0, 0, G_OPTION_ARG_STRING, &context, NULL, NULL },
    { NULL },
  };
  g_autoptr (GError) error = NULL;
  int status = cg_ctl_parse (verb, entries, 0, 0, NULL, &argc, &argv);
  if (status >= 0)
    return status;
  char *jwe = read_stdin_jwe (&error);
  if (!jwe)
    return cg_ctl_fail (error);
  json_auto_t *request = json_pack ("{s:s, s:s, s:s*}", "command", "decrypt",
                                    "encryptedCredential", jwe, "context", context);
  g_free (jwe);
  json_auto_t *result = cg_ctl_ask (ctl, request, &status);
  if (!result)
    return status;
  print_value (result);
  return 0;
}

const CgCtlVerb cg_ctl_basic_verbs[] = {
  { "status", NULL,
    "Usage: credgatectl status\n"
    "\n"
    "The agent's state: version, pid, listening addresses, the served certificate's\n"
    "pin and expiry (and a staged next one), the secret store's state, the current\n"
    "sealing key, how many credentials and tokens it holds, its state directory.\n"
    "With --json, the same as a JSON object.\n" CG_CTL_HELP_FOOTER,
    cg_ctl_run_show, print_status },

  { "token", NULL,
    "Usage: credgatectl token create NAME | list | revoke NAME\n"
    "\n"
    "Access tokens for the HTTPS API (Authorization: Bearer).  The agent keeps only\n"
    "an HMAC of each one.\n"
    "\n"
    "  create NAME   make a token; it is printed once, alone on a line\n"
    "  list          tokens by name, when made and last used (never the tokens)\n"
    "  revoke NAME   revoke a token; effective on its next request\n"
    "\n"
    "Run 'credgatectl token SUBCOMMAND --help' for the details of one.\n" CG_CTL_HELP_FOOTER, NULL },
  { "token", "create",
    "Usage: credgatectl token create NAME\n"
    "\n"
    "Makes an access token called NAME ([A-Za-z0-9._-], up to 128) and prints it once,\n"
    "alone on a line, so that TOKEN=$(credgatectl token create ci) works.  The agent\n"
    "keeps only its HMAC: a lost token cannot be shown again; revoke it and make another.\n" CG_CTL_HELP_FOOTER,
    run_named },
  { "token", "list",
    "Usage: credgatectl token list\n"
    "\n"
    "Lists the tokens by name, with when each was made and last used.  The tokens\n"
    "themselves are never shown.\n" CG_CTL_HELP_FOOTER,
    cg_ctl_run_show, print_tokens },
  { "token", "revoke",
    "Usage: credgatectl token revoke NAME\n"
    "\n"
    "Revokes the token NAME: its next request is refused (401), also on a connection\n"
    "kept alive.\n" CG_CTL_HELP_FOOTER,
    run_named },

  { "credential", NULL,
    "Usage: credgatectl credential list | delete NAME | resolve NAME\n"
    "\n"
    "The credentials the agent holds, sealed under its master key.\n"
    "\n"
    "  list            stored credentials: name, type, version, last change (no secrets)\n"
    "  delete NAME     remove a stored credential\n"
    "  resolve NAME    print a stored credential as JSON, secret included\n"
    "\n"
    "Run 'credgatectl credential SUBCOMMAND --help' for the details of one.\n" CG_CTL_HELP_FOOTER, NULL },
  { "credential", "list",
    "Usage: credgatectl credential list\n"
    "\n"
    "Lists the stored credentials: name, type, version and last change.  Metadata\n"
    "only, never a secret.\n" CG_CTL_HELP_FOOTER,
    cg_ctl_run_show, print_credentials },
  { "credential", "delete",
    "Usage: credgatectl credential delete NAME\n"
    "\n"
    "Removes the stored credential NAME.\n" CG_CTL_HELP_FOOTER,
    run_named },
  { "credential", "resolve",
    "Usage: credgatectl credential resolve NAME\n"
    "\n"
    "Prints the stored credential NAME as JSON, its secret included, for a local\n"
    "program.  The admin socket is the only way a plaintext leaves the agent.\n" CG_CTL_HELP_FOOTER,
    run_named },

  { "decrypt", NULL,
    "Usage: credgatectl decrypt [--context NAME] < value.jwe\n"
    "\n"
    "Reads an EncryptedCredential on standard input and prints the value it seals\n"
    "on standard output, as it was sealed (no newline added).\n"
    "\n"
    "  --context NAME   the context the value was sealed with (a linked service's\n"
    "                   name); a value with a context opens only when it is named,\n"
    "                   one without only when none is\n" CG_CTL_HELP_FOOTER,
    run_decrypt },

  { "key", NULL,
    "Usage: credgatectl key list | rotate [--all] | retire KID [--force]\n"
    "\n"
    "The sealing keys EncryptedCredentials are sealed to.\n"
    "\n"
    "  list                  sealing keys: kid, age, values opened and when last,\n"
    "                        current / old / retired\n"
    "  rotate                make a new current sealing key; old ones keep opening\n"
    "  rotate --all          new master key and sealing key, every credential re-sealed\n"
    "  retire KID [--force]  stop a non-current key from opening anything\n"
    "\n"
    "Run 'credgatectl key SUBCOMMAND --help' for the details of one.\n" CG_CTL_HELP_FOOTER, NULL },
  { "key", "list",
    "Usage: credgatectl key list\n"
    "\n"
    "Lists the sealing keys: kid, when made and age in days, how many values each\n"
    "opened and when it last did, and whether it is current, old (still opens) or\n"
    "retired.\n" CG_CTL_HELP_FOOTER,
    cg_ctl_run_show, print_keys },
  { "key", "rotate",
    "Usage: credgatectl key rotate [--all]\n"
    "\n"
    "Makes a new current sealing key (published in /v1/info) and prints its kid.\n"
    "Values sealed to older keys keep opening; 'credgate-encrypt-value --rewrap' moves\n"
    "them to the new one.\n"
    "\n"
    "  --all   also a new master key: every stored credential is re-sealed under it,\n"
    "          in batches (progress on stderr) while the agent keeps serving, then\n"
    "          the old master key is retired.  After a node left a cluster (or a\n"
    "          copy of the keyring leaked), its copy opens nothing stored or sealed\n"
    "          afterwards.  Cut short, the agent keeps opening everything, and running\n"
    "          it again finishes the job.\n" CG_CTL_HELP_FOOTER,
    run_key_rotate },
  { "key", "retire",
    "Usage: credgatectl key retire KID [--force]\n"
    "\n"
    "Stops the non-current key KID from opening anything.  It stays in the keyring,\n"
    "so backups keep it.  Refused while the key opened a value in the last 30 days\n"
    "(see 'key list'): rewrap what still uses it first.\n"
    "\n"
    "  --force   retire it all the same\n" CG_CTL_HELP_FOOTER,
    run_named },
  { NULL },
};
