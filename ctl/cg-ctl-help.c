/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgatectl COMMAND [SUBCOMMAND] --help: one table of synopses, so each
 * command teaches its own options without reaching the agent.  The cert
 * and client groups keep their own (ctl-cert.c, ctl-client.c). */
#include "config.h"

#include "ctl/cg-ctl-help.h"

#include <stdio.h>
#include <string.h>

#define CG_CTL_GLOBAL_OPTIONS                                                              \
  "\n"                                                                                     \
  "Global options (before COMMAND): --socket PATH (the agent's admin socket), --json.\n" \
  "Exit status: 0 success, 1 refused by the agent, 2 usage, 3 agent unreachable.\n"

static const struct
{
  const char *command;
  const char *sub; /* NULL: the command's own help (its subcommands listed) */
  const char *help;
} helps[] = {
  { "status", NULL,
    "Usage: credgatectl status\n"
    "\n"
    "The agent's state: version, pid, listening addresses, the served certificate's\n"
    "pin and expiry (and a staged next one), the secret store's state, the current\n"
    "sealing key, how many credentials and tokens it holds, its state directory.\n"
    "With --json, the same as a JSON object.\n" CG_CTL_GLOBAL_OPTIONS },

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
    "Run 'credgatectl token SUBCOMMAND --help' for the details of one.\n" CG_CTL_GLOBAL_OPTIONS },
  { "token", "create",
    "Usage: credgatectl token create NAME\n"
    "\n"
    "Makes an access token called NAME ([A-Za-z0-9._-], up to 128) and prints it once,\n"
    "alone on a line, so that TOKEN=$(credgatectl token create ci) works.  The agent\n"
    "keeps only its HMAC: a lost token cannot be shown again; revoke it and make another.\n" CG_CTL_GLOBAL_OPTIONS },
  { "token", "list",
    "Usage: credgatectl token list\n"
    "\n"
    "Lists the tokens by name, with when each was made and last used.  The tokens\n"
    "themselves are never shown.\n" CG_CTL_GLOBAL_OPTIONS },
  { "token", "revoke",
    "Usage: credgatectl token revoke NAME\n"
    "\n"
    "Revokes the token NAME: its next request is refused (401), also on a connection\n"
    "kept alive.\n" CG_CTL_GLOBAL_OPTIONS },

  { "credential", NULL,
    "Usage: credgatectl credential list | delete NAME | resolve NAME\n"
    "\n"
    "The credentials the agent holds, sealed under its master key.\n"
    "\n"
    "  list            stored credentials: name, type, version, last change (no secrets)\n"
    "  delete NAME     remove a stored credential\n"
    "  resolve NAME    print a stored credential as JSON, secret included\n"
    "\n"
    "Run 'credgatectl credential SUBCOMMAND --help' for the details of one.\n" CG_CTL_GLOBAL_OPTIONS },
  { "credential", "list",
    "Usage: credgatectl credential list\n"
    "\n"
    "Lists the stored credentials: name, type, version and last change.  Metadata\n"
    "only, never a secret.\n" CG_CTL_GLOBAL_OPTIONS },
  { "credential", "delete",
    "Usage: credgatectl credential delete NAME\n"
    "\n"
    "Removes the stored credential NAME.\n" CG_CTL_GLOBAL_OPTIONS },
  { "credential", "resolve",
    "Usage: credgatectl credential resolve NAME\n"
    "\n"
    "Prints the stored credential NAME as JSON, its secret included, for a local\n"
    "program.  The admin socket is the only way a plaintext leaves the agent.\n" CG_CTL_GLOBAL_OPTIONS },

  { "decrypt", NULL,
    "Usage: credgatectl decrypt [--context NAME] < value.jwe\n"
    "\n"
    "Reads an EncryptedCredential on standard input and prints the value it seals\n"
    "on standard output, as it was sealed (no newline added).\n"
    "\n"
    "  --context NAME   the context the value was sealed with (a linked service's\n"
    "                   name); a value with a context opens only when it is named,\n"
    "                   one without only when none is\n" CG_CTL_GLOBAL_OPTIONS },

  { "key", NULL,
    "Usage: credgatectl key list | rotate | retire KID [--force]\n"
    "\n"
    "The sealing keys EncryptedCredentials are sealed to.\n"
    "\n"
    "  list                  sealing keys: kid, age, values opened and when last,\n"
    "                        current / old / retired\n"
    "  rotate                make a new current sealing key; old ones keep opening\n"
    "  retire KID [--force]  stop a non-current key from opening anything\n"
    "\n"
    "Run 'credgatectl key SUBCOMMAND --help' for the details of one.\n" CG_CTL_GLOBAL_OPTIONS },
  { "key", "list",
    "Usage: credgatectl key list\n"
    "\n"
    "Lists the sealing keys: kid, when made and age in days, how many values each\n"
    "opened and when it last did, and whether it is current, old (still opens) or\n"
    "retired.\n" CG_CTL_GLOBAL_OPTIONS },
  { "key", "rotate",
    "Usage: credgatectl key rotate\n"
    "\n"
    "Makes a new current sealing key (published in /v1/info) and prints its kid.\n"
    "Values sealed to older keys keep opening; 'credgate-encrypt-value --rewrap' moves\n"
    "them to the new one.\n" CG_CTL_GLOBAL_OPTIONS },
  { "key", "retire",
    "Usage: credgatectl key retire KID [--force]\n"
    "\n"
    "Stops the non-current key KID from opening anything.  It stays in the keyring,\n"
    "so backups keep it.  Refused while the key opened a value in the last 30 days\n"
    "(see 'key list'): rewrap what still uses it first.\n"
    "\n"
    "  --force   retire it all the same\n" CG_CTL_GLOBAL_OPTIONS },

  { "backup", NULL,
    "Usage: credgatectl backup --output FILE [--passphrase-fd N]\n"
    "       credgatectl backup --inspect FILE\n"
    "\n"
    "  --output FILE      write a backup of the keys, the records, the tokens' HMACs,\n"
    "                     the client CA with the enrolled client certificates and the\n"
    "                     served certificate, under a passphrase (8 characters or\n"
    "                     more), atomically, mode 0600\n"
    "  --passphrase-fd N  read the passphrase from descriptor N (e.g. 3<passfile);\n"
    "                     without it, it is asked for on the terminal, without echo\n"
    "  --inspect FILE     show what a backup holds: counts, kids, dates, the KDF cost,\n"
    "                     the certificate's pin, the enrolled clients and the client\n"
    "                     CA's pin (no passphrase, no secrets)\n" CG_CTL_GLOBAL_OPTIONS },

  { "restore", NULL,
    "Usage: credgatectl restore FILE [--merge] [--passphrase-fd N] [--no-tokens]\n"
    "                           [--certificate | --keep-certificate]\n"
    "       credgatectl restore --escrow DIR --recipient-key ADMIN.jwk\n"
    "                           --escrow-signer sha256:FP [--merge]\n"
    "\n"
    "Brings a backup FILE into this agent: fresh (an empty agent becomes the backup),\n"
    "recover (its state.db names keys the keyring lacks) or, with --merge, into an\n"
    "agent in use.  Everything is checked before anything is written, and the\n"
    "restore ends with exactly one current sealing key, or is refused.  The access\n"
    "tokens and client certificates it brings back are listed by name: one revoked on\n"
    "the old agent after the backup was made works again until revoked here.\n"
    "\n"
    "  --merge              add the backup's keys and records to an agent in use\n"
    "                       (its current key stays current; tokens and client\n"
    "                       certificates are not merged: it keeps its own client CA)\n"
    "  --passphrase-fd N    read the passphrase from descriptor N; without it, it is\n"
    "                       asked for on the terminal, without echo\n"
    "  --certificate        serve the backup's certificate even with --merge\n"
    "  --keep-certificate   keep serving this agent's own certificate\n"
    "  --no-tokens          leave the backup's access tokens and its client CA and\n"
    "                       client certificates out (make new tokens with 'credgatectl\n"
    "                       token create', enroll clients with 'credgatectl client\n"
    "                       enroll')\n"
    "  --escrow DIR         recover the keys from an escrow directory (the old host's\n"
    "                       STATE_DIR/escrow, one KID/ folder per key) instead of a FILE\n"
    "  --recipient-key ADMIN.jwk\n"
    "                       the admin's private P-256 JWK the escrow was sealed to; it\n"
    "                       is read here and never reaches the agent\n"
    "  --escrow-signer sha256:FP\n"
    "                       the escrow signing key's fingerprint, as 'escrow add' and\n"
    "                       'escrow status' printed it on the old host: the escrow's\n"
    "                       signed manifest must verify with it, and every file must be\n"
    "                       one it lists, unchanged, or nothing is restored\n" CG_CTL_GLOBAL_OPTIONS },

  { "escrow", NULL,
    "Usage: credgatectl escrow add RECIPIENT.jwk | status\n"
    "\n"
    "Key escrow: every key the agent holds or makes is sealed to each recipient.\n"
    "\n"
    "  add RECIPIENT.jwk   register an admin's public P-256 JWK and escrow every key to it\n"
    "  status              which keys each recipient can recover (exit 1 if one is missing)\n"
    "\n"
    "Run 'credgatectl escrow SUBCOMMAND --help' for the details of one.\n" CG_CTL_GLOBAL_OPTIONS },
  { "escrow", "add",
    "Usage: credgatectl escrow add RECIPIENT.jwk\n"
    "\n"
    "Registers an admin's public P-256 JWK as an escrow recipient and seals every key\n"
    "to it at once; from then on each new key is sealed to it as well, in\n"
    "STATE_DIR/escrow/KID/, with a manifest signed by the agent's escrow signing key.\n"
    "Prints that key's fingerprint: keep it with the recipient's private key, since\n"
    "'restore --escrow DIR --recipient-key ADMIN.jwk --escrow-signer sha256:FP'\n"
    "needs it to recover them.\n" CG_CTL_GLOBAL_OPTIONS },
  { "escrow", "status",
    "Usage: credgatectl escrow status\n"
    "\n"
    "Lists the escrow signing key's fingerprint and, per escrow recipient, its signed\n"
    "manifest's number, which keys it can recover and any file there the agent did not\n"
    "write.  Exit status 1 when a recipient lacks a key or holds such a file.\n" CG_CTL_GLOBAL_OPTIONS },
};

