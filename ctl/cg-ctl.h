/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "cmdline/cg-tool.h"
#include "common/cg-secure.h"

G_BEGIN_DECLS

/* What every credgatectl command shares: the global options, the table
 * of commands, and the parsing each one does with GOptionContext. */

/* The end of every command's --help. */
#define CG_CTL_HELP_FOOTER                                                                         \
  "\n"                                                                                             \
  "Global options (before COMMAND): --socket PATH (the agent's admin socket), --json.\n"           \
  "Exit status: 0 success, 1 refused by the agent, 2 usage, 3 agent unreachable.\n"

typedef struct
{
  const char *socket; /* the admin socket (borrowed) */
  gboolean json;      /* --json */
} CgCtl;

typedef struct CgCtlVerb CgCtlVerb;
/* @argc/@argv: what follows the command (and subcommand), after
 * "credgatectl" in argv[0].  Returns the exit status. */
typedef int (*CgCtlRun) (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv);

/* One command or subcommand, as systemd's verbs: credgatectl GROUP [NAME].
 * A group with subcommands has a row with @name NULL for its own --help
 * and no @run. */
struct CgCtlVerb
{
  const char *group;
  const char *name;
  const char *help; /* all of --help: "Usage: credgatectl GROUP NAME …" first */
  CgCtlRun run;
  /* With run = cg_ctl_run_show: prints the result as text, returns the
   * exit status. */
  int (*print) (json_t *result);
};

/* Each group's rows, ended by a row with @group NULL. */
extern const CgCtlVerb cg_ctl_basic_verbs[];  /* status, token, credential, decrypt, key */
extern const CgCtlVerb cg_ctl_backup_verbs[]; /* backup, restore, escrow */
extern const CgCtlVerb cg_ctl_cert_verbs[];   /* cert */
extern const CgCtlVerb cg_ctl_client_verbs[]; /* client */
extern const CgCtlVerb cg_ctl_cluster_verbs[]; /* cluster */

/* A command without options or arguments: asks {"command": "GROUP.NAME"}
 * (or "GROUP" for a group without subcommands) and prints the result with
 * @verb's print, or as it is with --json. */
int cg_ctl_run_show (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv);

/* Parse @verb's options (@entries, may be NULL; -h/--help always) with
 * GOptionContext, and check that between @min and @max arguments remain
 * (@what names them in the error, e.g. "a NAME").  Returns -1 to go on,
 * with @argc and @argv what remains (argv[0] first), or the exit status:
 * 0 after printing the help, CG_EXIT_USAGE after a usage error.  A
 * passphrase on the command line (--passphrase, --password) is refused
 * with the reason. */
int cg_ctl_parse (const CgCtlVerb *verb, const GOptionEntry *entries, int min, int max,
                  const char *what, int *argc, char ***argv);
/* A usage error about @verb: "credgatectl: MESSAGE (try 'credgatectl
 * GROUP NAME --help')".  Returns CG_EXIT_USAGE. */
int cg_ctl_usage (const CgCtlVerb *verb, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* Print @error on one line; the exit status: 3 when no agent could be
 * reached, else 1. */
int cg_ctl_fail (const GError *error);
/* "90", "90s", "15m", "1h", "7d" → seconds; FALSE if it is none of these. */
gboolean cg_ctl_parse_duration (const char *text, gint64 *seconds);
/* --passphrase-fd N: a descriptor number, or -1 when @text is NULL;
 * FALSE if @text is not one. */
gboolean cg_ctl_parse_fd (const char *text, int *fd);
/* The passphrase from descriptor @fd when it is >= 0, else asked on the
 * terminal after @prompt, without echo (@no_terminal is the error without
 * one).  At most @max bytes.  (transfer full, wiped on free) */
CgBuf *cg_ctl_read_passphrase (int fd, gsize max, const char *prompt, const char *no_terminal,
                               GError **error);
/* Send @request and return the result, or print the error (NULL, with
 * *@status set). */
json_t *cg_ctl_call (const CgCtl *ctl, json_t *request, int *status);
/* cg_ctl_call, and with --json print the result as it is: then NULL with
 * *@status 0.  So the result comes back only to be printed as text. */
json_t *cg_ctl_ask (const CgCtl *ctl, json_t *request, int *status);
/* A command without options or arguments: parse (for --help), then
 * cg_ctl_ask {"command": @command}. */
json_t *cg_ctl_ask_command (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv,
                            const char *command, int *status);

G_END_DECLS
