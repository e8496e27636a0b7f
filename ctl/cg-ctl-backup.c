/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgatectl backup | restore | escrow.  The agent reads and writes the
 * keys; this side reads the passphrase (a descriptor or a no-echo prompt,
 * never argv or the environment), moves the file, and opens escrow files
 * with the admin's private key, which never reaches the agent. */
#include "config.h"

#include "ctl/cg-ctl.h"
#include "ctl/cg-admin-call.h"
#include "admin/cg-backup.h"
#include "admin/cg-escrow-files.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#include <stdio.h>
#include <string.h>


/* The backup passphrase from --passphrase-fd N, or asked on the terminal
 * (twice when @confirm).  (transfer full, wiped on free) */
static CgBuf *
read_passphrase (int fd, gboolean confirm, GError **error)
{
  static const char no_terminal[]
      = "no passphrase: give --passphrase-fd N, or run on a terminal to be asked";
  g_autoptr (CgBuf) pass
      = cg_ctl_read_passphrase (fd, CG_BACKUP_MAX_PASSPHRASE, "Backup passphrase: ", no_terminal,
                                error);
  if (pass && confirm && fd < 0)
    {
      g_autoptr (CgBuf) again = cg_ctl_read_passphrase (-1, CG_BACKUP_MAX_PASSPHRASE, "Again: ",
                                                        no_terminal, error);
      if (!again)
        return NULL;
      if (again->len != pass->len || !cg_equal_ct (again->data, pass->data, pass->len))
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "the passphrases differ");
          return NULL;
        }
    }
  if (pass && pass->len == 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "the passphrase must be 1 to %d bytes",
                   CG_BACKUP_MAX_PASSPHRASE);
      return NULL;
    }
  return g_steal_pointer (&pass);
}

static void
print_summary (json_t *s, guint format, guint32 iterations)
{
  size_t i;
  json_t *k;
  printf ("credgate backup, format %u (header only: authenticated at restore, not now)\n",
          format);
  printf ("created:        %s\n", cg_tool_str_or (s, "created", "?"));
  printf ("made by:        credgate %s\n", cg_tool_str_or (s, "agentVersion", "?"));
  printf ("source agent:   %s\n", cg_tool_str_or (s, "sourceInstance", "?"));
  printf ("passphrase KDF: PBKDF2-HMAC-SHA256, %u iterations\n", iterations);
  printf ("credentials:    %" JSON_INTEGER_FORMAT "\n",
          json_integer_value (json_object_get (s, "credentials")));
  printf ("tokens:         %" JSON_INTEGER_FORMAT "\n",
          json_integer_value (json_object_get (s, "tokens")));
  if (json_object_get (s, "clientCa"))
    printf ("clients:        %" JSON_INTEGER_FORMAT " enrolled, client CA %s\n",
            json_integer_value (json_object_get (s, "clients")),
            cg_tool_str_or (s, "clientCa", "?"));
  else
    printf ("clients:        none (no client CA)\n");
  json_t *cert = json_object_get (s, "certificate");
  if (cert)
    printf ("certificate:    %s, %s, until %s (%s)\n", cg_tool_str_or (cert, "pin", "?"),
            cg_tool_str_or (cert, "subject", "?"), cg_tool_str_or (cert, "notAfter", "?"),
            cg_tool_str_or (cert, "origin", "?"));
  else
    printf ("certificate:    none\n");
  printf ("sealing keys:   %zu\n", json_array_size (json_object_get (s, "keys")));
  json_array_foreach (json_object_get (s, "keys"), i, k)
    printf ("  %-46s %-22s %s\n", cg_tool_str_or (k, "kid", "?"), cg_tool_str_or (k, "created", "?"),
            json_is_true (json_object_get (k, "current"))   ? "current"
            : json_is_true (json_object_get (k, "retired")) ? "retired"
                                                            : "old");
}

static gboolean
read_file (const char *path, char **data, gsize *len, GError **error)
{
  return cg_file_read_capped (path, CG_BACKUP_MAX_FILE, data, len, error);
}

static int
do_inspect (const char *path, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;
  json_auto_t *summary = NULL;
  guint format = 0;
  guint32 iterations = 0;
  if (!read_file (path, &data, &len, &error)
      || !cg_backup_read_header ((const guint8 *) data, len, &summary, &format, &iterations,
                                 &error))
    return cg_ctl_fail (error);
  if (json)
    cg_tool_print_json (summary);
  else
    print_summary (summary, format, iterations);
  return 0;
}

