/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* credgatectl cluster …: make a cluster of this agent, invite and join
 * nodes, see them, remove one (issue 13).  The etcd files are read here
 * and sent to the agent, which keeps its own copies; a join code is read
 * from the terminal or a descriptor, never from argv. */
#include "config.h"

#include "ctl/cg-ctl.h"
#include "ctl/cg-admin-call.h"
#include "common/cg-error.h"
#include "common/cg-file.h"
#include "common/cg-secure.h"

#include <stdio.h>
#include <string.h>

#define PEM_MAX (256 * 1024)
#define CODE_MAX 128

static const char cluster_help[]
    = "Usage: credgatectl cluster SUBCOMMAND [OPTIONS]\n"
      "\n"
      "Several agents sharing every credential, key and token through etcd v3.\n"
      "\n"
      "  init --etcd URL[,URL…] --etcd-ca F --etcd-cert F --etcd-key F [--name N]\n"
      "                              make a cluster of this agent\n"
      "  invite [--expires DURATION] print a one-time join code\n"
      "  join --etcd … --etcd-ca … --etcd-cert … --etcd-key … [--name N] [--code-fd N]\n"
      "                              join this (empty) agent to a cluster\n"
      "  status                      every node, etcd's members, whether this node can write\n"
      "  remove NODE                 take a node out (then: credgatectl key rotate --all)\n"
      "\n"
      "Run 'credgatectl cluster SUBCOMMAND --help' for the details of one.\n" CG_CTL_HELP_FOOTER;

#define ETCD_OPTIONS_HELP                                                                          \
  "  --etcd URL[,URL…]   etcd's client URLs (https://HOST:PORT)\n"                                 \
  "  --etcd-ca FILE      the CA that signed etcd's certificates (PEM)\n"                           \
  "  --etcd-cert FILE    this node's etcd client certificate (PEM)\n"                              \
  "  --etcd-key FILE     its key (PEM); the agent keeps copies of the three files\n"               \
  "                      under STATE_DIR/cluster/ (the key 0600)\n"                                \
  "  --name NAME         this node's name (default: the host name)\n"                              \
  "  --address HOST:PORT where clients reach this node (default: its first listening\n"            \
  "                      address; a wildcard address becomes the host name)\n"

static const char init_help[]
    = "Usage: credgatectl cluster init --etcd URL[,URL…] --etcd-ca FILE --etcd-cert FILE\n"
      "                                --etcd-key FILE [--name NAME] [--address HOST:PORT]\n"
      "\n"
      "Makes a new cluster of this agent: a node key in its keyring, the cluster's\n"
      "keys wrapped to it, and every credential, token and sealing key of this agent\n"
      "written into etcd under /credgate/<cluster-id>/ (its state.db stays, as this\n"
      "node's replica).  Writes wait while that runs.  Nothing is lost: a failure\n"
      "half-way leaves the agent as it was and removes what it wrote to etcd (what it\n"
      "could not remove, the next init removes).\n"
      "\n" ETCD_OPTIONS_HELP CG_CTL_HELP_FOOTER;

static const char invite_help[]
    = "Usage: credgatectl cluster invite [--expires DURATION]\n"
      "\n"
      "Prints a one-time join code, alone on standard output, for one new node\n"
      "('credgatectl cluster join' on it).  etcd keeps only a one-way HMAC of it.\n"
      "It works once, until it expires.\n"
      "\n"
      "  --expires DURATION   how long the code works (default 1h, at most 7d)\n"
      "DURATION: a number with s, m, h or d (90s, 15m, 1h, 2d).\n" CG_CTL_HELP_FOOTER;

