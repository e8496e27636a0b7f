/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cmdline/cg-tool.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

/* The entry whose short name is @c, or NULL. */
static const GOptionEntry *
short_entry (const GOptionEntry *entries, char c)
{
  for (; entries && entries->long_name; entries++)
    if (entries->short_name == c)
      return entries;
  return NULL;
}

/* Whether @arg, which starts with one '-', is meant as short options: "-X",
 * "-XVALUE" for an X that takes a value, or a cluster of known flags.
 * Anything else is a value that happens to start with '-': a key id is
 * base64url, so one in 64 starts with '-' ("key retire -kQG8…"), and
 * GOptionContext would refuse it as an unknown option. */
static gboolean
looks_like_short_options (const GOptionEntry *entries, const char *arg)
{
  if (arg[2] == '\0')
    return TRUE; /* "-X": an option, known or not */
  const GOptionEntry *first = short_entry (entries, arg[1]);
  if (!first)
    return FALSE;
  if (arg[2] == '\0' || first->arg != G_OPTION_ARG_NONE)
    return TRUE;
  for (const char *c = arg + 1; *c; c++)
    {
      const GOptionEntry *e = short_entry (entries, *c);
      if (!e || e->arg != G_OPTION_ARG_NONE)
        return FALSE;
    }
  return TRUE;
}

/* Whether @arg is an option whose value is the next argument: "--NAME"
 * or "-X" for an entry that takes a value. */
static gboolean
takes_next_as_value (const GOptionEntry *entries, const char *arg)
{
  const GOptionEntry *e = NULL;
  if (arg[0] == '-' && arg[1] == '-' && arg[2] && !strchr (arg, '='))
    for (e = entries; e && e->long_name && !g_str_equal (e->long_name, arg + 2); e++)
      ;
  else if (arg[0] == '-' && arg[1] && arg[1] != '-' && arg[2] == '\0')
    e = short_entry (entries, arg[1]);
  return e && e->long_name && e->arg != G_OPTION_ARG_NONE;
}

/* Hides the values in argv[1..] that start with '-' but are no option from
 * GOptionContext behind placeholders (which cannot start with '-'), in
 * @hidden as (placeholder, original) pairs; unhide_values puts them back
 * wherever the parse left them.  After "--" nothing is an option anyway. */
static void
hide_values (const GOptionEntry *entries, int argc, char **argv, GPtrArray *hidden)
{
  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];
      if (g_str_equal (arg, "--"))
        break;
      if (arg[0] != '-' || arg[1] == '-' || arg[1] == '\0' ||
          looks_like_short_options (entries, arg) ||
          (i > 1 && takes_next_as_value (entries, argv[i - 1])))
        continue;
      char *placeholder = g_strdup_printf ("\x1f%u", hidden->len / 2);
      g_ptr_array_add (hidden, placeholder);
      g_ptr_array_add (hidden, argv[i]);
      argv[i] = placeholder;
    }
}

static void
unhide_values (int argc, char **argv, GPtrArray *hidden)
{
  for (int i = 1; i < argc; i++)
    for (guint h = 0; h < hidden->len; h += 2)
      if (argv[i] == hidden->pdata[h])
        argv[i] = hidden->pdata[h + 1];
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
  /* Placeholders only (the originals belong to the caller's argv). */
  g_autoptr (GPtrArray) hidden = g_ptr_array_new ();
  hide_values (entries, *argc, *argv, hidden);
  gboolean parsed = g_option_context_parse (ctx, argc, argv, &error);
  unhide_values (*argc, *argv, hidden);
  for (guint h = 0; h < hidden->len; h += 2)
    g_free (hidden->pdata[h]);
  if (!parsed)
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
