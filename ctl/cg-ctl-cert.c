/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgatectl cert …: the admin's certificate commands.  The files are read
 * here, with the admin's rights, and sent with any passphrase over the 0600
 * admin socket; the agent checks them and writes STATE_DIR/tls itself. */
#include "config.h"

#include "ctl/cg-ctl-cert.h"
#include "ctl/cg-ctl-util.h"
#include "ctl/cg-admin-call.h"
#include "certs/cg-cert.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-secure.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

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
      "Run 'credgatectl cert COMMAND --help' for the details of one.\n";

static const char show_help[]
    = "Usage: credgatectl cert show\n"
      "\n"
      "Prints the served certificate: subject, names (SANs), issuer, validity and days\n"
      "left, key type, SHA-256 SPKI pin, whether it is self-signed (made and renewed by\n"
      "the agent) or installed (yours; never replaced), and the staged next certificate\n"
      "if there is one.  With --json, the same as a JSON object.\n";

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
      "                     It is never taken from the command line or the environment.\n";

static const char check_help[]
    = "Usage: credgatectl cert check CHAIN.pem KEY.pem | BUNDLE.p12 [--force] [--stage]\n"
      "                               [--passphrase-fd N]\n"
      "\n"
      "A dry run of 'cert install' with the same files and options: prints what install\n"
      "would do (serve, stage, or refuse and why), the warnings, and the certificate.\n"
      "Nothing changes.  Exit status 0 when install would go ahead, 1 when it would refuse.\n";

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
      "            and they accept it without a prompt\n";

static const char export_help[]
    = "Usage: credgatectl cert export > agent.pem\n"
      "\n"
      "Prints the served certificate chain in PEM on standard output: give it to clients\n"
      "to pin (credgate-encrypt-value --pin, curl --pinnedpubkey) or to add as a CA.\n";

static const char activate_help[]
    = "Usage: credgatectl cert activate\n"
      "\n"
      "Serves the certificate staged with 'cert install --stage' or 'cert generate --stage'\n"
      "from the next handshake.\n"
      "Clients that saw its pin as nextTlsPin in /v1/info accept it without a prompt.\n";


/* @verb_sp: "install " etc., or NULL for the cert group's help. */
static int
usage (const char *verb_sp, const char *message)
{
  fprintf (stderr, "credgatectl: %s\nTry 'credgatectl cert %s--help'.\n", message,
           verb_sp ? verb_sp : "");
  return EXIT_USAGE;
}



