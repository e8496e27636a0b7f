/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgatectl cert …: the admin's certificate commands.  The files are read
 * here, with the admin's rights, and sent with any passphrase over the 0600
 * admin socket; the agent checks them and writes STATE_DIR/tls itself. */
#include "config.h"

#include "ctl/cg-ctl.h"
#include "ctl/cg-admin-call.h"
#include "certs/cg-cert.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-secure.h"

#include <stdio.h>
#include <string.h>

#define FILE_MAX (256 * 1024)
#define PASSPHRASE_MAX 1024


static const char cert_help[]
    = "Usage: credgatectl cert COMMAND [OPTIONS]\n"
      "\n"
      "The agent's TLS certificate.  Clients pin its public key (SHA-256 SPKI pin).\n"
      "\n"
      "  show                        the served certificate and any staged one\n"
      "  check FILES… [--force] [--stage] [--passphrase-fd N]\n"
      "                              what install would do with FILES, and why; changes nothing\n"
      "  install CHAIN.pem KEY.pem | BUNDLE.p12 [--force] [--stage] [--passphrase-fd N]\n"
      "                              serve your own certificate from the next handshake\n"
      "  activate                    serve the certificate staged with install --stage\n"
      "  generate [--key-type TYPE] [--stage]  a new self-signed certificate (new key)\n"
      "  export                      print the served chain (PEM) for clients to pin or trust\n"
      "\n"
      "Run 'credgatectl cert COMMAND --help' for the details of one.\n" CG_CTL_HELP_FOOTER;

static const char show_help[]
    = "Usage: credgatectl cert show\n"
      "\n"
      "Prints the served certificate: subject, names (SANs), issuer, validity and days\n"
      "left, key type, SHA-256 SPKI pin, whether it is self-signed (made and renewed by\n"
      "the agent) or installed (yours; never replaced), and the staged next certificate\n"
      "if there is one.  With --json, the same as a JSON object.\n" CG_CTL_HELP_FOOTER;

static const char install_help[]
    = "Usage: credgatectl cert install CHAIN.pem KEY.pem [--force] [--stage] [--passphrase-fd N]\n"
      "       credgatectl cert install BUNDLE.p12 [--force] [--stage] [--passphrase-fd N]\n"
      "       credgatectl cert install COMBINED.pem [...]   (certificates and key in one file)\n"
      "\n"
      "Checks the certificate and serves it from the next handshake, without a restart;\n"
      "connections in progress finish on the old one.  It is kept across restarts and\n"
      "never replaced by the agent.  A refused certificate changes nothing.\n"
      "\n"
      "CHAIN.pem is your certificate followed by its intermediate CA certificates (PEM,\n"
      "or one DER certificate); KEY.pem its private key (PEM or DER).  Refused: a key that\n"
      "does not match, a certificate that is expired or not yet valid, RSA under 2048\n"
      "bits, a SHA-1 signature, an extended key usage without serverAuth, an empty,\n"
      "garbage or truncated file.  Warned about: under 30 days left, a chain out of\n"
      "order or without its intermediates.\n"
      "\n"
      "  --force            install even though the certificate's names do not name this\n"
      "                     host (clients must then connect by one of its names)\n"
      "  --stage            do not serve it yet: publish its pin as nextTlsPin in\n"
      "                     /v1/info, so clients learn it, then run 'cert activate'\n"
      "  --passphrase-fd N  read the key's (or bundle's) passphrase from descriptor N,\n"
      "                     e.g. --passphrase-fd 3 3<passfile.  Without it, an encrypted\n"
      "                     key's passphrase is asked for on the terminal, without echo.\n"
      "                     It is never taken from the command line or the environment.\n" CG_CTL_HELP_FOOTER;

static const char check_help[]
    = "Usage: credgatectl cert check CHAIN.pem KEY.pem | BUNDLE.p12 [--force] [--stage]\n"
      "                               [--passphrase-fd N]\n"
      "\n"
      "A dry run of 'cert install' with the same files and options: prints what install\n"
      "would do (serve, stage, or refuse and why), the warnings, and the certificate.\n"
      "Nothing changes.  Exit status 0 when install would go ahead, 1 when it would refuse.\n" CG_CTL_HELP_FOOTER;

