/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgate-encrypt-value: EncryptedCredential for a value or a linked
 * service, online through the agent or offline to its sealing key.  This
 * file only parses (GOptionContext) and checks options; cli/cg-encrypt-cmd.c does the work. */
#include "config.h"

#include <locale.h>
#include <stdio.h>

#include "cli/cg-encrypt-cmd.h"
#include "cli/cg-exit.h"
#include "protocol/cg-known-agents.h"
#include "protocol/cg-names.h"

static const char usage_text[]
    = "Usage: credgate-encrypt-value --agent HOST[:PORT] [OPTIONS]     value on stdin, --input or prompt\n"
      "       credgate-encrypt-value --agent HOST[:PORT] --linked-service FILE|- [-i] [--force]\n"
      "       credgate-encrypt-value --key FILE [--context NAME | --linked-service FILE|- ...]\n"
      "       credgate-encrypt-value --fetch-key HOST[:PORT] [--pin PIN | --trust-on-first-use]\n"
      "       credgate-encrypt-value --agent HOST[:PORT] --verify [--context NAME]\n"
      "       credgate-encrypt-value --agent HOST[:PORT] --rewrap [--context NAME | --linked-service FILE [-i]]\n"
      "       credgate-encrypt-value --agent HOST[:PORT] --enroll     the code on stdin, --input or prompt\n"
      "\n"
      "Seals a value as an EncryptedCredential (JWE, ECDH-ES + A256GCM, P-256) that only the\n"
      "agent can open.  The value is never taken from the command line: it comes on stdin,\n"
      "from --input FILE, or from a prompt that does not echo (one trailing newline is dropped).\n"
      "\n"
      "Options:\n"
      "  --agent HOST[:PORT]      the agent (port 8050 by default; IPv6 as [ADDR]:PORT); a\n"
      "                           comma list (gw1,gw2,gw3: a cluster's nodes) is tried in\n"
      "                           order, the next one only when an agent cannot be reached or\n"
      "                           answers 503 (nothing done there), never after a refusal\n"
      "  -v, --verbose            say which agent answered, and why others did not\n"
      "  --input FILE             read the value from FILE instead of stdin\n"
      "  --token-file FILE        access token (default $CREDGATE_TOKEN_FILE, else\n"
      "                           $XDG_CONFIG_HOME/credgate/token); not needed once enrolled\n"
      "  --enroll                 enroll this client with a one-time code from the agent's\n"
      "                           admin (credgatectl client enroll NAME): makes a P-256 key,\n"
      "                           has the agent certify it, and keeps both in\n"
      "                           $XDG_CONFIG_HOME/credgate/client-HOST_PORT.crt and .key (0600);\n"
      "                           from then on requests to that agent use the certificate\n"
      "                           and no token\n"
      "  --client-cert FILE, --client-key FILE\n"
      "                           authenticate with this client certificate and key instead\n"
      "                           (with --enroll: where to write them)\n"
      "  --pin sha256:BASE64      trust exactly this certificate key (see credgatectl status)\n"
      "  --trust-on-first-use     trust an agent not yet in $XDG_CONFIG_HOME/credgate/known_agents\n"
      "                           and record its key there.  A trusted node of a cluster lists\n"
      "                           the other nodes and their keys (/v1/info); they are recorded\n"
      "                           there too (\"via\" that node), and checked like any other\n"
      "  --context NAME           bind the value to a linked service name\n"
      "  --json                   print {\"encryptedCredential\",\"kid\",\"context\",\"agent\"} (or the\n"
      "                           verify reply with \"agent\"): \"agent\" is the one that answered\n"
      "  --linked-service FILE|-  encrypt the secrets of a linked-service JSON file; the output is\n"
      "                           the file without them, with typeProperties.encryptedCredential\n"
      "                           bound to the linked service's name\n"
      "  -i                       with --linked-service FILE: rewrite FILE in place (atomically)\n"
      "  --force                  replace an encryptedCredential the file already holds\n"
      "  --fetch-key HOST[:PORT]  print the agent's sealing public key (JWK with kid), fetched\n"
      "                           over a pinned connection\n"
      "  --key FILE               encrypt offline to that JWK; no network at all\n"
      "  --verify                 ask the agent whether it can open the EncryptedCredential on\n"
      "                           stdin (or --input): \"ok KID\", or exit status 7\n"
      "  --rewrap                 have the agent re-seal an EncryptedCredential (stdin, --input)\n"
      "                           or a linked-service file's encryptedCredential to its current\n"
      "                           key, after `credgatectl key rotate`; the value never leaves it\n"
      "  -h, --help               this text\n"
      "\n"
      "Exit status:\n"
      "  0 success          1 other failure       2 usage\n"
      "  3 agent unreachable (connection, TLS, timeout)\n"
      "  4 pin mismatch: the agent's key is not the pinned, known or first-use one\n"
      "  5 not authorised: no token, token rejected, too many failed attempts\n"
      "  6 bad input: the value, file, key or EncryptedCredential is unusable\n"
      "  7 refused: the file already holds an encryptedCredential, or the agent cannot\n"
      "    decrypt the value (--verify)\n";