static void
print_cert (const char *title, json_t *c)
{
  printf ("%s (%s)\n", title, cg_ctl_str_or (c, "origin", "?"));
  printf ("  subject:     %s\n", cg_ctl_str_or (c, "subject", ""));
  printf ("  names:       ");
  size_t i;
  json_t *n;
  json_array_foreach (json_object_get (c, "sans"), i, n)
      printf ("%s%s", i ? ", " : "", json_string_value (n));
  printf ("%s\n", json_array_size (json_object_get (c, "sans")) ? "" : "(none)");
  printf ("  issuer:      %s\n", cg_ctl_str_or (c, "issuer", ""));
  printf ("  valid:       %s to %s (%" JSON_INTEGER_FORMAT " days left)\n",
          cg_ctl_str_or (c, "notBefore", "?"), cg_ctl_str_or (c, "notAfter", "?"),
          json_integer_value (json_object_get (c, "daysLeft")));
  printf ("  key:         %s\n", cg_ctl_str_or (c, "keyType", "?"));
  printf ("  pin:         %s\n", cg_ctl_str_or (c, "pin", "?"));
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

/* One line of passphrase from @fd: at most PASSPHRASE_MAX bytes, the
 * trailing newline dropped (transfer full; wipe it). */
static char *
read_passphrase_fd (int fd, GError **error)
{
  char *text = NULL;
  gsize len = 0;
  g_autofree char *what = g_strdup_printf ("passphrase descriptor %d", fd);
  if (!cg_fd_read_capped (fd, what, PASSPHRASE_MAX, &text, &len, error))
    return NULL;
  if (len > 0 && text[len - 1] == '\n')
    text[--len] = '\0';
  if (len > 0 && text[len - 1] == '\r')
    text[--len] = '\0';
  return text;
}

/* Ask on the terminal, echo off; NULL when there is no terminal. */
static char *
prompt_passphrase (const char *what, GError **error)
{
  int fd = open ("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  struct termios old, quiet;
  char buf[PASSPHRASE_MAX + 2];
  gsize len = 0;

  if (fd < 0 || tcgetattr (fd, &old) < 0)
    {
      if (fd >= 0)
        close (fd);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "%s is protected by a passphrase and there is no terminal to ask on; "
                   "give it with --passphrase-fd N",
                   what);
      return NULL;
    }
  /* Echo off before the prompt, so nothing typed after it can show. */
  quiet = old;
  quiet.c_lflag &= ~(ECHO | ECHONL);
  tcsetattr (fd, TCSAFLUSH, &quiet);
  g_autofree char *prompt = g_strdup_printf ("Passphrase for %s: ", what);
  (void)!write (fd, prompt, strlen (prompt));
  while (len < sizeof buf - 1)
    {
      char c;
      ssize_t n = read (fd, &c, 1);
      if (n <= 0 || c == '\n' || c == '\r')
        break;
      buf[len++] = c;
    }
  buf[len] = '\0';
  tcsetattr (fd, TCSAFLUSH, &old);
  (void)!write (fd, "\n", 1);
  close (fd);
  char *result = g_strndup (buf, len);
  cg_wipe (buf, sizeof buf);
  return result;
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
  GPtrArray *files;
} InstallArgs;

static int
parse_install_args (const char *verb, int argc, char **argv, InstallArgs *a)
{
  a->passphrase_fd = -1;
  for (int i = 0; i < argc; i++)
    {
      const char *arg = argv[i];
      if (g_str_equal (arg, "--force"))
        a->force = TRUE;
      else if (g_str_equal (arg, "--stage"))
        a->stage = TRUE;
      else if (g_str_equal (arg, "--passphrase-fd") || g_str_has_prefix (arg, "--passphrase-fd="))
        {
          const char *v = arg[strlen ("--passphrase-fd")] == '=' ? arg + strlen ("--passphrase-fd=")
                          : i + 1 < argc                         ? argv[++i]
                                                                 : NULL;
          guint64 fd = 0;
          if (!v || !g_ascii_string_to_unsigned (v, 10, 0, G_MAXINT, &fd, NULL))
            return usage (verb, "--passphrase-fd needs a descriptor number");
          a->passphrase_fd = (int) fd;
        }
      else if (g_str_has_prefix (arg, "--passphrase") || g_str_has_prefix (arg, "--password"))
        return usage (verb, "a passphrase is never taken from the command line; "
                            "use --passphrase-fd N or the prompt");
      else if (arg[0] == '-' && arg[1])
        {
          g_autofree char *m = g_strdup_printf ("unknown option '%s'", arg);
          return usage (verb, m);
        }
      else
        g_ptr_array_add (a->files, (gpointer) arg);
    }
  if (a->files->len < 1 || a->files->len > 2)
    return usage (verb, "give CHAIN.pem KEY.pem, or one BUNDLE.p12 (or one PEM with both)");
  return 0;
}

/* Builds the cert.check / cert.install request from the files. */
static json_t *
install_request (const char *command, InstallArgs *a, GError **error)
{
  g_autofree char *chain = NULL, *key = NULL, *p12 = NULL;
  guint8 *raw = NULL;
  gsize raw_len = 0;
  char *passphrase = NULL;
  gboolean needs = FALSE;
  const char *what = a->files->pdata[a->files->len - 1];

  if (a->files->len == 2)
    {
      if (!(chain = read_file_b64 (a->files->pdata[0], FALSE, NULL, NULL, error))
          || !(key = read_file_b64 (a->files->pdata[1], TRUE, &raw, &raw_len, error)))
        return NULL;
      needs = cg_cert_key_needs_passphrase (raw, raw_len);
    }
  else
    {
      if (!(p12 = read_file_b64 (a->files->pdata[0], TRUE, &raw, &raw_len, error)))
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

  if (a->passphrase_fd >= 0)
    passphrase = read_passphrase_fd (a->passphrase_fd, error);
  else if (needs)
    passphrase = prompt_passphrase (what, error);
  if ((a->passphrase_fd >= 0 || needs) && !passphrase)
    {
      cg_wipe_str (key);
      key = NULL;
      cg_wipe_str (p12);
      p12 = NULL;
      return NULL;
    }
  json_t *request = json_pack ("{s:s, s:s*, s:s*, s:s*, s:s*, s:b, s:b}", "command", command,
                               "chain", chain, "key", key, "pkcs12", p12, "passphrase", passphrase,
                               "force", a->force, "stage", a->stage);
  cg_wipe_str (passphrase);
  cg_wipe_str (key);
  key = NULL;
  cg_wipe_str (p12);
  p12 = NULL;
  return request;
}

static gboolean
wants_help (int argc, char **argv)
{
  for (int i = 0; i < argc; i++)
    if (g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h"))
      return TRUE;
  return FALSE;
}

int
cg_ctl_cert_run (const char *socket_path, gboolean json, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  json_auto_t *request = NULL;
  const char *verb = argc > 2 ? argv[2] : NULL;
  int rest_argc = argc > 3 ? argc - 3 : 0;
  char **rest = argv + 3;

  if (!verb || g_str_equal (verb, "--help") || g_str_equal (verb, "-h")
      || g_str_equal (verb, "help"))
    {
      fputs (cert_help, verb ? stdout : stderr);
      return verb ? 0 : EXIT_USAGE;
    }

  static const struct
  {
    const char *verb;
    const char *help;
  } helps[] = {
    { "show", show_help },         { "install", install_help }, { "check", check_help },
    { "generate", generate_help }, { "export", export_help },   { "activate", activate_help },
  };
  const char *help = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (helps); i++)
    if (g_str_equal (helps[i].verb, verb))
      help = helps[i].help;
  if (!help)
    {
      g_autofree char *m = g_strdup_printf ("unknown cert command '%s'", verb);
      return usage (NULL, m);
    }
  if (wants_help (rest_argc, rest))
    {
      fputs (help, stdout);
      return 0;
    }
  g_autofree char *verb_sp = g_strconcat (verb, " ", NULL);

  if (g_str_equal (verb, "install") || g_str_equal (verb, "check"))
    {
      g_autoptr (GPtrArray) files = g_ptr_array_new ();
      InstallArgs a = { .files = files };
      int r = parse_install_args (verb_sp, rest_argc, rest, &a);
      if (r)
        return r;
      g_autofree char *command = g_strconcat ("cert.", verb, NULL);
      /* Not even a passphrase prompt for a socket someone else set up. */
      if (!cg_admin_check_socket (socket_path, &error)
          || !(request = install_request (command, &a, &error)))
        return cg_ctl_fail (error);
    }
  else if (g_str_equal (verb, "generate"))
    {
      const char *type = NULL;
      gint64 days = 0;
      gboolean stage = FALSE;
      for (int i = 0; i < rest_argc; i++)
        {
          const char *arg = rest[i];
          const char **target = NULL;
          const char *v = NULL;
          if (g_str_equal (arg, "--stage"))
            {
              stage = TRUE;
              continue;
            }
          if (g_str_has_prefix (arg, "--key-type"))
            target = &type;
          if (g_str_has_prefix (arg, "--key-type=") || g_str_has_prefix (arg, "--days="))
            v = strchr (arg, '=') + 1;
          else if ((g_str_equal (arg, "--key-type") || g_str_equal (arg, "--days"))
                   && i + 1 < rest_argc)
            v = rest[++i];
          if (!v)
            {
              g_autofree char *m = g_strdup_printf ("unexpected argument '%s'", arg);
              return usage (verb_sp, m);
            }
          if (target)
            *target = v;
          /* --days is for tests and short-lived setups; not in --help. */
          else if (!g_ascii_string_to_signed (v, 10, 1, 3650, &days, NULL))
            return usage (verb_sp, "--days takes a number from 1 to 3650");
        }
      CgKeyType t;
      if (type && !cg_key_type_from_name (type, &t))
        return usage (verb_sp, "--key-type is one of ecdsa-p256, ecdsa-p384, rsa-3072");
      request = json_pack ("{s:s, s:s*}", "command", "cert.generate", "keyType", type);
      if (days)
        json_object_set_new (request, "days", json_integer (days));
      if (stage)
        json_object_set_new (request, "stage", json_true ());
    }
  else
    {
      if (rest_argc > 0)
        {
          g_autofree char *m = g_strdup_printf ("unexpected argument '%s'", rest[0]);
          return usage (verb_sp, m);
        }
      g_autofree char *command = g_strconcat ("cert.", verb, NULL);
      request = json_pack ("{s:s}", "command", command);
    }

  json_auto_t *result = cg_admin_call (socket_path, request, &error);
  if (!result)
    {
      if (g_str_equal (verb, "check") && error->domain == CG_ERROR
          && error->code != CG_ERROR_UNAVAILABLE)
        g_prefix_error (&error, "install would refuse this: ");
      return cg_ctl_fail (error);
    }
  if (json && !g_str_equal (verb, "export"))
    {
      cg_ctl_print_json (result);
      return 0;
    }

  json_t *cert = json_object_get (result, "certificate");
  if (g_str_equal (verb, "show"))
    {
      print_cert ("served certificate", json_object_get (result, "current"));
      json_t *next = json_object_get (result, "next");
      if (json_is_object (next))
        print_cert ("next certificate, staged ('cert activate' serves it)", next);
      else
        printf ("next certificate: none staged\n");
    }
  else if (g_str_equal (verb, "export"))
    fputs (cg_ctl_str_or (result, "pem", ""), stdout);
  else if (g_str_equal (verb, "check"))
    {
      print_warnings (result);
      printf ("install would %s\n", cg_ctl_str_or (result, "action", "?"));
      print_cert ("certificate", cert);
    }
  else if (g_str_equal (verb, "install"))
    {
      print_warnings (result);
      if (json_is_true (json_object_get (result, "staged")))
        printf ("staged %s: published as nextTlsPin; 'credgatectl cert activate' serves it\n",
                cg_ctl_str_or (cert, "pin", "?"));
      else
        printf ("installed: serving %s from the next handshake\n", cg_ctl_str_or (cert, "pin", "?"));
    }
  else if (g_str_equal (verb, "generate") && json_is_true (json_object_get (result, "staged")))
    printf ("generated a self-signed certificate (%s, %" JSON_INTEGER_FORMAT " days): staged %s, "
            "published as nextTlsPin; 'credgatectl cert activate' serves it\n",
            cg_ctl_str_or (cert, "keyType", "?"), json_integer_value (json_object_get (cert, "daysLeft")),
            cg_ctl_str_or (cert, "pin", "?"));
  else if (g_str_equal (verb, "generate"))
    printf ("generated a self-signed certificate (%s, %" JSON_INTEGER_FORMAT " days): serving %s\n",
            cg_ctl_str_or (cert, "keyType", "?"), json_integer_value (json_object_get (cert, "daysLeft")),
            cg_ctl_str_or (cert, "pin", "?"));
  else if (g_str_equal (verb, "activate"))
    printf ("activated: serving %s from the next handshake\n", cg_ctl_str_or (cert, "pin", "?"));
  return 0;
}
