/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cli/cg-agent-trust.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/cg-error.h"
#include "protocol/cg-known-agents.h"

static void
note (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

static void
note (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "credgate-encrypt-value: %s\n", msg);
}

static const char *
info_next_pin (json_t *info)
{
  return json_string_value (json_object_get (info, "nextTlsPin"));
}

/* A trusted node of a cluster lists the others with their pins: record
 * the ones not known yet, "via" this one (the connection was pinned to it,
 * so its list is as trusted as it is).  A failure to save only loses the
 * learning, never the request. */
static void
learn_cluster (CgKnownAgents *known, const char *address, json_t *info)
{
  g_autoptr (GPtrArray) added = cg_known_agents_learn_cluster (known, address, info);
  if (added->len == 0)
    return;
  g_autoptr (GError) error = NULL;
  if (!cg_known_agents_save (known, &error))
    {
      note ("could not record the other nodes agent %s lists: %s", address, error->message);
      return;
    }
  for (guint i = 0; i < added->len; i++)
    note ("learned agent %s's key from cluster node %s; recorded in %s",
          (const char *) added->pdata[i], address, cg_known_agents_get_path (known));
}

static CgClient *
connect_known (CgClient *client, CgKnownAgents *known, const char *address,
               const CgKnownAgent *entry, json_t **info, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *pin = g_strdup (entry->pin);
  g_autofree char *next = g_strdup (entry->next_pin);

  cg_client_set_pins (client, pin, next);
  *info = cg_client_get_info (client, &local);
  if (!*info)
    {
      if (g_error_matches (local, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH))
        {
          g_autofree char *actual = cg_client_fetch_pin (client, NULL);
          cg_known_agents_set_changed_error (known, address, actual, error);
        }
      else
        g_propagate_error (error, g_steal_pointer (&local));
      cg_client_free (client);
      return NULL;
    }

  const char *peer = cg_client_get_peer_pin (client);
  const char *published = info_next_pin (*info);
  gboolean save = FALSE;
  if (peer && next && g_str_equal (peer, next))
    {
      /* The agent now serves the certificate it staged: move on to it. */
      cg_known_agents_set (known, address, peer, published);
      cg_client_set_pins (client, peer, NULL);
      note ("agent %s now uses its staged key %s; updated %s", address, peer,
            cg_known_agents_get_path (known));
      save = TRUE;
    }
  else if (published && g_strcmp0 (published, next) != 0 && g_strcmp0 (published, pin) != 0)
    {
      cg_known_agents_set (known, address, pin, published);
      note ("agent %s has staged a new key %s; remembered in %s", address, published,
            cg_known_agents_get_path (known));
      save = TRUE;
    }
  if (save && !cg_known_agents_save (known, error))
    {
      g_clear_pointer (info, json_decref);
      cg_client_free (client);
      return NULL;
    }
  learn_cluster (known, address, *info);
  return client;
}

CgClient *
cg_agent_trust_connect (const char *address_text, const char *pin, gboolean tofu, json_t **info,
                        GError **error)
{
  g_autofree char *host = NULL;
  guint port;
  if (!cg_agent_address_parse (address_text, &host, &port, error))
    return NULL;
  g_autofree char *address = cg_agent_address_format (host, port);
  g_autoptr (CgClient) client = cg_client_new (host, port);

  *info = NULL;
  if (pin)
    {
      cg_client_set_pins (client, pin, NULL);
      *info = cg_client_get_info (client, error);
      return *info ? g_steal_pointer (&client) : NULL;
    }

  g_autofree char *path = cg_known_agents_default_path ();
  g_autoptr (CgKnownAgents) known = cg_known_agents_load (path, error);
  if (!known)
    return NULL;
  const CgKnownAgent *entry = cg_known_agents_lookup (known, address);
  if (entry)
    return connect_known (g_steal_pointer (&client), known, address, entry, info, error);

  g_autofree char *seen = cg_client_fetch_pin (client, error);
  if (!seen)
    return NULL;
  if (!tofu)
    {
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH,
                   "agent %s is not known; its key is %s: check it on the agent host "
                   "(credgatectl status), then pass --pin %s, or use --trust-on-first-use",
                   address, seen, seen);
      return NULL;
    }
  /* The real request is pinned to the key just seen, so the connection we
   * trust is the one we recorded. */
  cg_client_set_pins (client, seen, NULL);
  *info = cg_client_get_info (client, error);
  if (!*info)
    return NULL;
  cg_known_agents_set (known, address, seen, info_next_pin (*info));
  if (!cg_known_agents_save (known, error))
    {
      g_clear_pointer (info, json_decref);
      return NULL;
    }
  note ("trusting agent %s on first use: key %s, recorded in %s", address, seen, path);
  learn_cluster (known, address, *info);
  return g_steal_pointer (&client);
}