static int
check_options (const CgEncryptOptions *o)
{
  if (o->pin && !cg_pin_is_valid (o->pin))
    return cg_tool_usage (NULL, "--pin must be sha256: and the base64 of 32 bytes");
  if (o->context && !cg_name_is_valid (o->context))
    return cg_tool_usage (NULL, "--context must be a name: [A-Za-z0-9._-]{1,128}");
  if (o->pin && o->trust_on_first_use)
    return cg_tool_usage (NULL, "--pin and --trust-on-first-use exclude each other");
  if (!o->client_cert != !o->client_key)
    return cg_tool_usage (NULL, "--client-cert and --client-key go together");
  const char *list = o->agent ? o->agent : o->fetch_key;
  if (list)
    {
      g_autoptr (GError) error = NULL;
      g_auto (GStrv) agents = cg_encrypt_agent_list (list, &error);
      if (!agents)
        return cg_tool_usage (NULL, "--%s: %s", o->agent ? "agent" : "fetch-key", error->message);
      if (o->enroll && g_strv_length (agents) > 1)
        return cg_tool_usage (NULL, "--enroll enrolls with one agent: give one --agent");
    }
  if (o->enroll)
    {
      if (!o->agent || o->key_file || o->fetch_key || o->verify || o->rewrap
          || o->linked_service || o->context || o->token_file || o->force || o->in_place)
        return cg_tool_usage (NULL, "--enroll takes --agent and only --pin, --trust-on-first-use, "
                              "--input, --client-cert/--client-key and --json");
      return 0;
    }
  if (o->client_cert && (o->key_file || o->fetch_key || o->token_file))
    return cg_tool_usage (NULL, "--client-cert authenticates to an --agent, instead of --token-file");
  if (o->fetch_key)
    {
      if (o->agent || o->key_file || o->verify || o->linked_service || o->input || o->context)
        return cg_tool_usage (NULL, "--fetch-key takes only --pin, --trust-on-first-use");
      return 0;
    }
  if (o->key_file && (o->agent || o->pin || o->trust_on_first_use || o->token_file))
    return cg_tool_usage (NULL, "--key works offline: no --agent, --pin, --trust-on-first-use or "
                          "--token-file");
  if (!o->key_file && !o->agent)
    return cg_tool_usage (NULL, "say where to encrypt: --agent HOST[:PORT] or --key FILE");
  if (o->rewrap && (o->key_file || o->verify || o->force))
    return cg_tool_usage (NULL, "--rewrap asks an --agent; it takes no --key, --verify or --force");
  if (o->rewrap)
    return (o->in_place && (!o->linked_service || g_str_equal (o->linked_service, "-")))
               ? cg_tool_usage (NULL, "-i rewrites a --linked-service FILE")
               : 0;
  if (o->verify && (o->key_file || o->linked_service))
    return cg_tool_usage (NULL, "--verify asks an --agent about one value");
  if (o->linked_service && (o->context || o->input))
    return cg_tool_usage (NULL, "with --linked-service the context is the linked service's name "
                          "and the input is the file");
  if (o->in_place && (!o->linked_service || g_str_equal (o->linked_service, "-")))
    return cg_tool_usage (NULL, "-i rewrites a --linked-service FILE");
  if (o->force && !o->linked_service)
    return cg_tool_usage (NULL, "--force applies to --linked-service");
  return 0;
}

