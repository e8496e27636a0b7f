/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cmdline/cg-tool.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#include <stdarg.h>
#include <stdio.h>

static const char *tool_name = "credgate";

gboolean
cg_tool_init (const char *name, GError **error)
{
  tool_name = name;
  g_set_prgname (name);
  /* The tools hold passphrases, keys and plaintexts. */
  if (!cg_harden_process (error))
    return FALSE;
  cg_json_use_wiping_allocator ();
  return TRUE;
}

const char *
cg_tool_name (void)
{
  return tool_name;
}

int
cg_tool_fail (const GError *error, int status)
{
  g_autofree char *line = g_strdup (error->message);
  g_strdelimit (line, "\r\n", ' ');
  fprintf (stderr, "%s: %s\n", tool_name, line);
  return status;
}

int
cg_tool_usage (const char *command, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int status = cg_tool_usagev (command, fmt, ap);
  va_end (ap);
  return status;
}

int
cg_tool_usagev (const char *command, const char *fmt, va_list ap)
{
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  g_strdelimit (msg, "\r\n", ' ');
  fprintf (stderr, "%s: %s (try '%s%s%s --help')\n", tool_name, msg, tool_name, command ? " " : "",
           command ? command : "");
  return CG_EXIT_USAGE;
}

int
cg_tool_parse (const GOptionEntry *entries, gboolean stop_at_argument, const char *command,
               const char *help, int *argc, char ***argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  gboolean want_help = FALSE;
  const GOptionEntry help_entry[] = {
    { "help", 'h', 0, G_OPTION_ARG_NONE, &want_help, NULL, NULL },
    { NULL },
  };
  g_option_context_set_help_enabled (ctx, FALSE);
  g_option_context_set_strict_posix (ctx, stop_at_argument);
  if (entries)
    g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_main_entries (ctx, help_entry, NULL);
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      for (int i = 1; i < *argc && !want_help; i++)
        want_help = g_str_equal ((*argv)[i], "--help") || g_str_equal ((*argv)[i], "-h");
      if (!want_help)
        return cg_tool_usage (command, "%s", error->message);
    }
  if (want_help)
    {
      fputs (help, stdout);
      return 0;
    }
  return -1;
}

void
cg_tool_print_json (json_t *value)
{
  char *text = json_dumps (value, JSON_INDENT (2) | JSON_ENCODE_ANY);
  if (!text)
    return;
  puts (text);
  cg_wipe_str (text);
}

const char *
cg_tool_str_or (json_t *obj, const char *key, const char *fallback)
{
  const char *s = json_string_value (json_object_get (obj, key));
  return s ? s : fallback;
}