static const char join_help[]
    = "Usage: credgatectl cluster join --etcd URL[,URL…] --etcd-ca FILE --etcd-cert FILE\n"
      "                                --etcd-key FILE [--name NAME] [--address HOST:PORT]\n"
      "                                [--code-fd N] [--wait DURATION]\n"
      "\n"
      "Joins this agent to the cluster of a join code ('credgatectl cluster invite' on a\n"
      "member).  The code is asked on the terminal, or read from descriptor N\n"
      "(--code-fd 0: standard input); never from the command line.  A used, expired or\n"
      "forged code is refused before anything is written.  A member admits the node\n"
      "and wraps the cluster's keys to its node key; this agent then installs them,\n"
      "copies the cluster's state and serves every credential.\n"
      "\n"
      "The agent must be empty (no credentials, tokens or clients): they are not\n"
      "merged into the cluster and joining is refused rather than losing them.\n"
      "\n" ETCD_OPTIONS_HELP
      "  --code-fd N         read the join code from descriptor N\n"
      "  --wait DURATION     how long to wait for a member to admit it (default 60s)\n"
      CG_CTL_HELP_FOOTER;

static const char status_help[]
    = "Usage: credgatectl cluster status\n"
      "\n"
      "Every node (name, address, TLS pin, last heartbeat, applied etcd revision, lag,\n"
      "cluster keys present), etcd's members and their health, and whether this node\n"
      "can write.  A node gone longer than its lease (10 s) shows as gone; one whose\n"
      "replica has lacked a change for more than 10 s shows as lagging, its lag in\n"
      "revisions and seconds; one whose entry in etcd no member wrote (no valid MAC\n"
      "under the current master key) shows as unverified and gets no cluster secret.\n"
      "With --json, one JSON object.\n" CG_CTL_HELP_FOOTER;

static const char remove_help[]
    = "Usage: credgatectl cluster remove NODE\n"
      "\n"
      "Deletes NODE's entry, heartbeat and wrapped keys from the cluster (run it on\n"
      "another member).  Its copy of the keys still opens what was sealed before: run\n"
      "'credgatectl key rotate --all' next, and revoke its etcd client certificate\n"
      "first (until it is revoked the node can still write to etcd).\n"
      CG_CTL_HELP_FOOTER;

typedef struct
{
  char *etcd, *ca, *cert, *key, *name, *address;
} EtcdArgs;

static void
etcd_args_clear (EtcdArgs *a)
{
  g_free (a->etcd);
  g_free (a->ca);
  g_free (a->cert);
  g_free (a->key);
  g_free (a->name);
  g_free (a->address);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (EtcdArgs, etcd_args_clear)

#define ETCD_ENTRIES(a)                                                                            \
  { "etcd", 0, 0, G_OPTION_ARG_STRING, &(a).etcd, NULL, NULL },                                    \
      { "etcd-ca", 0, 0, G_OPTION_ARG_FILENAME, &(a).ca, NULL, NULL },                             \
      { "etcd-cert", 0, 0, G_OPTION_ARG_FILENAME, &(a).cert, NULL, NULL },                         \
      { "etcd-key", 0, 0, G_OPTION_ARG_FILENAME, &(a).key, NULL, NULL },                           \
      { "name", 0, 0, G_OPTION_ARG_STRING, &(a).name, NULL, NULL },                                \
      { "address", 0, 0, G_OPTION_ARG_STRING, &(a).address, NULL, NULL }

/* The request's etcd part: endpoints and the three files' text.  Returns
 * -1 and the request, or the exit status. */
static int
etcd_request (const CgCtlVerb *verb, const EtcdArgs *a, const char *command, json_t **out)
{
  if (!a->etcd || !a->ca || !a->cert || !a->key)
    return cg_ctl_usage (verb, "give --etcd, --etcd-ca, --etcd-cert and --etcd-key");
  json_auto_t *request = json_pack ("{s:s}", "command", command);
  json_t *endpoints = json_array ();
  g_auto (GStrv) urls = g_strsplit (a->etcd, ",", -1);
  for (char **u = urls; *u; u++)
    if (**u)
      json_array_append_new (endpoints, json_string (g_strstrip (*u)));
  json_object_set_new (request, "endpoints", endpoints);
  const struct
  {
    const char *field, *path;
  } files[] = { { "ca", a->ca }, { "cert", a->cert }, { "key", a->key } };
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr (GError) error = NULL;
      char *text = NULL;
      gsize len = 0;
      if (!cg_file_read_capped (files[i].path, PEM_MAX, &text, &len, &error))
        return cg_ctl_fail (error);
      if (!g_utf8_validate (text, len, NULL) || memchr (text, 0, len))
        {
          cg_wipe (text, len);
          g_free (text);
          g_set_error (&error, CG_ERROR, CG_ERROR_INVALID, "%s is not a PEM file", files[i].path);
          return cg_ctl_fail (error);
        }
      json_object_set_new (request, files[i].field, json_stringn (text, len));
      cg_wipe (text, len);
      g_free (text);
    }
  if (a->name)
    json_object_set_new (request, "name", json_string (a->name));
  if (a->address)
    json_object_set_new (request, "address", json_string (a->address));
  *out = g_steal_pointer (&request);
  return -1;
}