static int
do_backup (const CgCtl *ctl, const char *output, int fd)
{
  g_autoptr (GError) error = NULL;
  int status;
  /* Not even a prompt for a socket someone else could have set up. */
  if (!cg_admin_check_socket (ctl->socket, &error))
    return cg_ctl_fail (error);
  g_autoptr (CgBuf) pass = read_passphrase (fd, TRUE, &error);
  if (!pass)
    return cg_ctl_fail (error);
  json_auto_t *request
      = json_pack ("{s:s, s:s}", "command", "backup", "passphrase", (const char *) pass->data);
  json_auto_t *result = cg_ctl_call (ctl, request, &status);
  if (!result)
    return status;
  gsize len = 0;
  g_autofree guchar *file = g_base64_decode (cg_tool_str_or (result, "file", ""), &len);
  if (!cg_file_write_atomic (output, file, len, 0600, &error))
    return cg_ctl_fail (error);
  json_t *s = json_object_get (result, "summary");
  if (ctl->json)
    cg_tool_print_json (s);
  else
    printf ("backup written to %s: %" JSON_INTEGER_FORMAT " credentials, %zu sealing keys, "
            "%" JSON_INTEGER_FORMAT " tokens\n",
            output, json_integer_value (json_object_get (s, "credentials")),
            json_array_size (json_object_get (s, "keys")),
            json_integer_value (json_object_get (s, "tokens")));
  return 0;
}

static int
run_backup (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  g_autofree char *output = NULL, *inspect = NULL, *fd_text = NULL;
  const GOptionEntry entries[] = {
    { "output", 0, 0, G_OPTION_ARG_FILENAME, &output, NULL, NULL },
    { "inspect", 0, 0, G_OPTION_ARG_FILENAME, &inspect, NULL, NULL },
    { "passphrase-fd", 0, 0, G_OPTION_ARG_STRING, &fd_text, NULL, NULL },
    { NULL },
  };
  int fd, status = cg_ctl_parse (verb, entries, 0, 0, NULL, &argc, &argv);
  if (status >= 0)
    return status;
  if (!cg_ctl_parse_fd (fd_text, &fd))
    return cg_ctl_usage (verb, "--passphrase-fd needs a descriptor number");
  if (!!output == !!inspect)
    return cg_ctl_usage (verb, "backup needs --output FILE, or --inspect FILE");
  if (inspect)
    return fd >= 0 ? cg_ctl_usage (verb, "--inspect needs no passphrase")
                   : do_inspect (inspect, ctl->json);
  return do_backup (ctl, output, fd);
}

static void
print_token_row (json_t *t)
{
  printf ("  %-32s created %s, last used %s\n", cg_tool_str_or (t, "name", "?"),
          cg_tool_str_or (t, "created", "?"), cg_tool_str_or (t, "lastUsed", "never"));
}

static void
print_client_row (json_t *c)
{
  printf ("  %-32s serial %s, enrolled %s, %s\n", cg_tool_str_or (c, "name", "?"),
          cg_tool_str_or (c, "serial", "?"), cg_tool_str_or (c, "enrolled", "?"),
          json_object_get (c, "revoked") && !json_is_null (json_object_get (c, "revoked"))
              ? "revoked"
              : "works");
}

/* "N INTRO:" and a row each, for a list a restore brought back; nothing
 * for an empty one. */
static void
print_restored (json_t *list, const char *intro, void (*print_row) (json_t *row))
{
  size_t i;
  json_t *row;
  if (!json_array_size (list))
    return;
  printf ("%zu %s:\n", json_array_size (list), intro);
  json_array_foreach (list, i, row)
    print_row (row);
}