static const char generate_help[]
    = "Usage: credgatectl cert generate [--key-type ecdsa-p256|ecdsa-p384|rsa-3072] [--stage]\n"
      "\n"
      "Makes a new self-signed certificate with a new key (395 days; names: host name,\n"
      "FQDN, localhost, 127.0.0.1, ::1) and serves it from the next handshake.  The agent\n"
      "renews it 30 days before it expires, with the same key, so pins stay valid.  A new\n"
      "key means a new pin: clients that pinned the old one must be told it (shown here\n"
      "and by 'cert show'), or use --stage.\n"
      "Default key type: ecdsa-p256.\n"
      "\n"
      "  --stage   do not serve it yet: publish its pin as nextTlsPin in /v1/info, so\n"
      "            clients that connect meanwhile learn it; 'cert activate' serves it\n"
      "            and they accept it without a prompt\n" CG_CTL_HELP_FOOTER;

static const char export_help[]
    = "Usage: credgatectl cert export > agent.pem\n"
      "\n"
      "Prints the served certificate chain in PEM on standard output: give it to clients\n"
      "to pin (credgate-encrypt-value --pin, curl --pinnedpubkey) or to add as a CA.\n" CG_CTL_HELP_FOOTER;

static const char activate_help[]
    = "Usage: credgatectl cert activate\n"
      "\n"
      "Serves the certificate staged with 'cert install --stage' or 'cert generate --stage'\n"
      "from the next handshake.\n"
      "Clients that saw its pin as nextTlsPin in /v1/info accept it without a prompt.\n" CG_CTL_HELP_FOOTER;


static void
print_cert (const char *title, json_t *c)
{
  printf ("%s (%s)\n", title, cg_tool_str_or (c, "origin", "?"));
  printf ("  subject:     %s\n", cg_tool_str_or (c, "subject", ""));
  printf ("  names:       ");
  size_t i;
  json_t *n;
  json_array_foreach (json_object_get (c, "sans"), i, n)
      printf ("%s%s", i ? ", " : "", json_string_value (n));
  printf ("%s\n", json_array_size (json_object_get (c, "sans")) ? "" : "(none)");
  printf ("  issuer:      %s\n", cg_tool_str_or (c, "issuer", ""));
  printf ("  valid:       %s to %s (%" JSON_INTEGER_FORMAT " days left)\n",
          cg_tool_str_or (c, "notBefore", "?"), cg_tool_str_or (c, "notAfter", "?"),
          json_integer_value (json_object_get (c, "daysLeft")));
  printf ("  key:         %s\n", cg_tool_str_or (c, "keyType", "?"));
  printf ("  pin:         %s\n", cg_tool_str_or (c, "pin", "?"));
  printf ("  self-signed: %s\n", json_is_true (json_object_get (c, "selfSigned")) ? "yes" : "no");
  printf ("  chain:       %" JSON_INTEGER_FORMAT " certificate(s)\n",
          json_integer_value (json_object_get (c, "chainLength")));
}

static void
print_warnings (json_t *result)
{
  size_t i;
  json_t *w;
  json_array_foreach (json_object_get (result, "warnings"), i, w)
      fprintf (stderr, "warning: %s\n", json_string_value (w));
}

static char *
read_file_b64 (const char *path, gboolean secret, guint8 **raw, gsize *raw_len, GError **error)
{
  char *data = NULL;
  gsize len = 0;
  if (!cg_file_read_capped (path, FILE_MAX, &data, &len, error))
    return NULL;
  char *b64 = g_base64_encode ((const guchar *) data, len);
  if (raw)
    {
      *raw = (guint8 *) data;
      *raw_len = len;
    }
  else
    {
      if (secret)
        cg_wipe (data, len);
      g_free (data);
    }
  return b64;
}

typedef struct
{
  gboolean force, stage;
  int passphrase_fd;
  char **files; /* borrowed */
  int n_files;
} InstallArgs;