static int
run_init (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  g_auto (EtcdArgs) a = { 0 };
  const GOptionEntry entries[] = { ETCD_ENTRIES (a), { NULL } };
  int status = cg_ctl_parse (verb, entries, 0, 0, NULL, &argc, &argv);
  if (status >= 0)
    return status;
  json_auto_t *request = NULL;
  if ((status = etcd_request (verb, &a, "cluster.init", &request)) >= 0)
    return status;
  json_auto_t *result = cg_ctl_ask (ctl, request, &status);
  if (!result)
    return status;
  printf ("cluster %s made: node %s at %s, %" JSON_INTEGER_FORMAT " cluster secrets wrapped to it\n"
          "this agent's state is in etcd under %s\n"
          "next: 'credgatectl cluster invite' here, 'credgatectl cluster join' on each new node\n",
          cg_tool_str_or (result, "id", "?"), cg_tool_str_or (result, "name", "?"),
          cg_tool_str_or (result, "address", "?"),
          json_integer_value (json_object_get (result, "secrets")),
          cg_tool_str_or (result, "prefix", "?"));
  return 0;
}

static int
run_invite (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  g_autofree char *expires = NULL;
  const GOptionEntry entries[] = {
    { "expires", 0, 0, G_OPTION_ARG_STRING, &expires, NULL, NULL },
    { NULL },
  };
  int status = cg_ctl_parse (verb, entries, 0, 0, NULL, &argc, &argv);
  if (status >= 0)
    return status;
  gint64 ttl = 0;
  if (expires && !cg_ctl_parse_duration (expires, &ttl))
    return cg_ctl_usage (verb, "--expires takes a duration such as 15m, 1h or 2d");
  json_auto_t *request = json_pack ("{s:s}", "command", "cluster.invite");
  if (expires)
    json_object_set_new (request, "expiresSeconds", json_integer (ttl));
  json_auto_t *result = cg_ctl_call (ctl, request, &status);
  if (!result)
    return status;
  /* The code alone on stdout (also with --json), the rest on stderr. */
  printf ("%s\n", cg_tool_str_or (result, "code", ""));
  fflush (stdout);
  fprintf (stderr, "join code: single use, until %s; on the new node: credgatectl cluster join "
                   "--etcd … --etcd-ca … --etcd-cert … --etcd-key … (it asks for the code)\n",
           cg_tool_str_or (result, "expires", "?"));
  return 0;
}

/* A join code is a secret: refused on the command line, as passphrases. */
static gboolean
has_code_arg (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--"))
        break;
      if (g_str_equal (argv[i], "--code") || g_str_has_prefix (argv[i], "--code="))
        return TRUE;
    }
  return FALSE;
}

