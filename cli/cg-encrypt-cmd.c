/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cli/cg-encrypt-cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cg-agent-trust.h"
#include "cli/cg-enroll.h"
#include "cli/cg-exit.h"
#include "cli/cg-read-value.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-json.h"
#include "jose/cg-jwe.h"
#include "protocol/cg-known-agents.h"
#include "protocol/cg-linked-service.h"

/* A linked-service file is small; a bigger one is a mistake. */
#define LINKED_SERVICE_MAX (1024 * 1024)

static char *
default_token_file (void)
{
  const char *env = g_getenv ("CREDGATE_TOKEN_FILE");
  if (env && *env)
    return g_strdup (env);
  return g_build_filename (g_get_user_config_dir (), "credgate", "token", NULL);
}

/* The client certificate files for @address: --client-cert/--client-key,
 * else the ones enrollment wrote for this agent (transfer full). */
static gboolean
client_cert_paths (const CgEncryptOptions *opts, const char *address, char **cert,
                   char **key, GError **error)
{
  if (opts->client_cert)
    {
      *cert = g_strdup (opts->client_cert);
      *key = g_strdup (opts->client_key);
      return TRUE;
    }
  g_autofree char *host = NULL;
  guint port;
  if (!cg_agent_address_parse (address, &host, &port, error))
    return FALSE;
  *cert = cg_enroll_default_path (host, port, "crt");
  *key = cg_enroll_default_path (host, port, "key");
  return TRUE;
}

/* An online session: a trusted, pinned client that authenticates with the
 * client certificate enrolled for this agent if there is one, else carries
 * the token. */
static CgClient *
open_session (const CgEncryptOptions *opts, const char *address, gboolean need_token,
              json_t **info, GError **error)
{
  g_autoptr (CgClient) client
      = cg_agent_trust_connect (address, opts->pin, opts->trust_on_first_use, info, error);
  if (!client)
    return NULL;
  if (need_token)
    {
      g_autofree char *cert = NULL, *key = NULL;
      GError *local = NULL;
      if (client_cert_paths (opts, address, &cert, &key, &local)
          && cg_enroll_use_files (client, cert, key, &local))
        return g_steal_pointer (&client);
      if (!local && opts->client_cert)
        g_set_error (&local, CG_ERROR, CG_ERROR_NOT_FOUND, "no client certificate %s",
                     opts->client_cert);
      if (local)
        {
          g_propagate_error (error, local);
          g_clear_pointer (info, json_decref);
          return NULL;
        }
    }
  if (need_token)
    {
      g_autofree char *path = opts->token_file ? g_strdup (opts->token_file)
                                               : default_token_file ();
      g_autoptr (GError) local = NULL;
      if (!cg_client_load_token (client, path, &local))
        {
          g_set_error (error, CG_ERROR, CG_ERROR_UNAUTHORIZED,
                       "no access token: %s (use --token-file, CREDGATE_TOKEN_FILE or %s/credgate/token)",
                       local->message, g_get_user_config_dir ());
          g_clear_pointer (info, json_decref);
          return NULL;
        }
    }
  return g_steal_pointer (&client);
}

static int
run_fetch_key (const CgEncryptOptions *opts)
{
  g_autoptr (GError) error = NULL;
  json_auto_t *info = NULL;
  g_autoptr (CgClient) client = open_session (opts, opts->fetch_key, FALSE, &info, &error);
  if (!client)
    return cg_exit_fail (error);
  /* Check the key before handing it on: a point off the curve or a kid
   * that is not its thumbprint would only fail later, at the agent. */
  json_t *jwk = json_object_get (info, "sealingKey");
  g_autoptr (CgSealKey) key = cg_seal_key_new_from_jwk (jwk, &error);
  if (!key)
    {
      g_prefix_error (&error, "the agent's sealing key is unusable: ");
      return cg_exit_fail (error);
    }
  json_auto_t *pub = cg_seal_key_to_public_jwk (key);
  g_autofree char *text = json_dumps (pub, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  printf ("%s\n", text);
  return CG_EXIT_OK;
}

/* Seal @plain bound to @ctx: offline with --key, else through the agent. */
static char *
seal (const CgEncryptOptions *opts, const CgBuf *plain, const char *ctx, char **kid_out,
      GError **error)
{
  if (opts->key_file)
    {
      g_autoptr (CgSealKey) key = cg_seal_key_load_file (opts->key_file, error);
      if (!key)
        return NULL;
      if (kid_out)
        *kid_out = g_strdup (cg_seal_key_get_kid (key));
      return cg_jwe_seal (key, ctx, plain->data, plain->len, error);
    }

  json_auto_t *info = NULL;
  g_autoptr (CgClient) client = open_session (opts, opts->agent, TRUE, &info, error);
  if (!client)
    return NULL;
  json_auto_t *reply = cg_client_encrypt (client, (const char *) plain->data, plain->len, ctx,
                                          error);
  if (!reply)
    return NULL;
  const char *jwe = json_string_value (json_object_get (reply, "encryptedCredential"));
  if (kid_out)
    cg_jwe_peek (jwe, strlen (jwe), kid_out, NULL, NULL);
  return g_strdup (jwe);
}

static int
run_encrypt_value (const CgEncryptOptions *opts)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgBuf) plain = cg_read_value (opts->input, "Value to encrypt: ",
                                           CG_JWE_MAX_PLAINTEXT, &error);
  if (!plain)
    return cg_exit_fail (error);
  g_autofree char *kid = NULL;
  g_autofree char *jwe = seal (opts, plain, opts->context, &kid, &error);
  if (!jwe)
    return cg_exit_fail (error);
  if (opts->json)
    {
      json_auto_t *out = json_pack ("{s:s, s:s?, s:s?}", "encryptedCredential", jwe, "kid", kid,
                                    "context", opts->context);
      g_autofree char *text = json_dumps (out, JSON_COMPACT | JSON_PRESERVE_ORDER);
      printf ("%s\n", text);
    }
  else
    printf ("%s\n", jwe);
  return CG_EXIT_OK;
}

