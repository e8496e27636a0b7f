/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgatectl backup | restore | escrow.  The agent reads and writes the
 * keys; this side reads the passphrase (a descriptor or a no-echo prompt,
 * never argv or the environment), moves the file, and opens escrow files
 * with the admin's private key, which never reaches the agent. */
#include "config.h"

#include "ctl/cg-ctl-backup.h"
#include "ctl/cg-ctl-util.h"
#include "ctl/cg-admin-call.h"
#include "admin/cg-backup.h"
#include "admin/cg-escrow-files.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>


static int
usage (const char *message)
{
  fprintf (stderr, "credgatectl: %s\nTry 'credgatectl --help'.\n", message);
  return EXIT_USAGE;
}


/* One line from the terminal with echo off (transfer full, wipe it). */
static char *
prompt_tty (int tty, const char *prompt, GError **error)
{
  struct termios old, quiet;
  if (tcgetattr (tty, &old) < 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_IO, "cannot turn off echo on the terminal");
      return NULL;
    }
  quiet = old;
  quiet.c_lflag &= ~(ECHO | ECHONL);
  quiet.c_lflag |= ICANON;
  if (write (tty, prompt, strlen (prompt)) < 0 || tcsetattr (tty, TCSAFLUSH, &quiet) < 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_IO, "cannot turn off echo on the terminal");
      return NULL;
    }
  char *buf = g_malloc0 (CG_BACKUP_MAX_PASSPHRASE + 2);
  gsize used = 0;
  gboolean done = FALSE;
  while (!done && used < CG_BACKUP_MAX_PASSPHRASE + 1)
    {
      char c;
      ssize_t n = read (tty, &c, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0 || c == '\n')
        done = TRUE;
      else
        buf[used++] = c;
    }
  tcsetattr (tty, TCSAFLUSH, &old);
  if (write (tty, "\n", 1) < 0)
    {
      /* Only cosmetic. */
    }
  return buf;
}

/* The passphrase from --passphrase-fd N, or a prompt on the terminal
 * (twice when @confirm).  Transfer full; the caller wipes it. */
static char *
read_passphrase (int fd, gboolean confirm, GError **error)
{
  char *pass = NULL;
  if (fd >= 0)
    {
      gsize len = 0;
      if (!cg_fd_read_capped (fd, "the passphrase descriptor", CG_BACKUP_MAX_PASSPHRASE + 2,
                              &pass, &len, error))
        return NULL;
      /* One trailing newline is the end of the line, not the passphrase. */
      if (len && pass[len - 1] == '\n')
        pass[--len] = '\0';
      if (len && pass[len - 1] == '\r')
        pass[--len] = '\0';
    }
  else
    {
      int tty = open ("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
      if (tty < 0)
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                               "no passphrase: give --passphrase-fd N, or run on a terminal "
                               "to be asked");
          return NULL;
        }
      pass = prompt_tty (tty, "Backup passphrase: ", error);
      if (pass && confirm)
        {
          char *again = prompt_tty (tty, "Again: ", error);
          if (!again || strcmp (pass, again) != 0)
            {
              if (again)
                g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                                     "the passphrases differ");
              cg_wipe_str (pass);
              pass = NULL;
            }
          cg_wipe_str (again);
        }
      close (tty);
      if (!pass)
        return NULL;
    }
  if (!*pass || strlen (pass) > CG_BACKUP_MAX_PASSPHRASE)
    {
      cg_wipe_str (pass);
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "the passphrase must be 1 to %d bytes",
                   CG_BACKUP_MAX_PASSPHRASE);
      return NULL;
    }
  return pass;
}



