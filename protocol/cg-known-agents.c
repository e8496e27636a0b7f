/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "protocol/cg-known-agents.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cg-error.h"
#include "common/cg-file.h"
#include "protocol/cg-client.h"

/* A known_agents file is small; a huge one is a mistake, not a list. */
#define KNOWN_AGENTS_MAX (1024 * 1024)

typedef struct
{
  char *raw;          /* a comment or blank line, kept as is; NULL for an entry */
  CgKnownAgent agent; /* valid when raw is NULL */
} Line;

struct CgKnownAgents
{
  char *path;
  GPtrArray *lines; /* Line * */
};

static void
line_free (Line *line)
{
  g_free (line->raw);
  g_free (line->agent.address);
  g_free (line->agent.pin);
  g_free (line->agent.next_pin);
  g_free (line->agent.via);
  g_free (line);
}

gboolean
cg_pin_is_valid (const char *pin)
{
  if (!pin || !g_str_has_prefix (pin, "sha256:"))
    return FALSE;
  const char *b64 = pin + 7;
  /* 32 bytes: 43 base64 characters and one '='. */
  if (strlen (b64) != 44 || b64[43] != '=')
    return FALSE;
  for (int i = 0; i < 43; i++)
    if (!g_ascii_isalnum (b64[i]) && b64[i] != '+' && b64[i] != '/')
      return FALSE;
  return TRUE;
}

gboolean
cg_agent_address_parse (const char *text, char **host, guint *port, GError **error)
{
  g_autofree char *h = NULL;
  const char *port_text = NULL;

  if (!text || !*text)
    goto bad;
  if (text[0] == '[')
    {
      const char *close = strchr (text, ']');
      if (!close || close == text + 1)
        goto bad;
      h = g_strndup (text + 1, close - text - 1);
      if (!strchr (h, ':'))
        goto bad;
      if (close[1] == ':')
        port_text = close + 2;
      else if (close[1] != '\0')
        goto bad;
    }
  else
    {
      const char *colon = strchr (text, ':');
      if (colon && strchr (colon + 1, ':'))
        {
          g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                       "agent address \"%s\": put an IPv6 address in brackets, e.g. [::1]:8050",
                       text);
          return FALSE;
        }
      h = colon ? g_strndup (text, colon - text) : g_strdup (text);
      if (colon)
        port_text = colon + 1;
    }
  if (!*h)
    goto bad;
  for (const char *c = h; *c; c++)
    if (!g_ascii_isalnum (*c) && !strchr (".-_:%", *c))
      goto bad;

  guint64 n = CG_AGENT_DEFAULT_PORT;
  if (port_text && !g_ascii_string_to_unsigned (port_text, 10, 1, 65535, &n, NULL))
    goto bad;

  *host = g_ascii_strdown (h, -1);
  *port = (guint) n;
  return TRUE;

bad:
  g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
               "agent address \"%s\" is not HOST[:PORT] (an IPv6 address in brackets)",
               text ? text : "");
  return FALSE;
}

char *
cg_agent_address_format (const char *host, guint port)
{
  if (strchr (host, ':'))
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

char *
cg_known_agents_default_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "credgate", "known_agents", NULL);
}

static gboolean
parse_line (const char *path, guint lineno, const char *text, Line *line, GError **error)
{
  g_auto (GStrv) fields = g_strsplit_set (text, " \t", -1);
  g_autoptr (GPtrArray) words = g_ptr_array_new ();
  g_autofree char *host = NULL; /* before any goto: it is freed at "bad" too */
  guint port;
  for (char **f = fields; *f; f++)
    if (**f)
      g_ptr_array_add (words, *f);

  g_autofree char *via = NULL;
  const char *next = NULL;
  if (words->len < 2 || words->len > 4)
    goto bad;
  const char *address = words->pdata[0], *pin = words->pdata[1];
  if (!cg_agent_address_parse (address, &host, &port, NULL) || !cg_pin_is_valid (pin))
    goto bad;
  /* Then next: and via:, each at most once, in this order. */
  for (guint i = 2; i < words->len; i++)
    {
      const char *w = words->pdata[i];
      g_autofree char *via_host = NULL;
      guint via_port;
      if (!next && !via && g_str_has_prefix (w, "next:") && cg_pin_is_valid (w + 5))
        next = w + 5;
      else if (!via && g_str_has_prefix (w, "via:")
               && cg_agent_address_parse (w + 4, &via_host, &via_port, NULL))
        via = cg_agent_address_format (via_host, via_port);
      else
        goto bad;
    }
  line->agent.address = cg_agent_address_format (host, port);
  line->agent.pin = g_strdup (pin);
  line->agent.next_pin = next ? g_strdup (next) : NULL;
  line->agent.via = g_steal_pointer (&via);
  return TRUE;

bad:
  g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
               "%s, line %u: expected \"HOST:PORT sha256:PIN [next:sha256:PIN] "
               "[via:HOST:PORT]\"",
               path, lineno);
  return FALSE;
}

CgKnownAgents *
cg_known_agents_parse (const char *path, const char *text, GError **error)
{
  g_autoptr (CgKnownAgents) known = g_new0 (CgKnownAgents, 1);
  known->path = g_strdup (path);
  known->lines = g_ptr_array_new_with_free_func ((GDestroyNotify) line_free);

  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines);
  /* A final newline does not make a last, empty line. */
  if (n > 0 && !*lines[n - 1])
    n--;
  for (guint i = 0; i < n; i++)
    {
      Line *line = g_new0 (Line, 1);
      const char *s = lines[i];
      while (*s == ' ' || *s == '\t')
        s++;
      if (!*s || *s == '#')
        line->raw = g_strdup (lines[i]);
      else if (!parse_line (path, i + 1, lines[i], line, error))
        {
          line_free (line);
          return NULL;
        }
      g_ptr_array_add (known->lines, line);
    }
  return g_steal_pointer (&known);
}