/* The --linked-service file (bounded) read and parsed once: to seal
 * (cg_linked_service_parse) or, @sealed, to rewrap
 * (cg_linked_service_parse_sealed); with -i its mode, which the rewritten
 * file keeps. */
static CgLinkedService *
load_linked_service (const CgEncryptOptions *opts, gboolean sealed, struct stat *st,
                     GError **error)
{
  const char *path = opts->linked_service;
  g_autofree char *text = NULL;
  gsize len = 0;
  if (opts->in_place && stat (path, st) < 0)
    {
      int e = errno;
      g_set_error (error, CG_ERROR, CG_ERROR_NOT_FOUND, "cannot open %s: %s", path,
                   g_strerror (e));
      return NULL;
    }
  if (!cg_file_read_capped (path, LINKED_SERVICE_MAX, &text, &len, error))
    return NULL;
  CgLinkedService *ls = sealed ? cg_linked_service_parse_sealed (text, len, error)
                               : cg_linked_service_parse (text, len, opts->force, error);
  cg_wipe (text, len);
  if (ls)
    return ls;
  if (g_error_matches (*error, CG_ERROR, CG_ERROR_EXISTS))
    {
      g_autofree char *msg = g_strdup_printf ("refused: %s (--force replaces it)",
                                              (*error)->message);
      g_free ((*error)->message);
      (*error)->message = g_steal_pointer (&msg);
    }
  else
    g_prefix_error (error, "%s: ", g_str_equal (path, "-") ? "standard input" : path);
  return NULL;
}

/* @ls with @jwe in it, to the file (-i: atomically, keeping its mode) or
 * to standard output. */
static int
write_linked_service (const CgEncryptOptions *opts, CgLinkedService *ls, const char *jwe,
                      const struct stat *st)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = cg_linked_service_rewrite (ls, jwe, &error);
  if (!out)
    return cg_exit_fail (error);
  if (opts->in_place)
    {
      if (!cg_file_write_atomic (opts->linked_service, out, strlen (out), st->st_mode & 07777,
                                 &error))
        return cg_exit_fail (error);
    }
  else
    fputs (out, stdout);
  return CG_EXIT_OK;
}

static int
run_linked_service (const CgEncryptOptions *opts)
{
  g_autoptr (GError) error = NULL;
  struct stat st = { 0 };
  g_autoptr (CgLinkedService) ls = load_linked_service (opts, FALSE, &st, &error);
  if (!ls)
    return cg_exit_fail (error);
  g_autoptr (CgBuf) secrets = cg_linked_service_get_secrets (ls);
  g_autofree char *jwe = seal (opts, secrets, cg_linked_service_get_name (ls), NULL, &error);
  if (!jwe)
    return cg_exit_fail (error);
  return write_linked_service (opts, ls, jwe, &st);
}

