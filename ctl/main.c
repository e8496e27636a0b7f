/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgatectl: the host admin's tool.  It talks to the running agent over
 * the admin socket only; it never opens the state directory itself, so the
 * agent stays the one writer of keys and records.  This file parses the
 * global options and finds the command in the tables of ctl/cg-ctl-*.c;
 * each command parses its own options (ctl/cg-ctl.h). */
#include "config.h"

#include "ctl/cg-ctl.h"
#include "admin/cg-admin-proto.h"

#include <stdio.h>
#include <string.h>

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
      "  key rotate --all            new master key and sealing key; credentials re-sealed\n"
      "  key retire KID [--force]    stop a non-current key from opening anything\n"
      "                              (refused while it opened a value in the last 30 days)\n"
      "  cert show | check | install | activate | generate | export\n"
      "                              the TLS certificate ('credgatectl cert --help')\n"
      "  client enroll NAME [--expires 1h] [--validity 395d]\n"
      "                              a one-time code a client enrolls its own key with;\n"
      "                              it then authenticates with a client certificate\n"
      "  client list | revoke NAME   enrolled clients; refuse one from its next request\n"
      "  cluster init --etcd URL[,URL…] --etcd-ca F --etcd-cert F --etcd-key F [--name N]\n"
      "                              make a cluster of this agent (its state moves into etcd)\n"
      "  cluster invite [--expires 1h]  a one-time join code for a new node\n"
      "  cluster join --etcd … --etcd-ca … --etcd-cert … --etcd-key … [--name N]\n"
      "                              join this empty agent (the code is asked, never argv)\n"
      "  cluster status | remove NODE   the nodes and etcd; take a node out\n"
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

static const CgCtlVerb *const tables[] = {
  cg_ctl_basic_verbs,
  cg_ctl_cert_verbs,
  cg_ctl_client_verbs,
  cg_ctl_cluster_verbs,
  cg_ctl_backup_verbs,
};

static gboolean
is_help (const char *arg)
{
  return g_str_equal (arg, "--help") || g_str_equal (arg, "-h") || g_str_equal (arg, "help");
}

/* The row for @group and @name (NULL: the group's own row). */
static const CgCtlVerb *
find_verb (const char *group, const char *name)
{
  for (gsize t = 0; t < G_N_ELEMENTS (tables); t++)
    for (const CgCtlVerb *v = tables[t]; v->group; v++)
      if (g_str_equal (v->group, group)
          && (name ? v->name && g_str_equal (v->name, name) : !v->name))
        return v;
  return NULL;
}

/* "create, list, revoke": the group's subcommands (transfer full). */
static char *
subcommands_of (const char *group)
{
  g_autoptr (GString) list = g_string_new (NULL);
  for (gsize t = 0; t < G_N_ELEMENTS (tables); t++)
    for (const CgCtlVerb *v = tables[t]; v->group; v++)
      if (g_str_equal (v->group, group) && v->name)
        g_string_append_printf (list, "%s%s", list->len ? ", " : "", v->name);
  return g_string_free (g_steal_pointer (&list), FALSE);
}

/* credgatectl GROUP [NAME] ARGS…: find the row and run it with ARGS after
 * argv[0]. */
static int
dispatch (const CgCtl *ctl, int argc, char **argv)
{
  const char *group = argv[1];
  const CgCtlVerb *verb = find_verb (group, NULL);
  if (!verb)
    return cg_tool_usage (NULL, "unknown command '%s'", group);
  int skip = 2;
  if (!verb->run)
    {
      g_autofree char *subs = subcommands_of (group);
      if (argc < 3)
        return cg_ctl_usage (verb, "'%s' needs a subcommand: %s", group, subs);
      if (is_help (argv[2]))
        {
          fputs (verb->help, stdout);
          return 0;
        }
      verb = find_verb (group, argv[2]);
      if (!verb)
        return cg_tool_usage (group, "unknown subcommand '%s' (%s takes %s)", argv[2], group, subs);
      skip = 3;
    }
  /* The command's own argv: "credgatectl", then its arguments. */
  int vargc = argc - skip + 1;
  g_autofree char **vargv = g_new0 (char *, vargc + 1);
  vargv[0] = argv[0];
  for (int i = skip; i < argc; i++)
    vargv[i - skip + 1] = argv[i];
  return verb->run (ctl, verb, vargc, vargv);
}

int
main (int argc, char **argv)
{
  g_autofree char *opt_socket = NULL;
  gboolean opt_json = FALSE;
  const GOptionEntry entries[] = {
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &opt_socket, NULL, NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, NULL, NULL },
    { NULL },
  };
  g_autoptr (GError) error = NULL;

  if (!cg_tool_init ("credgatectl", &error))
    return cg_ctl_fail (error);
  /* The global options come before COMMAND; the rest is the command's. */
  int status = cg_tool_parse (entries, TRUE, NULL, usage_text, &argc, &argv);
  if (status >= 0)
    return status;
  if (argc < 2)
    return cg_tool_usage (NULL, "no command given");
  g_autofree char *socket = opt_socket ? g_strdup (opt_socket) : cg_admin_default_socket ();
  CgCtl ctl = { .socket = socket, .json = opt_json };
  return dispatch (&ctl, argc, argv);
}