CgKnownAgents *
cg_known_agents_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len;
  GError *local = NULL;

  if (!cg_file_read_capped (path, KNOWN_AGENTS_MAX, &text, &len, &local))
    {
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_clear_error (&local);
          return cg_known_agents_parse (path, "", error);
        }
      g_propagate_error (error, local);
      return NULL;
    }
  if (memchr (text, '\0', len))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID, "%s is not a text file", path);
      return NULL;
    }
  return cg_known_agents_parse (path, text, error);
}

void
cg_known_agents_free (CgKnownAgents *known)
{
  if (!known)
    return;
  g_free (known->path);
  g_ptr_array_unref (known->lines);
  g_free (known);
}

const char *
cg_known_agents_get_path (CgKnownAgents *known)
{
  return known->path;
}

static Line *
find (CgKnownAgents *known, const char *address)
{
  for (guint i = 0; i < known->lines->len; i++)
    {
      Line *line = known->lines->pdata[i];
      if (!line->raw && g_str_equal (line->agent.address, address))
        return line;
    }
  return NULL;
}

const CgKnownAgent *
cg_known_agents_lookup (CgKnownAgents *known, const char *address)
{
  Line *line = find (known, address);
  return line ? &line->agent : NULL;
}

CgPinCheck
cg_known_agents_check (CgKnownAgents *known, const char *address, const char *pin)
{
  Line *line = find (known, address);
  if (!line)
    return CG_PIN_UNKNOWN;
  if (pin && g_str_equal (line->agent.pin, pin))
    return CG_PIN_MATCH;
  if (pin && line->agent.next_pin && g_str_equal (line->agent.next_pin, pin))
    return CG_PIN_MATCH_NEXT;
  return CG_PIN_CHANGED;
}

void
cg_known_agents_set (CgKnownAgents *known, const char *address, const char *pin,
                     const char *next_pin)
{
  Line *line = find (known, address);
  if (!line)
    {
      line = g_new0 (Line, 1);
      line->agent.address = g_strdup (address);
      g_ptr_array_add (known->lines, line);
    }
  g_free (line->agent.pin);
  line->agent.pin = g_strdup (pin);
  g_free (line->agent.next_pin);
  /* A "next" equal to the current pin says nothing. */
  line->agent.next_pin = next_pin && g_strcmp0 (next_pin, pin) != 0 ? g_strdup (next_pin) : NULL;
}

GPtrArray *
cg_known_agents_learn_cluster (CgKnownAgents *known, const char *via_address, json_t *info)
{
  GPtrArray *added = g_ptr_array_new_with_free_func (g_free);
  json_t *cluster = json_object_get (info, "cluster");
  const char *self = json_string_value (json_object_get (cluster, "node"));
  gsize i;
  json_t *node;
  json_array_foreach (json_object_get (cluster, "nodes"), i, node)
    {
      const char *name = json_string_value (json_object_get (node, "name"));
      const char *text = json_string_value (json_object_get (node, "address"));
      const char *pin = json_string_value (json_object_get (node, "pin"));
      g_autofree char *host = NULL;
      guint port;
      if ((self && name && g_str_equal (self, name)) || !cg_pin_is_valid (pin)
          || !cg_agent_address_parse (text, &host, &port, NULL))
        continue;
      g_autofree char *address = cg_agent_address_format (host, port);
      if (g_str_equal (address, via_address) || find (known, address))
        continue;
      Line *line = g_new0 (Line, 1);
      line->agent.address = g_strdup (address);
      line->agent.pin = g_strdup (pin);
      line->agent.via = g_strdup (via_address);
      g_ptr_array_add (known->lines, line);
      g_ptr_array_add (added, g_steal_pointer (&address));
    }
  return added;
}

char *
cg_known_agents_to_string (CgKnownAgents *known)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < known->lines->len; i++)
    {
      Line *line = known->lines->pdata[i];
      if (line->raw)
        g_string_append (s, line->raw);
      else
        {
          g_string_append_printf (s, "%s %s", line->agent.address, line->agent.pin);
          if (line->agent.next_pin)
            g_string_append_printf (s, " next:%s", line->agent.next_pin);
          if (line->agent.via)
            g_string_append_printf (s, " via:%s", line->agent.via);
        }
      g_string_append_c (s, '\n');
    }
  return g_string_free (s, FALSE);
}

gboolean
cg_known_agents_save (CgKnownAgents *known, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (known->path);
  if (!cg_mkdir_private (dir, 0700, error))
    return FALSE;
  g_autofree char *text = cg_known_agents_to_string (known);
  return cg_file_write_atomic (known->path, text, strlen (text), 0600, error);
}

void
cg_known_agents_set_changed_error (CgKnownAgents *known, const char *address,
                                   const char *actual_pin, GError **error)
{
  Line *line = find (known, address);
  guint lineno = 0;
  for (guint i = 0; line && i < known->lines->len; i++)
    if (known->lines->pdata[i] == line)
      lineno = i + 1;
  g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH,
               "the certificate key of agent %s has CHANGED: known %s, offered %s; "
               "someone may be intercepting the connection, or the agent's certificate was "
               "replaced without staging it; if the new pin is right (credgatectl status on "
               "the agent host), remove line %u of %s",
               address, line ? line->agent.pin : "(none)", actual_pin ? actual_pin : "(unknown)",
               lineno, known->path);
}