static void
print_summary (json_t *s, guint format, guint32 iterations)
{
  size_t i;
  json_t *k;
  printf ("credgate backup, format %u (header only: authenticated at restore, not now)\n",
          format);
  printf ("created:        %s\n", cg_ctl_str_or (s, "created", "?"));
  printf ("made by:        credgate %s\n", cg_ctl_str_or (s, "agentVersion", "?"));
  printf ("source agent:   %s\n", cg_ctl_str_or (s, "sourceInstance", "?"));
  printf ("passphrase KDF: PBKDF2-HMAC-SHA256, %u iterations\n", iterations);
  printf ("credentials:    %" JSON_INTEGER_FORMAT "\n",
          json_integer_value (json_object_get (s, "credentials")));
  printf ("tokens:         %" JSON_INTEGER_FORMAT "\n",
          json_integer_value (json_object_get (s, "tokens")));
  if (json_object_get (s, "clientCa"))
    printf ("clients:        %" JSON_INTEGER_FORMAT " enrolled, client CA %s\n",
            json_integer_value (json_object_get (s, "clients")),
            cg_ctl_str_or (s, "clientCa", "?"));
  else
    printf ("clients:        none (no client CA)\n");
  json_t *cert = json_object_get (s, "certificate");
  if (cert)
    printf ("certificate:    %s, %s, until %s (%s)\n", cg_ctl_str_or (cert, "pin", "?"),
            cg_ctl_str_or (cert, "subject", "?"), cg_ctl_str_or (cert, "notAfter", "?"),
            cg_ctl_str_or (cert, "origin", "?"));
  else
    printf ("certificate:    none\n");
  printf ("sealing keys:   %zu\n", json_array_size (json_object_get (s, "keys")));
  json_array_foreach (json_object_get (s, "keys"), i, k)
    printf ("  %-46s %-22s %s\n", cg_ctl_str_or (k, "kid", "?"), cg_ctl_str_or (k, "created", "?"),
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
    cg_ctl_print_json (summary);
  else
    print_summary (summary, format, iterations);
  return 0;
}

static int
do_backup (const char *socket_path, const char *output, int fd, gboolean json)
{
  g_autoptr (GError) error = NULL;
  /* Not even a prompt for a socket someone else could have set up. */
  if (!cg_admin_check_socket (socket_path, &error))
    return cg_ctl_fail (error);
  char *pass = read_passphrase (fd, TRUE, &error);
  if (!pass)
    return cg_ctl_fail (error);
  json_auto_t *request = json_pack ("{s:s, s:s}", "command", "backup", "passphrase", pass);
  cg_wipe_str (pass);
  json_auto_t *result = cg_admin_call (socket_path, request, &error);
  if (!result)
    return cg_ctl_fail (error);
  gsize len = 0;
  g_autofree guchar *file = g_base64_decode (cg_ctl_str_or (result, "file", ""), &len);
  if (!cg_file_write_atomic (output, file, len, 0600, &error))
    return cg_ctl_fail (error);
  json_t *s = json_object_get (result, "summary");
  if (json)
    cg_ctl_print_json (s);
  else
    printf ("backup written to %s: %" JSON_INTEGER_FORMAT " credentials, %zu sealing keys, "
            "%" JSON_INTEGER_FORMAT " tokens\n",
            output, json_integer_value (json_object_get (s, "credentials")),
            json_array_size (json_object_get (s, "keys")),
            json_integer_value (json_object_get (s, "tokens")));
  return 0;
}

static void
print_restore (json_t *r)
{
  printf ("restored (%s): %" JSON_INTEGER_FORMAT " sealing keys, %" JSON_INTEGER_FORMAT
          " credentials, %" JSON_INTEGER_FORMAT " tokens added; current sealing key %s\n",
          cg_ctl_str_or (r, "mode", "?"), json_integer_value (json_object_get (r, "keysAdded")),
          json_integer_value (json_object_get (r, "credentialsAdded")),
          json_integer_value (json_object_get (r, "tokensAdded")), cg_ctl_str_or (r, "kid", "-"));
  json_int_t same = json_integer_value (json_object_get (r, "credentialsSkipped"));
  json_int_t tokens = json_integer_value (json_object_get (r, "tokensSkipped"));
  if (same)
    printf ("%" JSON_INTEGER_FORMAT " identical credentials were already there\n", same);
  if (tokens)
    printf ("%" JSON_INTEGER_FORMAT " tokens were not restored (%s); create new ones with "
            "'credgatectl token create'\n",
            tokens,
            g_strcmp0 (cg_ctl_str_or (r, "tokensSkippedReason", ""), "asked") == 0
                ? "--no-tokens"
                : "this agent has its own tokens");
  /* Every token the backup held works again, including one revoked on the
   * old agent after the backup was made: name them all. */
  json_t *restored = json_object_get (r, "tokens");
  if (json_array_size (restored))
    {
      size_t i;
      json_t *t;
      printf ("%zu tokens restored, working here as they did when the backup was made; revoke "
              "any revoked since ('credgatectl token revoke NAME'), or restore with "
              "--no-tokens:\n",
              json_array_size (restored));
      json_array_foreach (restored, i, t)
        printf ("  %-32s created %s, last used %s\n", cg_ctl_str_or (t, "name", "?"),
                cg_ctl_str_or (t, "created", "?"), cg_ctl_str_or (t, "lastUsed", "never"));
    }

  json_int_t clients = json_integer_value (json_object_get (r, "clientsSkipped"));
  const char *why = cg_ctl_str_or (r, "clientsSkippedReason", "");
  if (clients)
    printf ("%" JSON_INTEGER_FORMAT " client certificates were not restored (%s); enroll "
            "them again with 'credgatectl client enroll NAME'\n",
            clients,
            g_str_equal (why, "asked")   ? "--no-tokens"
            : g_str_equal (why, "merge") ? "this agent keeps its own client CA"
                                         : "this agent has its own client certificates");
  /* The same for client certificates: one revoked on the old agent after
   * the backup works here again; name the ones that work. */
  restored = json_object_get (r, "clients");
  if (json_array_size (restored))
    {
      size_t i;
      json_t *c;
      printf ("%zu client certificates restored with their client CA; the "
              "ones not revoked in the backup work here again: revoke any revoked since "
              "('credgatectl client revoke NAME'), or restore with --no-tokens:\n",
              json_array_size (restored));
      json_array_foreach (restored, i, c)
        printf ("  %-32s serial %s, enrolled %s, %s\n", cg_ctl_str_or (c, "name", "?"),
                cg_ctl_str_or (c, "serial", "?"), cg_ctl_str_or (c, "enrolled", "?"),
                json_object_get (c, "revoked") && !json_is_null (json_object_get (c, "revoked"))
                    ? "revoked"
                    : "works");
    }

  json_t *cert = json_object_get (r, "certificate");
  if (!cert)
    return;
  size_t i;
  json_t *w;
  json_array_foreach (json_object_get (cert, "warnings"), i, w)
    fprintf (stderr, "credgatectl: warning: the backup's certificate: %s\n",
             json_string_value (w));
  const char *state = cg_ctl_str_or (cert, "state", "?");
  const char *pin = cg_ctl_str_or (cert, "pin", "-");
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
             pin, cg_ctl_str_or (cert, "reason", "?"));
}