static void
print_restore (json_t *r)
{
  printf ("restored (%s): %" JSON_INTEGER_FORMAT " sealing keys, %" JSON_INTEGER_FORMAT
          " credentials, %" JSON_INTEGER_FORMAT " tokens added; current sealing key %s\n",
          cg_tool_str_or (r, "mode", "?"), json_integer_value (json_object_get (r, "keysAdded")),
          json_integer_value (json_object_get (r, "credentialsAdded")),
          json_integer_value (json_object_get (r, "tokensAdded")), cg_tool_str_or (r, "kid", "-"));
  json_int_t same = json_integer_value (json_object_get (r, "credentialsSkipped"));
  json_int_t tokens = json_integer_value (json_object_get (r, "tokensSkipped"));
  if (same)
    printf ("%" JSON_INTEGER_FORMAT " identical credentials were already there\n", same);
  if (tokens)
    printf ("%" JSON_INTEGER_FORMAT " tokens were not restored (%s); create new ones with "
            "'credgatectl token create'\n",
            tokens,
            g_strcmp0 (cg_tool_str_or (r, "tokensSkippedReason", ""), "asked") == 0
                ? "--no-tokens"
                : "this agent has its own tokens");
  /* Every token the backup held works again, including one revoked on the
   * old agent after the backup was made: name them all. */
  print_restored (json_object_get (r, "tokens"),
                  "tokens restored, working here as they did when the backup was made; revoke "
                  "any revoked since ('credgatectl token revoke NAME'), or restore with "
                  "--no-tokens",
                  print_token_row);

  json_int_t clients = json_integer_value (json_object_get (r, "clientsSkipped"));
  const char *why = cg_tool_str_or (r, "clientsSkippedReason", "");
  if (clients)
    printf ("%" JSON_INTEGER_FORMAT " client certificates were not restored (%s); enroll "
            "them again with 'credgatectl client enroll NAME'\n",
            clients,
            g_str_equal (why, "asked")   ? "--no-tokens"
            : g_str_equal (why, "merge") ? "this agent keeps its own client CA"
                                         : "this agent has its own client certificates");
  /* The same for client certificates: one revoked on the old agent after
   * the backup works here again; name the ones that work. */
  print_restored (json_object_get (r, "clients"),
                  "client certificates restored with their client CA; the ones not revoked in "
                  "the backup work here again: revoke any revoked since ('credgatectl client "
                  "revoke NAME'), or restore with --no-tokens",
                  print_client_row);

  json_t *cert = json_object_get (r, "certificate");
  if (!cert)
    return;
  size_t i;
  json_t *w;
  json_array_foreach (json_object_get (cert, "warnings"), i, w)
    fprintf (stderr, "credgatectl: warning: the backup's certificate: %s\n",
             json_string_value (w));
  const char *state = cg_tool_str_or (cert, "state", "?");
  const char *pin = cg_tool_str_or (cert, "pin", "-");
  if (g_str_equal (state, "installed"))
    printf ("certificate %s restored and served from the next connection\n", pin);
  else if (g_str_equal (state, "already-served"))
    printf ("certificate %s: already served here\n", pin);
  else if (g_str_equal (state, "kept-own"))
    printf ("certificate: this agent keeps its own; the backup's (%s) is served with "
            "--certificate\n",
            pin);
  else
    fprintf (stderr, "credgatectl: warning: the backup's certificate %s was not installed "
             "(%s); the agent keeps serving its own\n",
             pin, cg_tool_str_or (cert, "reason", "?"));
}

typedef struct
{
  char *escrow, *recipient, *signer, *fd_text;
  gboolean merge, with_cert, keep_cert, no_tokens;
  int fd;
} RestoreArgs;

static void
restore_args_clear (RestoreArgs *a)
{
  g_free (a->escrow);
  g_free (a->recipient);
  g_free (a->signer);
  g_free (a->fd_text);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RestoreArgs, restore_args_clear)

/* restore --escrow DIR: the keys are opened here, with the admin's
 * private key, which never reaches the agent.  (transfer full) */
static json_t *
escrow_request (const RestoreArgs *a, json_t **about, GError **error)
{
  json_auto_t *jwk = cg_jwk_load_file (a->recipient, error);
  if (!jwk)
    return NULL;
  if (!json_object_get (jwk, "d"))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "%s is a public key; recovery needs the recipient's private JWK",
                   a->recipient);
      return NULL;
    }
  g_autoptr (CgSealKey) key = cg_seal_key_new_from_jwk (jwk, error);
  json_t *payload = key ? cg_escrow_recover (a->escrow, key, a->signer, about, error) : NULL;
  if (!payload)
    return NULL;
  return json_pack ("{s:s, s:o, s:b}", "command", "restore", "payload", payload, "merge",
                    a->merge);
}

/* restore FILE.  (transfer full) */
static json_t *
file_request (const CgCtl *ctl, const char *path, const RestoreArgs *a, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  /* Check the header here, so a file that is not a backup or is from a
   * newer credgate is refused before the passphrase is asked for. */
  if (!read_file (path, &data, &len, error)
      || !cg_backup_read_header ((const guint8 *) data, len, NULL, NULL, NULL, error))
    return NULL;
  g_autofree char *b64 = g_base64_encode ((const guint8 *) data, len);
  if (!cg_admin_check_socket (ctl->socket, error))
    return NULL;
  g_autoptr (CgBuf) pass = read_passphrase (a->fd, FALSE, error);
  if (!pass)
    return NULL;
  json_t *request = json_pack ("{s:s, s:s, s:s, s:b}", "command", "restore", "file", b64,
                               "passphrase", (const char *) pass->data, "merge", a->merge);
  /* Unset: the agent's default (yes unless --merge). */
  if (a->with_cert || a->keep_cert)
    json_object_set_new (request, "certificate", json_boolean (a->with_cert));
  if (a->no_tokens)
    json_object_set_new (request, "tokens", json_false ());
  return request;
}

