/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdarg.h>

G_BEGIN_DECLS

/* What the command-line tools (credgatectl, credgate-encrypt-value) share:
 * exit statuses, one-line errors, JSON printing and the start of main().
 * No network, no agent: both tools link it. */

/* Exit statuses.  Scripts branch on them, so they are documented (README,
 * --help, the man pages) and never change meaning.  credgatectl uses 0-3
 * (1: the agent refused); credgate-encrypt-value all of them. */
typedef enum
{
  CG_EXIT_OK = 0,
  CG_EXIT_FAILED = 1,       /* anything else: refused by the agent, I/O */
  CG_EXIT_USAGE = 2,        /* bad options */
  CG_EXIT_UNREACHABLE = 3,  /* no agent: no connection, TLS failed, timeout, no socket */
  CG_EXIT_PIN = 4,          /* agent key not trusted: pin mismatch, changed, unknown */
  CG_EXIT_UNAUTHORIZED = 5, /* no token, token rejected, throttled */
  CG_EXIT_BAD_INPUT = 6,    /* the value, file, key or JWE is unusable */
  CG_EXIT_REFUSED = 7,      /* refused: already encrypted, cannot decrypt (--verify) */
} CgExit;

/* First thing in main(): remembers @name for messages, turns off core dumps and ptrace
 * (cg_harden_process) and makes jansson wipe what it frees.  FALSE if the kernel refused; print it
 * with cg_tool_fail. */
gboolean cg_tool_init (const char *name, GError **error);
/* The name given to cg_tool_init (borrowed). */
const char *cg_tool_name (void);

/* "NAME: MESSAGE" on one line of stderr (a message with a newline would
 * break log parsers); returns @status. */
int cg_tool_fail (const GError *error, int status);
/* "NAME: MESSAGE (try 'NAME COMMAND --help')" on stderr; @command may be
 * NULL.  Returns CG_EXIT_USAGE. */
int cg_tool_usage (const char *command, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
int cg_tool_usagev (const char *command, const char *fmt, va_list ap) G_GNUC_PRINTF (2, 0);

/* Parse @entries (may be NULL) and -h/--help with GOptionContext; with
 * @stop_at_argument, stop at the first argument that is not an option
 * (a tool's global options, before its COMMAND).  --help anywhere wins
 * over a mistake elsewhere on the line: @help is printed on stdout.
 * @command names the command in usage errors (NULL: the tool itself).
 * Returns -1 to go on, with @argc and @argv what remains (argv[0] first),
 * 0 after printing the help, or CG_EXIT_USAGE after a usage error. */
int cg_tool_parse (const GOptionEntry *entries, gboolean stop_at_argument, const char *command,
                   const char *help, int *argc, char ***argv);

/* Indented JSON on stdout, any value; the text is wiped after (it may hold
 * a secret). */
void cg_tool_print_json (json_t *value);
/* @key's string in @obj, or @fallback (borrowed). */
const char *cg_tool_str_or (json_t *obj, const char *key, const char *fallback);

G_END_DECLS