static int
do_restore (const char *socket_path, const char *path, int fd, gboolean merge,
            int certificate, gboolean no_tokens, const char *escrow, const char *recipient_key,
            const char *signer, gboolean json)
{
  g_autoptr (GError) error = NULL;
  json_auto_t *request = NULL;
  json_auto_t *about = NULL;

  if (escrow)
    {
      json_auto_t *jwk = cg_jwk_load_file (recipient_key, &error);
      if (!jwk)
        return cg_ctl_fail (error);
      if (!json_object_get (jwk, "d"))
        {
          fprintf (stderr, "credgatectl: %s is a public key; recovery needs the recipient's "
                   "private JWK\n", recipient_key);
          return EXIT_REFUSED;
        }
      g_autoptr (CgSealKey) key = cg_seal_key_new_from_jwk (jwk, &error);
      json_t *payload = key ? cg_escrow_recover (escrow, key, signer, &about, &error) : NULL;
      if (!payload)
        return cg_ctl_fail (error);
      request = json_pack ("{s:s, s:o, s:b}", "command", "restore", "payload", payload, "merge",
                           merge);
    }
  else
    {
      char *data = NULL;
      gsize len = 0;
      /* Check the header here, so a file that is not a backup or is from
       * a newer credgate is refused before the passphrase is asked for. */
      if (!read_file (path, &data, &len, &error)
          || !cg_backup_read_header ((const guint8 *) data, len, NULL, NULL, NULL, &error))
        {
          g_free (data);
          return cg_ctl_fail (error);
        }
      g_autofree char *b64 = g_base64_encode ((const guint8 *) data, len);
      g_free (data);
      if (!cg_admin_check_socket (socket_path, &error))
        return cg_ctl_fail (error);
      char *pass = read_passphrase (fd, FALSE, &error);
      if (!pass)
        return cg_ctl_fail (error);
      request = json_pack ("{s:s, s:s, s:s, s:b}", "command", "restore", "file", b64,
                           "passphrase", pass, "merge", merge);
      cg_wipe_str (pass);
      /* Unset: the agent's default (yes unless --merge). */
      if (certificate >= 0)
        json_object_set_new (request, "certificate", json_boolean (certificate));
      if (no_tokens)
        json_object_set_new (request, "tokens", json_false ());
    }
  json_auto_t *result = cg_admin_call (socket_path, request, &error);
  if (!result)
    return cg_ctl_fail (error);
  if (about)
    json_object_set (result, "escrow", about);
  if (json)
    cg_ctl_print_json (result);
  else
    {
      if (about)
        printf ("escrow of agent %s: manifest #%" JSON_INTEGER_FORMAT " of %s, signed by %s\n",
                cg_ctl_str_or (about, "instance", "?"),
                json_integer_value (json_object_get (about, "seq")),
                cg_ctl_str_or (about, "created", "?"), cg_ctl_str_or (about, "signer", "?"));
      print_restore (result);
    }
  return 0;
}