/* What restore's options allow: NULL, or the usage error. */
static const char *
restore_args_problem (const RestoreArgs *a, int nfiles)
{
  if (a->with_cert && a->keep_cert)
    return "--certificate and --keep-certificate contradict each other";
  if (!a->escrow && !a->recipient && !a->signer)
    return nfiles == 1 ? NULL
                       : "restore needs one FILE (or --escrow DIR --recipient-key ADMIN.jwk)";
  if (!a->escrow || !a->recipient || nfiles != 0 || a->fd >= 0)
    return "restore --escrow DIR --recipient-key ADMIN.jwk --escrow-signer sha256:FP takes no "
           "FILE and no passphrase";
  if (a->with_cert || a->keep_cert || a->no_tokens)
    return "escrow holds keys only, no certificate and no tokens";
  if (!a->signer)
    return "restore --escrow needs --escrow-signer sha256:FP, the escrow signing key's "
           "fingerprint that 'credgatectl escrow add' and 'escrow status' printed on the old "
           "host";
  if (!cg_escrow_signer_valid (a->signer))
    return "--escrow-signer takes sha256: and the 43-character fingerprint 'credgatectl "
           "escrow add' printed";
  return NULL;
}

static int
run_restore (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  g_auto (RestoreArgs) a = { 0 };
  const GOptionEntry entries[] = {
    { "merge", 0, 0, G_OPTION_ARG_NONE, &a.merge, NULL, NULL },
    { "certificate", 0, 0, G_OPTION_ARG_NONE, &a.with_cert, NULL, NULL },
    { "keep-certificate", 0, 0, G_OPTION_ARG_NONE, &a.keep_cert, NULL, NULL },
    { "no-tokens", 0, 0, G_OPTION_ARG_NONE, &a.no_tokens, NULL, NULL },
    { "passphrase-fd", 0, 0, G_OPTION_ARG_STRING, &a.fd_text, NULL, NULL },
    { "escrow", 0, 0, G_OPTION_ARG_FILENAME, &a.escrow, NULL, NULL },
    { "recipient-key", 0, 0, G_OPTION_ARG_FILENAME, &a.recipient, NULL, NULL },
    { "escrow-signer", 0, 0, G_OPTION_ARG_STRING, &a.signer, NULL, NULL },
    { NULL },
  };
  g_autoptr (GError) error = NULL;
  int status = cg_ctl_parse (verb, entries, 0, 1, NULL, &argc, &argv);
  if (status >= 0)
    return status;
  if (!cg_ctl_parse_fd (a.fd_text, &a.fd))
    return cg_ctl_usage (verb, "--passphrase-fd needs a descriptor number");
  const char *problem = restore_args_problem (&a, argc - 1);
  if (problem)
    return cg_ctl_usage (verb, "%s", problem);

  json_auto_t *about = NULL;
  json_auto_t *request = a.escrow ? escrow_request (&a, &about, &error)
                                  : file_request (ctl, argv[1], &a, &error);
  if (!request)
    return cg_ctl_fail (error);
  json_auto_t *result = cg_ctl_call (ctl, request, &status);
  if (!result)
    return status;
  if (about)
    json_object_set (result, "escrow", about);
  if (ctl->json)
    cg_tool_print_json (result);
  else
    {
      if (about)
        printf ("escrow of agent %s: manifest #%" JSON_INTEGER_FORMAT " of %s, signed by %s\n",
                cg_tool_str_or (about, "instance", "?"),
                json_integer_value (json_object_get (about, "seq")),
                cg_tool_str_or (about, "created", "?"), cg_tool_str_or (about, "signer", "?"));
      print_restore (result);
    }
  return 0;
}