/* The options' strings, owned here; CgEncryptOptions borrows them. */
typedef struct
{
  char *agent, *input, *token_file, *pin, *context, *linked_service, *fetch_key, *key_file,
      *client_cert, *client_key;
} OptionStrings;

static void
option_strings_clear (OptionStrings *s)
{
  char **all[] = { &s->agent,     &s->input,          &s->token_file, &s->pin,
                   &s->context,   &s->linked_service, &s->fetch_key,  &s->key_file,
                   &s->client_cert, &s->client_key };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    g_clear_pointer (all[i], g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (OptionStrings, option_strings_clear)

int
main (int argc, char **argv)
{
  CgEncryptOptions o = { 0 };
  g_auto (OptionStrings) str = { 0 };
  int r;
  const GOptionEntry entries[] = {
    { "agent", 0, 0, G_OPTION_ARG_STRING, &str.agent, NULL, NULL },
    { "input", 0, 0, G_OPTION_ARG_FILENAME, &str.input, NULL, NULL },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &str.token_file, NULL, NULL },
    { "pin", 0, 0, G_OPTION_ARG_STRING, &str.pin, NULL, NULL },
    { "trust-on-first-use", 0, 0, G_OPTION_ARG_NONE, &o.trust_on_first_use, NULL, NULL },
    { "context", 0, 0, G_OPTION_ARG_STRING, &str.context, NULL, NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &o.json, NULL, NULL },
    { "linked-service", 0, 0, G_OPTION_ARG_FILENAME, &str.linked_service, NULL, NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &o.force, NULL, NULL },
    { "fetch-key", 0, 0, G_OPTION_ARG_STRING, &str.fetch_key, NULL, NULL },
    { "key", 0, 0, G_OPTION_ARG_FILENAME, &str.key_file, NULL, NULL },
    { "verify", 0, 0, G_OPTION_ARG_NONE, &o.verify, NULL, NULL },
    { "rewrap", 0, 0, G_OPTION_ARG_NONE, &o.rewrap, NULL, NULL },
    { "enroll", 0, 0, G_OPTION_ARG_NONE, &o.enroll, NULL, NULL },
    { "client-cert", 0, 0, G_OPTION_ARG_FILENAME, &str.client_cert, NULL, NULL },
    { "client-key", 0, 0, G_OPTION_ARG_FILENAME, &str.client_key, NULL, NULL },
    { "in-place", 'i', G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &o.in_place, NULL, NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &o.verbose, NULL, NULL },
    { NULL },
  };
  g_autoptr (GError) error = NULL;

  setlocale (LC_ALL, "");
  if (!cg_tool_init ("credgate-encrypt-value", &error))
    return cg_exit_fail (error);
  if ((r = cg_tool_parse (entries, FALSE, NULL, usage_text, &argc, &argv)) >= 0)
    return r;
  if (argc > 1)
    return cg_tool_usage (NULL, "unexpected argument \"%s\": the value is never taken from the "
                                "command line; give it on stdin, with --input FILE or at the "
                                "prompt",
                          argv[1]);
  o.agent = str.agent;
  o.input = str.input;
  o.token_file = str.token_file;
  o.pin = str.pin;
  o.context = str.context;
  o.linked_service = str.linked_service;
  o.fetch_key = str.fetch_key;
  o.key_file = str.key_file;
  o.client_cert = str.client_cert;
  o.client_key = str.client_key;
  if ((r = check_options (&o)) != 0)
    return r;
  return cg_encrypt_cmd_run (&o);
}