static int
do_escrow (const char *socket_path, int argc, char **argv, gboolean json)
{
  g_autoptr (GError) error = NULL;
  json_auto_t *request = NULL;
  if (argc == 4 && g_str_equal (argv[2], "add"))
    {
      json_t *jwk = cg_jwk_load_file (argv[3], &error);
      if (!jwk)
        return cg_ctl_fail (error);
      request = json_pack ("{s:s, s:o}", "command", "escrow.add", "jwk", jwk);
    }
  else if (argc == 3 && g_str_equal (argv[2], "status"))
    request = json_pack ("{s:s}", "command", "escrow.status");
  else
    return usage ("escrow takes 'add RECIPIENT.jwk' or 'status'");

  json_auto_t *result = cg_admin_call (socket_path, request, &error);
  if (!result)
    return cg_ctl_fail (error);
  if (json)
    {
      cg_ctl_print_json (result);
      return 0;
    }
  if (g_str_equal (argv[2], "add"))
    {
      printf ("escrow recipient %s added; %" JSON_INTEGER_FORMAT " keys escrowed to it\n",
              cg_ctl_str_or (result, "recipient", "?"),
              json_integer_value (json_object_get (result, "keys")));
      printf ("escrow signer %s: keep this fingerprint with the recipient's key; "
              "'restore --escrow' needs it (--escrow-signer)\n",
              cg_ctl_str_or (result, "signer", "?"));
      return 0;
    }
  size_t i, j;
  json_t *r, *k;
  int status = 0;
  json_t *list = json_object_get (result, "recipients");
  if (json_array_size (list) == 0)
    printf ("no escrow recipients (add one with 'credgatectl escrow add RECIPIENT.jwk')\n");
  else
    printf ("escrow signer %s\n", cg_ctl_str_or (result, "signer", "NONE (escrow is not signed)"));
  json_array_foreach (list, i, r)
    {
      gboolean complete = json_is_true (json_object_get (r, "complete"));
      printf ("recipient %s: %s\n", cg_ctl_str_or (r, "recipient", "?"),
              complete ? "can recover every key" : "CANNOT recover every key");
      if (!complete)
        status = EXIT_REFUSED;
      if (json_is_true (json_object_get (r, "signed")))
        printf ("  signed manifest #%" JSON_INTEGER_FORMAT "\n",
                json_integer_value (json_object_get (r, "manifestSeq")));
      else
        printf ("  NO valid signed manifest (%s missing or not signed by this agent)\n",
                CG_ESCROW_MANIFEST);
      size_t u;
      json_t *name;
      json_array_foreach (json_object_get (r, "unexpected"), u, name)
        printf ("  UNEXPECTED %s: not written by this agent (a recovery refuses it)\n",
                json_string_value (name));
      json_array_foreach (json_object_get (r, "keys"), j, k)
        printf ("  %-6s %-46s %s\n", cg_ctl_str_or (k, "kind", "?"),
                *cg_ctl_str_or (k, "kid", "") ? cg_ctl_str_or (k, "kid", "") : "-",
                json_is_true (json_object_get (k, "escrowed")) ? "escrowed" : "MISSING");
    }
  return status;
}

