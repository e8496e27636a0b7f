/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgate-encrypt-value: EncryptedCredential for a value or a linked
 * service, online through the agent or offline to its sealing key.  This
 * file only parses and checks options; cli/cg-encrypt-cmd.c does the work. */
#include "config.h"

#include <getopt.h>
#include <locale.h>
#include <stdio.h>

#include "cli/cg-encrypt-cmd.h"
#include "cli/cg-exit.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"
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
      "  --agent HOST[:PORT]      the agent (port 8050 by default; IPv6 as [ADDR]:PORT)\n"
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
      "                           and record its key there\n"
      "  --context NAME           bind the value to a linked service name\n"
      "  --json                   print {\"encryptedCredential\",\"kid\",\"context\"} (or the verify reply)\n"
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

enum
{
  OPT_AGENT = 256,
  OPT_INPUT,
  OPT_TOKEN_FILE,
  OPT_PIN,
  OPT_TOFU,
  OPT_CONTEXT,
  OPT_JSON,
  OPT_LINKED_SERVICE,
  OPT_FORCE,
  OPT_FETCH_KEY,
  OPT_KEY,
  OPT_VERIFY,
  OPT_REWRAP,
  OPT_ENROLL,
  OPT_CLIENT_CERT,
  OPT_CLIENT_KEY,
};

static const struct option long_options[] = {
  { "agent", required_argument, NULL, OPT_AGENT },
  { "input", required_argument, NULL, OPT_INPUT },
  { "token-file", required_argument, NULL, OPT_TOKEN_FILE },
  { "pin", required_argument, NULL, OPT_PIN },
  { "trust-on-first-use", no_argument, NULL, OPT_TOFU },
  { "context", required_argument, NULL, OPT_CONTEXT },
  { "json", no_argument, NULL, OPT_JSON },
  { "linked-service", required_argument, NULL, OPT_LINKED_SERVICE },
  { "force", no_argument, NULL, OPT_FORCE },
  { "fetch-key", required_argument, NULL, OPT_FETCH_KEY },
  { "key", required_argument, NULL, OPT_KEY },
  { "verify", no_argument, NULL, OPT_VERIFY },
  { "rewrap", no_argument, NULL, OPT_REWRAP },
  { "enroll", no_argument, NULL, OPT_ENROLL },
  { "client-cert", required_argument, NULL, OPT_CLIENT_CERT },
  { "client-key", required_argument, NULL, OPT_CLIENT_KEY },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static int
check_options (const CgEncryptOptions *o)
{
  if (o->pin && !cg_pin_is_valid (o->pin))
    return cg_exit_usage ("--pin must be sha256: and the base64 of 32 bytes");
  if (o->context && !cg_name_is_valid (o->context))
    return cg_exit_usage ("--context must be a name: [A-Za-z0-9._-]{1,128}");
  if (o->pin && o->trust_on_first_use)
    return cg_exit_usage ("--pin and --trust-on-first-use exclude each other");
  if (!o->client_cert != !o->client_key)
    return cg_exit_usage ("--client-cert and --client-key go together");
  if (o->enroll)
    {
      if (!o->agent || o->key_file || o->fetch_key || o->verify || o->rewrap
          || o->linked_service || o->context || o->token_file || o->force || o->in_place)
        return cg_exit_usage ("--enroll takes --agent and only --pin, --trust-on-first-use, "
                              "--input, --client-cert/--client-key and --json");
      return 0;
    }
  if (o->client_cert && (o->key_file || o->fetch_key || o->token_file))
    return cg_exit_usage ("--client-cert authenticates to an --agent, instead of --token-file");
  if (o->fetch_key)
    {
      if (o->agent || o->key_file || o->verify || o->linked_service || o->input || o->context)
        return cg_exit_usage ("--fetch-key takes only --pin, --trust-on-first-use");
      return 0;
    }
  if (o->key_file && (o->agent || o->pin || o->trust_on_first_use || o->token_file))
    return cg_exit_usage ("--key works offline: no --agent, --pin, --trust-on-first-use or "
                          "--token-file");
  if (!o->key_file && !o->agent)
    return cg_exit_usage ("say where to encrypt: --agent HOST[:PORT] or --key FILE");
  if (o->rewrap && (o->key_file || o->verify || o->force))
    return cg_exit_usage ("--rewrap asks an --agent; it takes no --key, --verify or --force");
  if (o->rewrap)
    return (o->in_place && (!o->linked_service || g_str_equal (o->linked_service, "-")))
               ? cg_exit_usage ("-i rewrites a --linked-service FILE")
               : 0;
  if (o->verify && (o->key_file || o->linked_service))
    return cg_exit_usage ("--verify asks an --agent about one value");
  if (o->linked_service && (o->context || o->input))
    return cg_exit_usage ("with --linked-service the context is the linked service's name "
                          "and the input is the file");
  if (o->in_place && (!o->linked_service || g_str_equal (o->linked_service, "-")))
    return cg_exit_usage ("-i rewrites a --linked-service FILE");
  if (o->force && !o->linked_service)
    return cg_exit_usage ("--force applies to --linked-service");
  return 0;
}

int
main (int argc, char **argv)
{
  CgEncryptOptions o = { 0 };
  int c, r;

  setlocale (LC_ALL, "");
  /* The process holds plaintext: no core dumps, no ptrace by peers. */
  g_autoptr (GError) error = NULL;
  if (!cg_harden_process (&error))
    return cg_exit_fail (error);
  cg_json_use_wiping_allocator ();

  opterr = 0;
  while ((c = getopt_long (argc, argv, "hi", long_options, NULL)) != -1)
    switch (c)
      {
      case OPT_AGENT: o.agent = optarg; break;
      case OPT_INPUT: o.input = optarg; break;
      case OPT_TOKEN_FILE: o.token_file = optarg; break;
      case OPT_PIN: o.pin = optarg; break;
      case OPT_TOFU: o.trust_on_first_use = TRUE; break;
      case OPT_CONTEXT: o.context = optarg; break;
      case OPT_JSON: o.json = TRUE; break;
      case OPT_LINKED_SERVICE: o.linked_service = optarg; break;
      case 'i': o.in_place = TRUE; break;
      case OPT_FORCE: o.force = TRUE; break;
      case OPT_FETCH_KEY: o.fetch_key = optarg; break;
      case OPT_KEY: o.key_file = optarg; break;
      case OPT_VERIFY: o.verify = TRUE; break;
      case OPT_REWRAP: o.rewrap = TRUE; break;
      case OPT_ENROLL: o.enroll = TRUE; break;
      case OPT_CLIENT_CERT: o.client_cert = optarg; break;
      case OPT_CLIENT_KEY: o.client_key = optarg; break;
      case 'h':
        fputs (usage_text, stdout);
        return CG_EXIT_OK;
      default:
        if (optopt && optopt < 256)
          return cg_exit_usage ("unknown option -%c", optopt);
        return cg_exit_usage ("unknown option or missing argument: %s", argv[optind - 1]);
      }
  if (optind < argc)
    return cg_exit_usage ("unexpected argument \"%s\": the value is never taken from the "
                          "command line; give it on stdin, with --input FILE or at the prompt",
                          argv[optind]);
  if ((r = check_options (&o)) != 0)
    return r;
  return cg_encrypt_cmd_run (&o);
}