static int
run_join (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  g_auto (EtcdArgs) a = { 0 };
  g_autofree char *code_fd = NULL, *wait = NULL;
  const GOptionEntry entries[] = {
    ETCD_ENTRIES (a),
    { "code-fd", 0, 0, G_OPTION_ARG_STRING, &code_fd, NULL, NULL },
    { "wait", 0, 0, G_OPTION_ARG_STRING, &wait, NULL, NULL },
    { NULL },
  };
  if (has_code_arg (argc, argv))
    return cg_ctl_usage (verb, "a join code is never taken from the command line; it is asked "
                               "on the terminal, or read with --code-fd N");
  int status = cg_ctl_parse (verb, entries, 0, 0, NULL, &argc, &argv);
  if (status >= 0)
    return status;
  int fd = -1;
  gint64 wait_s = 0;
  if (!cg_ctl_parse_fd (code_fd, &fd))
    return cg_ctl_usage (verb, "--code-fd takes a descriptor number");
  if (wait && !cg_ctl_parse_duration (wait, &wait_s))
    return cg_ctl_usage (verb, "--wait takes a duration such as 30s or 2m");
  json_auto_t *request = NULL;
  if ((status = etcd_request (verb, &a, "cluster.join", &request)) >= 0)
    return status;
  if (wait)
    json_object_set_new (request, "waitSeconds", json_integer (wait_s));

  g_autoptr (GError) error = NULL;
  /* Not even a prompt for a socket someone else could have set up. */
  if (!cg_admin_check_socket (ctl->socket, &error))
    return cg_ctl_fail (error);
  g_autoptr (CgBuf) code = cg_ctl_read_passphrase (
      fd, CODE_MAX, "Join code: ",
      "no join code: give --code-fd N, or run on a terminal to be asked", &error);
  if (!code)
    return cg_ctl_fail (error);
  g_autofree char *text = g_strstrip (g_strndup ((const char *) code->data, code->len));
  json_object_set_new (request, "code", json_string (text));
  cg_wipe_str (g_steal_pointer (&text));
  json_auto_t *result = cg_ctl_ask (ctl, request, &status);
  if (!result)
    return status;
  printf ("joined cluster %s as node %s at %s\n", cg_tool_str_or (result, "id", "?"),
          cg_tool_str_or (result, "name", "?"), cg_tool_str_or (result, "address", "?"));
  return 0;
}