static int
run_verify (const CgEncryptOptions *opts)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgBuf) value = cg_read_value (opts->input, "EncryptedCredential: ", CG_JWE_MAX_LEN,
                                           &error);
  if (!value)
    return cg_exit_fail (error);
  const char *jwe = (const char *) value->data;
  /* Our own check first: a malformed value needs no round trip. */
  if (strlen (jwe) != value->len || !cg_jwe_peek (jwe, value->len, NULL, NULL, &error))
    {
      if (!error)
        g_set_error_literal (&error, CG_ERROR, CG_ERROR_INVALID, "not an EncryptedCredential");
      g_prefix_error (&error, "not a valid EncryptedCredential: ");
      return cg_exit_fail (error);
    }

  json_auto_t *info = NULL;
  g_autoptr (CgClient) client = open_session (opts, opts->agent, TRUE, &info, &error);
  if (!client)
    return cg_exit_fail (error);
  json_auto_t *reply = cg_client_verify (client, jwe, opts->context, &error);
  if (!reply)
    return cg_exit_fail (error);
  const char *kid = json_string_value (json_object_get (reply, "kid"));
  if (opts->json)
    {
      g_autofree char *text = json_dumps (reply, JSON_COMPACT | JSON_PRESERVE_ORDER);
      printf ("%s\n", text);
    }
  else
    printf ("ok %s\n", kid ? kid : "");
  return CG_EXIT_OK;
}

/* Ask the agent to re-seal @jwe to its current key (transfer full). */
static char *
rewrap (CgClient *client, const char *jwe, const char *context, GError **error)
{
  json_auto_t *reply = cg_client_rewrap (client, jwe, context, error);
  return reply ? g_strdup (json_string_value (json_object_get (reply, "encryptedCredential")))
               : NULL;
}

/* --rewrap: the value (or a linked-service file's encryptedCredential) is
 * opened and sealed again inside the agent; the plaintext never travels. */
static int
run_rewrap (const CgEncryptOptions *opts)
{
  g_autoptr (GError) error = NULL;
  struct stat st = { 0 };
  g_autoptr (CgLinkedService) ls = NULL;
  g_autoptr (CgBuf) value = NULL;
  json_auto_t *info = NULL;
  g_autoptr (CgClient) client = open_session (opts, opts->agent, TRUE, &info, &error);
  if (!client)
    return cg_exit_fail (error);
  if (opts->linked_service)
    ls = load_linked_service (opts, TRUE, &st, &error);
  else
    value = cg_read_value (opts->input, "EncryptedCredential: ", CG_JWE_MAX_LEN, &error);
  if (!ls && !value)
    return cg_exit_fail (error);
  g_autofree char *fresh
      = ls ? rewrap (client, cg_linked_service_get_encrypted_credential (ls),
                     cg_linked_service_get_name (ls), &error)
           : rewrap (client, (const char *) value->data, opts->context, &error);
  if (!fresh)
    return cg_exit_fail (error);
  if (ls)
    return write_linked_service (opts, ls, fresh, &st);
  printf ("%s\n", fresh);
  return CG_EXIT_OK;
}

/* The most an enrollment code may be; real ones are 47 characters. */
#define ENROLL_CODE_MAX 256

static int
run_enroll (const CgEncryptOptions *opts)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgBuf) code = cg_read_value (opts->input, "Enrollment code: ", ENROLL_CODE_MAX,
                                          &error);
  if (!code)
    return cg_exit_fail (error);
  g_strstrip ((char *) code->data);
  json_auto_t *info = NULL;
  g_autoptr (CgClient) client = open_session (opts, opts->agent, FALSE, &info, &error);
  if (!client)
    return cg_exit_fail (error);
  g_autofree char *cert = NULL, *key = NULL;
  if (!client_cert_paths (opts, opts->agent, &cert, &key, &error))
    return cg_exit_fail (error);
  json_auto_t *reply = cg_enroll_run (client, (const char *) code->data, cert, key, &error);
  if (!reply)
    return cg_exit_fail (error);
  if (opts->json)
    {
      json_auto_t *out = json_pack ("{s:O?, s:O?, s:O?, s:O?, s:s, s:s}", "name",
                                    json_object_get (reply, "name"), "serial",
                                    json_object_get (reply, "serial"), "fingerprint",
                                    json_object_get (reply, "fingerprint"), "expires",
                                    json_object_get (reply, "expires"), "certificate", cert,
                                    "key", key);
      g_autofree char *text = json_dumps (out, JSON_COMPACT | JSON_PRESERVE_ORDER);
      printf ("%s\n", text);
    }
  else
    printf ("enrolled as \"%s\", certificate valid until %s\n  %s\n  %s\n",
            json_string_value (json_object_get (reply, "name")),
            json_string_value (json_object_get (reply, "expires")), cert, key);
  return CG_EXIT_OK;
}

int
cg_encrypt_cmd_run (const CgEncryptOptions *opts)
{
  if (opts->enroll)
    return run_enroll (opts);
  if (opts->rewrap)
    return run_rewrap (opts);
  if (opts->fetch_key)
    return run_fetch_key (opts);
  if (opts->verify)
    return run_verify (opts);
  if (opts->linked_service)
    return run_linked_service (opts);
  return run_encrypt_value (opts);
}