static int
run_escrow_add (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int status = cg_ctl_parse (verb, NULL, 1, 1, "a RECIPIENT.jwk", &argc, &argv);
  if (status >= 0)
    return status;
  json_t *jwk = cg_jwk_load_file (argv[1], &error);
  if (!jwk)
    return cg_ctl_fail (error);
  json_auto_t *request = json_pack ("{s:s, s:o}", "command", "escrow.add", "jwk", jwk);
  json_auto_t *result = cg_ctl_ask (ctl, request, &status);
  if (!result)
    return status;
  printf ("escrow recipient %s added; %" JSON_INTEGER_FORMAT " keys escrowed to it\n",
          cg_tool_str_or (result, "recipient", "?"),
          json_integer_value (json_object_get (result, "keys")));
  printf ("escrow signer %s: keep this fingerprint with the recipient's key; "
          "'restore --escrow' needs it (--escrow-signer)\n",
          cg_tool_str_or (result, "signer", "?"));
  return 0;
}

/* One recipient of escrow status; FALSE when it cannot recover every key. */
static gboolean
print_recipient (json_t *r)
{
  gboolean complete = json_is_true (json_object_get (r, "complete"));
  printf ("recipient %s: %s\n", cg_tool_str_or (r, "recipient", "?"),
          complete ? "can recover every key" : "CANNOT recover every key");
  if (json_is_true (json_object_get (r, "signed")))
    printf ("  signed manifest #%" JSON_INTEGER_FORMAT "\n",
            json_integer_value (json_object_get (r, "manifestSeq")));
  else
    printf ("  NO valid signed manifest (%s missing or not signed by this agent)\n",
            CG_ESCROW_MANIFEST);
  size_t i;
  json_t *name, *k;
  json_array_foreach (json_object_get (r, "unexpected"), i, name)
    printf ("  UNEXPECTED %s: not written by this agent (a recovery refuses it)\n",
            json_string_value (name));
  json_array_foreach (json_object_get (r, "keys"), i, k)
    printf ("  %-6s %-46s %s\n", cg_tool_str_or (k, "kind", "?"),
            *cg_tool_str_or (k, "kid", "") ? cg_tool_str_or (k, "kid", "") : "-",
            json_is_true (json_object_get (k, "escrowed")) ? "escrowed" : "MISSING");
  return complete;
}

static int
print_escrow_status (json_t *result)
{
  int status = 0;
  size_t i;
  json_t *r;
  json_t *list = json_object_get (result, "recipients");
  if (json_array_size (list) == 0)
    printf ("no escrow recipients (add one with 'credgatectl escrow add RECIPIENT.jwk')\n");
  else
    printf ("escrow signer %s\n",
            cg_tool_str_or (result, "signer", "NONE (escrow is not signed)"));
  json_array_foreach (list, i, r)
    if (!print_recipient (r))
      status = CG_EXIT_FAILED;
  return status;
}

const CgCtlVerb cg_ctl_backup_verbs[] = {
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
    "                     CA's pin (no passphrase, no secrets)\n" CG_CTL_HELP_FOOTER,
    run_backup },
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
    "                       one it lists, unchanged, or nothing is restored\n" CG_CTL_HELP_FOOTER,
    run_restore },
  { "escrow", NULL,
    "Usage: credgatectl escrow add RECIPIENT.jwk | status\n"
    "\n"
    "Key escrow: every key the agent holds or makes is sealed to each recipient.\n"
    "\n"
    "  add RECIPIENT.jwk   register an admin's public P-256 JWK and escrow every key to it\n"
    "  status              which keys each recipient can recover (exit 1 if one is missing)\n"
    "\n"
    "Run 'credgatectl escrow SUBCOMMAND --help' for the details of one.\n" CG_CTL_HELP_FOOTER,
    NULL },
  { "escrow", "add",
    "Usage: credgatectl escrow add RECIPIENT.jwk\n"
    "\n"
    "Registers an admin's public P-256 JWK as an escrow recipient and seals every key\n"
    "to it at once; from then on each new key is sealed to it as well, in\n"
    "STATE_DIR/escrow/KID/, with a manifest signed by the agent's escrow signing key.\n"
    "Prints that key's fingerprint: keep it with the recipient's private key, since\n"
    "'restore --escrow DIR --recipient-key ADMIN.jwk --escrow-signer sha256:FP'\n"
    "needs it to recover them.\n" CG_CTL_HELP_FOOTER,
    run_escrow_add },
  { "escrow", "status",
    "Usage: credgatectl escrow status\n"
    "\n"
    "Lists the escrow signing key's fingerprint and, per escrow recipient, its signed\n"
    "manifest's number, which keys it can recover and any file there the agent did not\n"
    "write.  Exit status 1 when a recipient lacks a key or holds such a file.\n" CG_CTL_HELP_FOOTER,
    cg_ctl_run_show, print_escrow_status },
  { NULL },
};
