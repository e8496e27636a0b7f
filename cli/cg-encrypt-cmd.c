/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cli/cg-encrypt-cmd.h"

#include <errno.h>
#include <stdarg.h>
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

GStrv
cg_encrypt_agent_list (const char *text, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text ? text : "", ",", -1);
  g_autoptr (GStrvBuilder) list = g_strv_builder_new ();
  guint n = 0;
  for (char **p = parts; *p; p++)
    {
      g_autofree char *host = NULL;
      guint port;
      g_strstrip (*p);
      if (!cg_agent_address_parse (*p, &host, &port, error))
        return NULL;
      g_strv_builder_add (list, *p);
      n++;
    }
  if (n == 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "no agent named");
      return NULL;
    }
  return g_strv_builder_end (list);
}

static void
verbose (const CgEncryptOptions *opts, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
verbose (const CgEncryptOptions *opts, const char *fmt, ...)
{
  if (!opts->verbose)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "credgate-encrypt-value: %s\n", msg);
}

/* One request to one agent of the list, over a trusted session; @info is
 * that agent's /v1/info (borrowed). */
typedef json_t *(*AgentCall) (CgClient *client, json_t *info, gpointer data, GError **error);

/* Each agent of @agents in turn, until one answers @call: the next one is
 * tried only when cg_client_error_fails_over says so (nothing was done).  The reply
 * (transfer full) and in *@answered the agent that gave it; when every
 * agent failed over, one error that names each. */
static json_t *
ask_agents (const CgEncryptOptions *opts, const char *agents, gboolean need_token,
            AgentCall call, gpointer data, char **answered, GError **error)
{
  g_auto (GStrv) list = cg_encrypt_agent_list (agents, error);
  if (!list)
    return NULL;
  g_autoptr (GString) tried = g_string_new (NULL);
  GError *last = NULL;
  for (char **agent = list; *agent; agent++)
    {
      json_auto_t *info = NULL;
      g_autoptr (CgClient) client = open_session (opts, *agent, need_token, &info, &last);
      json_t *reply = client ? call (client, info, data, &last) : NULL;
      if (reply)
        {
          verbose (opts, "answered by agent %s", *agent);
          *answered = g_strdup (*agent);
          return reply;
        }
      if (!cg_client_error_fails_over (last) || (!agent[1] && !tried->len))
        break;
      g_string_append_printf (tried, "%s%s: %s", tried->len ? "; " : "", *agent, last->message);
      if (!agent[1])
        {
          /* Every agent failed over: one error that names each, of the
           * last one's kind (the exit status). */
          g_set_error (error, last->domain, last->code, "no agent could do it: %s", tried->str);
          g_error_free (last);
          return NULL;
        }
      verbose (opts, "agent %s: %s; trying %s", *agent, last->message, agent[1]);
      g_clear_error (&last);
    }
  /* A refusal that is no reason to try another agent, as the agent gave it. */
  g_propagate_error (error, last);
  return NULL;
}

static json_t *
call_info (CgClient *client, json_t *info, gpointer data, GError **error)
{
  return json_incref (info);
}

static int
run_fetch_key (const CgEncryptOptions *opts)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *answered = NULL;
  json_auto_t *info = ask_agents (opts, opts->fetch_key, FALSE, call_info, NULL, &answered,
                                  &error);
  if (!info)
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

typedef struct
{
  const CgBuf *plain;
  const char *ctx;
} EncryptCall;

static json_t *
call_encrypt (CgClient *client, json_t *info, gpointer data, GError **error)
{
  EncryptCall *c = data;
  return cg_client_encrypt (client, (const char *) c->plain->data, c->plain->len, c->ctx, error);
}

/* Seal @plain bound to @ctx: offline with --key, else through the first
 * agent of the list that answers (*@answered). */
static char *
seal (const CgEncryptOptions *opts, const CgBuf *plain, const char *ctx, char **kid_out,
      char **answered, GError **error)
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

  EncryptCall c = { plain, ctx };
  json_auto_t *reply = ask_agents (opts, opts->agent, TRUE, call_encrypt, &c, answered, error);
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
  g_autofree char *kid = NULL, *answered = NULL;
  g_autofree char *jwe = seal (opts, plain, opts->context, &kid, &answered, &error);
  if (!jwe)
    return cg_exit_fail (error);
  if (opts->json)
    {
      json_auto_t *out = json_pack ("{s:s, s:s?, s:s?, s:s?}", "encryptedCredential", jwe, "kid",
                                    kid, "context", opts->context, "agent", answered);
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
  g_autofree char *answered = NULL;
  g_autofree char *jwe = seal (opts, secrets, cg_linked_service_get_name (ls), NULL, &answered,
                               &error);
  if (!jwe)
    return cg_exit_fail (error);
  return write_linked_service (opts, ls, jwe, &st);
}

typedef struct
{
  const char *jwe, *context;
} JweCall;

static json_t *
call_verify (CgClient *client, json_t *info, gpointer data, GError **error)
{
  JweCall *c = data;
  return cg_client_verify (client, c->jwe, c->context, error);
}

static json_t *
call_rewrap (CgClient *client, json_t *info, gpointer data, GError **error)
{
  JweCall *c = data;
  return cg_client_rewrap (client, c->jwe, c->context, error);
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

  JweCall c = { jwe, opts->context };
  g_autofree char *answered = NULL;
  json_auto_t *reply = ask_agents (opts, opts->agent, TRUE, call_verify, &c, &answered, &error);
  if (!reply)
    return cg_exit_fail (error);
  const char *kid = json_string_value (json_object_get (reply, "kid"));
  if (opts->json)
    {
      json_object_set_new (reply, "agent", json_string (answered));
      g_autofree char *text = json_dumps (reply, JSON_COMPACT | JSON_PRESERVE_ORDER);
      printf ("%s\n", text);
    }
  else
    printf ("ok %s\n", kid ? kid : "");
  return CG_EXIT_OK;
}

/* Ask the first agent that answers to re-seal @jwe to its current key
 * (transfer full). */
static char *
rewrap (const CgEncryptOptions *opts, const char *jwe, const char *context, GError **error)
{
  JweCall c = { jwe, context };
  g_autofree char *answered = NULL;
  json_auto_t *reply = ask_agents (opts, opts->agent, TRUE, call_rewrap, &c, &answered, error);
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
  if (opts->linked_service)
    ls = load_linked_service (opts, TRUE, &st, &error);
  else
    value = cg_read_value (opts->input, "EncryptedCredential: ", CG_JWE_MAX_LEN, &error);
  if (!ls && !value)
    return cg_exit_fail (error);
  g_autofree char *fresh
      = ls ? rewrap (opts, cg_linked_service_get_encrypted_credential (ls),
                     cg_linked_service_get_name (ls), &error)
           : rewrap (opts, (const char *) value->data, opts->context, &error);
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