/* Builds the cert.check / cert.install request from the files. */
static json_t *
install_request (const char *command, InstallArgs *a, GError **error)
{
  g_autofree char *chain = NULL, *key = NULL, *p12 = NULL;
  guint8 *raw = NULL;
  gsize raw_len = 0;
  g_autoptr (CgBuf) passphrase = NULL;
  gboolean needs = FALSE;
  const char *what = a->files[a->n_files - 1];

  if (a->n_files == 2)
    {
      if (!(chain = read_file_b64 (a->files[0], FALSE, NULL, NULL, error))
          || !(key = read_file_b64 (a->files[1], TRUE, &raw, &raw_len, error)))
        return NULL;
      needs = cg_cert_key_needs_passphrase (raw, raw_len);
    }
  else
    {
      if (!(p12 = read_file_b64 (a->files[0], TRUE, &raw, &raw_len, error)))
        return NULL;
      if (g_strstr_len ((const char *) raw, raw_len, "-----BEGIN "))
        {
          /* One PEM file with the certificates and the key. */
          chain = g_strdup (p12);
          key = g_steal_pointer (&p12);
          needs = cg_cert_key_needs_passphrase (raw, raw_len);
        }
      else
        needs = cg_cert_pkcs12_needs_password (raw, raw_len);
    }
  cg_wipe (raw, raw_len);
  g_free (raw);

  if (a->passphrase_fd >= 0 || needs)
    {
      g_autofree char *prompt = g_strdup_printf ("Passphrase for %s: ", what);
      g_autofree char *no_terminal = g_strdup_printf (
          "%s is protected by a passphrase and there is no terminal to ask on; give it with "
          "--passphrase-fd N",
          what);
      passphrase = cg_ctl_read_passphrase (a->passphrase_fd, PASSPHRASE_MAX, prompt,
                                           no_terminal, error);
      if (!passphrase)
        {
          cg_wipe_str (key);
          key = NULL;
          cg_wipe_str (p12);
          p12 = NULL;
          return NULL;
        }
    }
  json_t *request = json_pack ("{s:s, s:s*, s:s*, s:s*, s:s*, s:b, s:b}", "command", command,
                               "chain", chain, "key", key, "pkcs12", p12, "passphrase",
                               passphrase ? (const char *) passphrase->data : NULL, "force",
                               a->force, "stage", a->stage);
  cg_wipe_str (key);
  key = NULL;
  cg_wipe_str (p12);
  p12 = NULL;
  return request;
}

static int
print_show (json_t *result)
{
  print_cert ("served certificate", json_object_get (result, "current"));
  json_t *next = json_object_get (result, "next");
  if (json_is_object (next))
    print_cert ("next certificate, staged ('cert activate' serves it)", next);
  else
    printf ("next certificate: none staged\n");
  return 0;
}

static int
print_activated (json_t *result)
{
  printf ("activated: serving %s from the next handshake\n",
          cg_tool_str_or (json_object_get (result, "certificate"), "pin", "?"));
  return 0;
}

/* cert export: the PEM, also with --json. */
static int
run_export (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  int status = cg_ctl_parse (verb, NULL, 0, 0, NULL, &argc, &argv);
  if (status >= 0)
    return status;
  json_auto_t *request = json_pack ("{s:s}", "command", "cert.export");
  json_auto_t *result = cg_ctl_call (ctl, request, &status);
  if (!result)
    return status;
  fputs (cg_tool_str_or (result, "pem", ""), stdout);
  return 0;
}