static int
print_status (json_t *s)
{
  json_t *self = json_object_get (s, "self");
  printf ("cluster %s, this node %s: %s\n", cg_tool_str_or (s, "id", "?"),
          cg_tool_str_or (self, "name", "?"),
          json_is_true (json_object_get (self, "writable")) ? "can write"
                                                             : "CANNOT WRITE (etcd unreachable or "
                                                               "no quorum); reads go on");
  json_t *stale = json_object_get (self, "staleSeconds");
  if (json_is_integer (stale))
    printf ("  replica stale for %" JSON_INTEGER_FORMAT " s (last contact %s)\n",
            json_integer_value (stale), cg_tool_str_or (self, "lastContact", "never"));
  printf ("  applied revision %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT "\n",
          json_integer_value (json_object_get (self, "applied")),
          json_integer_value (json_object_get (self, "etcdRevision")));
  if (!json_is_true (json_object_get (s, "fromEtcd")))
    printf ("  (etcd could not be read: the nodes below are as this node last saw them)\n");
  printf ("\n%-16s %-8s %-24s %-52s %-21s %-9s %-12s %s\n", "node", "state", "address", "pin",
          "last heartbeat", "applied", "lag", "keys");
  size_t i;
  json_t *n;
  json_array_foreach (json_object_get (s, "nodes"), i, n)
    {
      json_t *keys = json_object_get (n, "keys");
      g_autofree char *keytext
          = keys ? g_strdup_printf ("%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "%s",
                                    json_integer_value (json_object_get (keys, "present")),
                                    json_integer_value (json_object_get (keys, "needed")),
                                    json_array_size (json_object_get (keys, "missing"))
                                        ? " (missing some)"
                                        : "")
                 : g_strdup ("?");
      g_autofree char *applied = json_object_get (n, "applied")
                                     ? g_strdup_printf ("%" JSON_INTEGER_FORMAT,
                                                        json_integer_value (json_object_get (n, "applied")))
                                     : g_strdup ("-");
      json_int_t lag_s = json_integer_value (json_object_get (n, "lagSeconds"));
      g_autofree char *lag_time = lag_s > 0 ? g_strdup_printf (" (%" JSON_INTEGER_FORMAT " s)", lag_s)
                                            : g_strdup ("");
      g_autofree char *lag = json_object_get (n, "lag")
                                 ? g_strdup_printf ("%" JSON_INTEGER_FORMAT "%s",
                                                    json_integer_value (json_object_get (n, "lag")),
                                                    lag_time)
                                 : g_strdup ("-");
      g_autofree char *name = g_strdup_printf (
          "%s%s", cg_tool_str_or (n, "name", "?"),
          json_is_true (json_object_get (n, "self")) ? "*" : "");
      printf ("%-16s %-8s %-24s %-52s %-21s %-9s %-12s %s\n", name, cg_tool_str_or (n, "state", "?"),
              cg_tool_str_or (n, "address", "-"), cg_tool_str_or (n, "pin", "-"),
              cg_tool_str_or (n, "lastHeartbeat", "-"), applied, lag, keytext);
    }
  gboolean unverified = FALSE;
  json_array_foreach (json_object_get (s, "nodes"), i, n)
    unverified |= json_is_false (json_object_get (n, "verified"));
  if (unverified)
    printf ("\nunverified: the node's entry in etcd carries no valid MAC under the current "
            "master key%s,\nso no member wrote it as it is: it gets no cluster secret and "
            "clients do not learn its pin.\n",
            json_is_false (json_object_get (self, "holdsMaster"))
                ? " (this node does not hold that key yet: a key rotate --all is under way?)"
                : "");
  json_t *etcd = json_object_get (s, "etcd");
  printf ("\netcd: %s\n", !json_is_true (json_object_get (etcd, "reachable"))
                              ? cg_tool_str_or (etcd, "error", "unreachable")
                          : json_is_true (json_object_get (etcd, "quorum"))
                              ? "quorum"
                              : "NO QUORUM");
  json_array_foreach (json_object_get (etcd, "members"), i, n)
    printf ("  %-10s %-9s %s%s\n", cg_tool_str_or (n, "name", "?"),
            json_is_true (json_object_get (n, "healthy")) ? "healthy" : "DOWN",
            json_string_value (json_array_get (json_object_get (n, "clientURLs"), 0))
                ? json_string_value (json_array_get (json_object_get (n, "clientURLs"), 0))
                : "?",
            json_is_true (json_object_get (n, "leader")) ? " (leader)" : "");
  return 0;
}

static int
run_remove (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  int status = cg_ctl_parse (verb, NULL, 1, 1, "a NODE", &argc, &argv);
  if (status >= 0)
    return status;
  json_auto_t *request = json_pack ("{s:s, s:s}", "command", "cluster.remove", "name", argv[1]);
  json_auto_t *result = cg_ctl_ask (ctl, request, &status);
  if (!result)
    return status;
  printf ("removed node %s.  Its keyring still opens what was sealed before, and its etcd\n"
          "client certificate still lets it write to etcd (delete or roll back records, and\n"
          "put its entry back while it holds the current master key).  Next:\n"
          "  1. revoke its etcd client certificate (etcd --client-crl-file; README, \"Removing\n"
          "     a node\"), and check that 'credgatectl cluster status' lists only your nodes;\n"
          "  2. credgatectl key rotate --all\n",
          cg_tool_str_or (result, "name", "?"));
  return 0;
}

const CgCtlVerb cg_ctl_cluster_verbs[] = {
  { "cluster", NULL, cluster_help, NULL },
  { "cluster", "init", init_help, run_init },
  { "cluster", "invite", invite_help, run_invite },
  { "cluster", "join", join_help, run_join },
  { "cluster", "status", status_help, cg_ctl_run_show, print_status },
  { "cluster", "remove", remove_help, run_remove },
  { NULL },
};
