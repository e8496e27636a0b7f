/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every credgatectl command shares: option parsing, usage errors,
 * exit statuses, the passphrase, one call to the agent. */
#include "config.h"

#include "ctl/cg-ctl.h"
#include "ctl/cg-admin-call.h"
#include "cmdline/cg-prompt.h"
#include "common/cg-error.h"
#include "common/cg-file.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char *
verb_title (const CgCtlVerb *verb)
{
  return verb->name ? g_strdup_printf ("%s %s", verb->group, verb->name) : g_strdup (verb->group);
}

int
cg_ctl_usage (const CgCtlVerb *verb, const char *fmt, ...)
{
  g_autofree char *title = verb ? verb_title (verb) : NULL;
  va_list ap;
  va_start (ap, fmt);
  int status = cg_tool_usagev (title, fmt, ap);
  va_end (ap);
  return status;
}

/* A passphrase is never an argument: argv is readable by every user. */
static gboolean
is_passphrase_arg (const char *arg)
{
  return (g_str_has_prefix (arg, "--passphrase") || g_str_has_prefix (arg, "--password"))
         && !g_str_equal (arg, "--passphrase-fd") && !g_str_has_prefix (arg, "--passphrase-fd=");
}

int
cg_ctl_parse (const CgCtlVerb *verb, const GOptionEntry *entries, int min, int max,
              const char *what, int *argc, char ***argv)
{
  for (int i = 1; i < *argc; i++)
    {
      if (g_str_equal ((*argv)[i], "--"))
        break;
      if (is_passphrase_arg ((*argv)[i]))
        return cg_ctl_usage (verb, "a passphrase is never taken from the command line; "
                                   "use --passphrase-fd N or the prompt");
    }
  g_autofree char *title = verb_title (verb);
  int status = cg_tool_parse (entries, FALSE, title, verb->help, argc, argv);
  if (status >= 0)
    return status;
  int n = *argc - 1;
  if (n < min)
    return cg_ctl_usage (verb, "'%s%s%s' needs %s", verb->group, verb->name ? " " : "",
                         verb->name ? verb->name : "", what);
  if (n > max)
    return cg_ctl_usage (verb, "unexpected argument '%s'", (*argv)[max + 1]);
  return -1;
}

int
cg_ctl_fail (const GError *error)
{
  return cg_tool_fail (error, g_error_matches (error, CG_ERROR, CG_ERROR_AGENT_UNREACHABLE)
                                  ? CG_EXIT_UNREACHABLE
                                  : CG_EXIT_FAILED);
}

gboolean
cg_ctl_parse_fd (const char *text, int *fd)
{
  guint64 n = 0;
  *fd = -1;
  if (!text)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT, &n, NULL))
    return FALSE;
  *fd = (int)n;
  return TRUE;
}

CgBuf *
cg_ctl_read_passphrase (int fd, gsize max, const char *prompt, const char *no_terminal,
                        GError **error)
{
  if (fd < 0)
    return cg_prompt_secret (prompt, max, no_terminal, error);

  char *text = NULL;
  gsize len = 0;
  g_autofree char *what = g_strdup_printf ("passphrase descriptor %d", fd);
  /* Room for the line's end, which is not part of the passphrase. */
  if (!cg_fd_read_capped (fd, what, max + 2, &text, &len, error))
    return NULL;
  gsize read_len = len;
  if (len && text[len - 1] == '\n')
    len--;
  if (len && text[len - 1] == '\r')
    len--;
  CgBuf *pass = len <= max ? cg_buf_new_copy (text, len) : NULL;
  cg_wipe (text, read_len);
  g_free (text);
  if (!pass)
    g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE,
                 "the passphrase on descriptor %d is longer than %" G_GSIZE_FORMAT " bytes", fd,
                 max);
  return pass;
}

json_t *
cg_ctl_call (const CgCtl *ctl, json_t *request, int *status)
{
  g_autoptr (GError) error = NULL;
  json_t *result = cg_admin_call (ctl->socket, request, &error);
  if (!result)
    *status = cg_ctl_fail (error);
  return result;
}

json_t *
cg_ctl_ask (const CgCtl *ctl, json_t *request, int *status)
{
  json_t *result = cg_ctl_call (ctl, request, status);
  if (result && ctl->json)
    {
      cg_tool_print_json (result);
      json_decref (result);
      *status = 0;
      return NULL;
    }
  return result;
}

json_t *
cg_ctl_ask_command (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv,
                    const char *command, int *status)
{
  if ((*status = cg_ctl_parse (verb, NULL, 0, 0, NULL, &argc, &argv)) >= 0)
    return NULL;
  json_auto_t *request = json_pack ("{s:s}", "command", command);
  return cg_ctl_ask (ctl, request, status);
}

int
cg_ctl_run_show (const CgCtl *ctl, const CgCtlVerb *verb, int argc, char **argv)
{
  int status;
  g_autofree char *command = verb->name ? g_strdup_printf ("%s.%s", verb->group, verb->name)
                                        : g_strdup (verb->group);
  json_auto_t *result = cg_ctl_ask_command (ctl, verb, argc, argv, command, &status);
  return result ? verb->print (result) : status;
}

gboolean
cg_ctl_parse_duration (const char *text, gint64 *seconds)
{
  static const struct
  {
    char unit;
    gint64 factor;
  } units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
  char *end = NULL;
  if (!text || !g_ascii_isdigit (*text))
    return FALSE;
  guint64 n = g_ascii_strtoull (text, &end, 10);
  gint64 factor = 0;
  if (*end == '\0')
    factor = 1;
  for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
    if (end[0] == units[i].unit && end[1] == '\0')
      factor = units[i].factor;
  if (!factor || n == 0 || n > (guint64) G_MAXINT64 / (guint64) factor)
    return FALSE;
  *seconds = (gint64) n * factor;
  return TRUE;
}