/* cert install and cert check (a dry run of install). */
static int
run_install (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *fd_text = NULL;
  InstallArgs a = { 0 };
  const GOptionEntry entries[] = {
    { "force", 0, 0, G_OPTION_ARG_NONE, &a.force, NULL, NULL },
    { "stage", 0, 0, G_OPTION_ARG_NONE, &a.stage, NULL, NULL },
    { "passphrase-fd", 0, 0, G_OPTION_ARG_STRING, &fd_text, NULL, NULL },
    { NULL },
  };
  int status = cg_ctl_parse (verb, entries, 1, 2,
                             "CHAIN.pem KEY.pem, or one BUNDLE.p12 (or one PEM with both)",
                             &argc, &argv);
  if (status >= 0)
    return status;
  if (!cg_ctl_parse_fd (fd_text, &a.passphrase_fd))
    return cg_ctl_usage (verb, "--passphrase-fd needs a descriptor number");
  a.files = argv + 1;
  a.n_files = argc - 1;
  g_autofree char *command = g_strconcat ("cert.", verb->name, NULL);
  gboolean check = g_str_equal (verb->name, "check");
  /* Not even a passphrase prompt for a socket someone else set up. */
  json_auto_t *request = NULL;
  if (!cg_admin_check_socket (ctl->socket, &error)
      || !(request = install_request (command, &a, &error)))
    return cg_ctl_fail (error);
  json_auto_t *result = cg_admin_call (ctl->socket, request, &error);
  if (!result)
    {
      /* The agent's answer, not a failure to ask it. */
      if (check && error->domain == CG_ERROR && error->code != CG_ERROR_AGENT_UNREACHABLE
          && error->code != CG_ERROR_UNAVAILABLE)
        g_prefix_error (&error, "install would refuse this: ");
      return cg_ctl_fail (error);
    }
  if (ctl->json)
    {
      cg_tool_print_json (result);
      return 0;
    }
  json_t *cert = json_object_get (result, "certificate");
  print_warnings (result);
  if (check)
    {
      printf ("install would %s\n", cg_tool_str_or (result, "action", "?"));
      print_cert ("certificate", cert);
    }
  else if (json_is_true (json_object_get (result, "staged")))
    printf ("staged %s: published as nextTlsPin; 'credgatectl cert activate' serves it\n",
            cg_tool_str_or (cert, "pin", "?"));
  else
    printf ("installed: serving %s from the next handshake\n", cg_tool_str_or (cert, "pin", "?"));
  return 0;
}

static int
run_generate (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  g_autofree char *type = NULL, *days_text = NULL;
  gboolean stage = FALSE;
  const GOptionEntry entries[] = {
    { "key-type", 0, 0, G_OPTION_ARG_STRING, &type, NULL, NULL },
    { "stage", 0, 0, G_OPTION_ARG_NONE, &stage, NULL, NULL },
    /* For tests and short-lived setups; not in --help. */
    { "days", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &days_text, NULL, NULL },
    { NULL },
  };
  int status = cg_ctl_parse (verb, entries, 0, 0, NULL, &argc, &argv);
  if (status >= 0)
    return status;
  gint64 days = 0;
  CgKeyType t;
  if (days_text && !g_ascii_string_to_signed (days_text, 10, 1, 3650, &days, NULL))
    return cg_ctl_usage (verb, "--days takes a number from 1 to 3650");
  if (type && !cg_key_type_from_name (type, &t))
    return cg_ctl_usage (verb, "--key-type is one of ecdsa-p256, ecdsa-p384, rsa-3072");
  json_auto_t *request
      = json_pack ("{s:s, s:s*}", "command", "cert.generate", "keyType", type);
  if (days)
    json_object_set_new (request, "days", json_integer (days));
  if (stage)
    json_object_set_new (request, "stage", json_true ());
  json_auto_t *result = cg_ctl_ask (ctl, request, &status);
  if (!result)
    return status;
  json_t *cert = json_object_get (result, "certificate");
  printf ("generated a self-signed certificate (%s, %" JSON_INTEGER_FORMAT " days): ",
          cg_tool_str_or (cert, "keyType", "?"),
          json_integer_value (json_object_get (cert, "daysLeft")));
  if (json_is_true (json_object_get (result, "staged")))
    printf ("staged %s, published as nextTlsPin; 'credgatectl cert activate' serves it\n",
            cg_tool_str_or (cert, "pin", "?"));
  else
    printf ("serving %s\n", cg_tool_str_or (cert, "pin", "?"));
  return 0;
}

const CgCtlVerb cg_ctl_cert_verbs[] = {
  { "cert", NULL, cert_help, NULL },
  { "cert", "show", show_help, cg_ctl_run_show, print_show },
  { "cert", "check", check_help, run_install },
  { "cert", "install", install_help, run_install },
  { "cert", "activate", activate_help, cg_ctl_run_show, print_activated },
  { "cert", "generate", generate_help, run_generate },
  { "cert", "export", export_help, run_export },
  { NULL },
};