int
cg_ctl_backup_run (const char *socket_path, gboolean json, int argc, char **argv)
{
  const char *group = argv[1];
  if (g_str_equal (group, "escrow"))
    return do_escrow (socket_path, argc, argv, json);

  g_autofree char *output = NULL, *inspect = NULL, *escrow = NULL, *recipient = NULL,
                  *signer = NULL;
  gint fd = -1;
  gboolean merge = FALSE, with_cert = FALSE, keep_cert = FALSE, no_tokens = FALSE;
  GOptionEntry backup_entries[] = {
    { "output", 0, 0, G_OPTION_ARG_FILENAME, &output, NULL, NULL },
    { "inspect", 0, 0, G_OPTION_ARG_FILENAME, &inspect, NULL, NULL },
    { "passphrase-fd", 0, 0, G_OPTION_ARG_INT, &fd, NULL, NULL },
    { NULL },
  };
  GOptionEntry restore_entries[] = {
    { "merge", 0, 0, G_OPTION_ARG_NONE, &merge, NULL, NULL },
    { "certificate", 0, 0, G_OPTION_ARG_NONE, &with_cert, NULL, NULL },
    { "keep-certificate", 0, 0, G_OPTION_ARG_NONE, &keep_cert, NULL, NULL },
    { "no-tokens", 0, 0, G_OPTION_ARG_NONE, &no_tokens, NULL, NULL },
    { "passphrase-fd", 0, 0, G_OPTION_ARG_INT, &fd, NULL, NULL },
    { "escrow", 0, 0, G_OPTION_ARG_FILENAME, &escrow, NULL, NULL },
    { "recipient-key", 0, 0, G_OPTION_ARG_FILENAME, &recipient, NULL, NULL },
    { "escrow-signer", 0, 0, G_OPTION_ARG_STRING, &signer, NULL, NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  gboolean is_backup = g_str_equal (group, "backup");
  g_option_context_set_help_enabled (ctx, FALSE);
  g_option_context_add_main_entries (ctx, is_backup ? backup_entries : restore_entries, NULL);
  int sub_argc = argc - 1;
  char **sub_argv = argv + 1;
  if (!g_option_context_parse (ctx, &sub_argc, &sub_argv, &error))
    return usage (error->message);

  if (is_backup)
    {
      if (sub_argc != 1)
        return usage ("backup takes no arguments besides its options");
      if (!!output == !!inspect)
        return usage ("backup needs --output FILE, or --inspect FILE");
      if (inspect)
        return fd >= 0 ? usage ("--inspect needs no passphrase") : do_inspect (inspect, json);
      return do_backup (socket_path, output, fd, json);
    }
  if (with_cert && keep_cert)
    return usage ("--certificate and --keep-certificate contradict each other");
  int certificate = with_cert ? 1 : keep_cert ? 0 : -1;
  if (escrow || recipient || signer)
    {
      if (!escrow || !recipient || sub_argc != 1 || fd >= 0)
        return usage ("restore --escrow DIR --recipient-key ADMIN.jwk --escrow-signer "
                      "sha256:FP takes no FILE and no passphrase");
      if (certificate >= 0 || no_tokens)
        return usage ("escrow holds keys only, no certificate and no tokens");
      if (!signer)
        return usage ("restore --escrow needs --escrow-signer sha256:FP, the escrow signing "
                      "key's fingerprint that 'credgatectl escrow add' and 'escrow status' "
                      "printed on the old host");
      if (!cg_escrow_signer_valid (signer))
        return usage ("--escrow-signer takes sha256: and the 43-character fingerprint "
                      "'credgatectl escrow add' printed");
      return do_restore (socket_path, NULL, -1, merge, -1, FALSE, escrow, recipient, signer,
                         json);
    }
  if (sub_argc != 2)
    return usage ("restore needs one FILE (or --escrow DIR --recipient-key ADMIN.jwk)");
  return do_restore (socket_path, sub_argv[1], fd, merge, certificate, no_tokens, NULL, NULL,
                     NULL, json);
}