static gboolean
is_help (const char *arg)
{
  return g_str_equal (arg, "--help") || g_str_equal (arg, "-h");
}

static const char *
lookup (const char *command, const char *sub)
{
  for (gsize i = 0; i < G_N_ELEMENTS (helps); i++)
    if (g_str_equal (helps[i].command, command)
        && (sub ? helps[i].sub && g_str_equal (helps[i].sub, sub) : !helps[i].sub))
      return helps[i].help;
  return NULL;
}

static gboolean
has_subcommands (const char *command)
{
  for (gsize i = 0; i < G_N_ELEMENTS (helps); i++)
    if (g_str_equal (helps[i].command, command) && helps[i].sub)
      return TRUE;
  return FALSE;
}

gboolean
cg_ctl_help_handle (int argc, char **argv, int *status)
{
  if (argc < 3)
    return FALSE;
  const char *command = argv[1];
  if (!lookup (command, NULL))
    return FALSE; /* cert answers itself; an unknown command is main's */

  gboolean wanted = g_str_equal (argv[2], "help");
  for (int i = 2; i < argc && !wanted; i++)
    wanted = is_help (argv[i]);
  if (!wanted)
    return FALSE;

  const char *help = lookup (command, NULL);
  /* COMMAND SUBCOMMAND --help: that subcommand's own. */
  if (has_subcommands (command) && !is_help (argv[2]) && !g_str_equal (argv[2], "help"))
    {
      help = lookup (command, argv[2]);
      if (!help)
        {
          fprintf (stderr, "credgatectl: unknown subcommand '%s'\nTry 'credgatectl %s --help'.\n",
                   argv[2], command);
          *status = 2;
          return TRUE;
        }
    }
  fputs (help, stdout);
  *status = 0;
  return TRUE;
}
