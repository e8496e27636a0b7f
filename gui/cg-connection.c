/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gui/cg-connection.h"

#include <gio/gio.h>
#include <glib/gi18n.h>

#include "common/cg-error.h"
#include "protocol/cg-client.h"
#include "protocol/cg-known-agents.h"

struct CgConnection
{
  CgConnectionState state;
  char *host;
  guint port;
  char *pin;
  char *known_pin;
  gboolean pin_needs_saving;
  CgConnectionProblem problem;
  char *message;
};

CgConnection *
cg_connection_new (void)
{
  return g_new0 (CgConnection, 1);
}

static void
clear_probe (CgConnection *conn)
{
  g_clear_pointer (&conn->pin, g_free);
  g_clear_pointer (&conn->known_pin, g_free);
  g_clear_pointer (&conn->message, g_free);
  conn->pin_needs_saving = FALSE;
  conn->problem = CG_CONNECTION_PROBLEM_NONE;
}

void
cg_connection_free (CgConnection *conn)
{
  if (!conn)
    return;
  clear_probe (conn);
  g_free (conn->host);
  g_free (conn);
}

CgConnectionState
cg_connection_get_state (CgConnection *conn)
{
  return conn->state;
}

const char *
cg_connection_state_name (CgConnectionState state)
{
  static const char *const names[] = {
    [CG_CONNECTION_DISCONNECTED] = "disconnected",
    [CG_CONNECTION_PROBING] = "probing",
    [CG_CONNECTION_AWAITING_TRUST] = "awaiting-trust",
    [CG_CONNECTION_KEY_CHANGED] = "key-changed",
    [CG_CONNECTION_AUTHENTICATING] = "authenticating",
    [CG_CONNECTION_CONNECTED] = "connected",
    [CG_CONNECTION_FAILED] = "failed",
  };
  return (guint)state < G_N_ELEMENTS (names) ? names[state] : "unknown";
}

const char *
cg_connection_get_host (CgConnection *conn)
{
  return conn->host;
}

guint
cg_connection_get_port (CgConnection *conn)
{
  return conn->port;
}

const char *
cg_connection_get_pin (CgConnection *conn)
{
  return conn->pin;
}

const char *
cg_connection_get_known_pin (CgConnection *conn)
{
  return conn->known_pin;
}

gboolean
cg_connection_get_pin_needs_saving (CgConnection *conn)
{
  return conn->pin_needs_saving;
}

CgConnectionProblem
cg_connection_get_problem (CgConnection *conn)
{
  return conn->problem;
}

const char *
cg_connection_get_message (CgConnection *conn)
{
  return conn->message;
}

gboolean
cg_connection_start (CgConnection *conn, const char *host, guint port)
{
  g_return_val_if_fail (conn != NULL, FALSE);

  if (conn->state != CG_CONNECTION_DISCONNECTED && conn->state != CG_CONNECTION_FAILED
      && conn->state != CG_CONNECTION_CONNECTED)
    return FALSE;
  if (!host || !*host || port == 0 || port > 65535)
    return FALSE;
  clear_probe (conn);
  g_free (conn->host);
  conn->host = g_strdup (host);
  conn->port = port;
  conn->state = CG_CONNECTION_PROBING;
  return TRUE;
}

gboolean
cg_connection_probe_done (CgConnection *conn, const char *pin, const char *known_pin,
                          const char *known_next_pin)
{
  if (conn->state != CG_CONNECTION_PROBING || !pin || !*pin)
    return FALSE;

  conn->pin = g_strdup (pin);
  conn->known_pin = g_strdup (known_pin);
  if (!known_pin)
    conn->state = CG_CONNECTION_AWAITING_TRUST;
  else if (g_str_equal (pin, known_pin))
    conn->state = CG_CONNECTION_AUTHENTICATING;
  else if (known_next_pin && g_str_equal (pin, known_next_pin))
    {
      /* The agent announced this key over a connection pinned to the old
       * one: a planned certificate swap, accepted without a prompt. */
      conn->state = CG_CONNECTION_AUTHENTICATING;
      conn->pin_needs_saving = TRUE;
    }
  else
    conn->state = CG_CONNECTION_KEY_CHANGED;
  return TRUE;
}

gboolean
cg_connection_probe_done_known (CgConnection *conn, const char *pin, CgKnownAgents *known,
                                const GError *known_error)
{
  if (conn->state != CG_CONNECTION_PROBING || !pin || !*pin)
    return FALSE;
  if (!known)
    {
      conn->problem = CG_CONNECTION_PROBLEM_KNOWN_AGENTS;
      g_free (conn->message);
      conn->message = g_strdup_printf (
          _ ("Your list of trusted agents cannot be read, so this agent’s certificate cannot be "
             "checked. Nothing was sent. Fix or remove the file, then connect again. (%s)"),
          known_error ? known_error->message : "-");
      conn->state = CG_CONNECTION_FAILED;
      return TRUE;
    }
  g_autofree char *address = cg_agent_address_format (conn->host, conn->port);
  const CgKnownAgent *entry = cg_known_agents_lookup (known, address);
  return cg_connection_probe_done (conn, pin, entry ? entry->pin : NULL,
                                   entry ? entry->next_pin : NULL);
}

gboolean
cg_connection_trust (CgConnection *conn)
{
  if (conn->state != CG_CONNECTION_AWAITING_TRUST && conn->state != CG_CONNECTION_KEY_CHANGED)
    return FALSE;
  conn->pin_needs_saving = TRUE;
  conn->state = CG_CONNECTION_AUTHENTICATING;
  return TRUE;
}

gboolean
cg_connection_cancel (CgConnection *conn)
{
  if (conn->state != CG_CONNECTION_AWAITING_TRUST && conn->state != CG_CONNECTION_KEY_CHANGED
      && conn->state != CG_CONNECTION_PROBING && conn->state != CG_CONNECTION_AUTHENTICATING)
    return FALSE;
  clear_probe (conn);
  conn->state = CG_CONNECTION_DISCONNECTED;
  return TRUE;
}

gboolean
cg_connection_auth_done (CgConnection *conn, const GError *error)
{
  if (conn->state != CG_CONNECTION_AUTHENTICATING)
    return FALSE;
  if (error)
    return cg_connection_fail (conn, error);
  conn->state = CG_CONNECTION_CONNECTED;
  return TRUE;
}

gboolean
cg_connection_fail (CgConnection *conn, const GError *error)
{
  if (conn->state == CG_CONNECTION_DISCONNECTED)
    return FALSE;
  conn->problem = cg_connection_classify_error (error);
  g_free (conn->message);
  conn->message = cg_connection_describe_error (error);
  conn->pin_needs_saving = FALSE;
  conn->state = CG_CONNECTION_FAILED;
  return TRUE;
}

void
cg_connection_disconnect (CgConnection *conn)
{
  clear_probe (conn);
  conn->state = CG_CONNECTION_DISCONNECTED;
}

CgConnectionProblem
cg_connection_classify_error (const GError *error)
{
  if (!error)
    return CG_CONNECTION_PROBLEM_NONE;
  /* By domain and code only (cg-client.h): never by the text. */
  if (error->domain == CG_CLIENT_ERROR)
    switch (error->code)
      {
      case CG_CLIENT_ERROR_UNREACHABLE:
        return CG_CONNECTION_PROBLEM_UNREACHABLE;
      case CG_CLIENT_ERROR_PIN_MISMATCH:
        return CG_CONNECTION_PROBLEM_CERTIFICATE_CHANGED;
      case CG_CLIENT_ERROR_BUSY:
        return CG_CONNECTION_PROBLEM_THROTTLED;
      case CG_CLIENT_ERROR_TLS:
        return CG_CONNECTION_PROBLEM_TLS;
      case CG_CLIENT_ERROR_PROTOCOL:
      default:
        return CG_CONNECTION_PROBLEM_OTHER;
      }
  if (error->domain == CG_ERROR)
    switch (error->code)
      {
      case CG_ERROR_UNAUTHORIZED:
        return CG_CONNECTION_PROBLEM_TOKEN_REJECTED;
      case CG_ERROR_FORBIDDEN:
        /* 403: client_certificate_refused or enrollment_refused. */
        return CG_CONNECTION_PROBLEM_CERTIFICATE_REFUSED;
      case CG_ERROR_LOCKED:
      case CG_ERROR_UNAVAILABLE:
      case CG_ERROR_KEYS_MISSING:
        return CG_CONNECTION_PROBLEM_STORE_LOCKED;
      case CG_ERROR_CLUSTER_UNAVAILABLE:
        return CG_CONNECTION_PROBLEM_CLUSTER_UNAVAILABLE;
      default:
        break;
      }
  return CG_CONNECTION_PROBLEM_OTHER;
}

char *
cg_connection_describe_error (const GError *error)
{
  switch (cg_connection_classify_error (error))
    {
    case CG_CONNECTION_PROBLEM_NONE:
      return NULL;
    case CG_CONNECTION_PROBLEM_UNREACHABLE:
      return g_strdup_printf (_ ("The agent cannot be reached. Check the host name and port, "
                                 "and that the agent is running. (%s)"),
                              error->message);
    case CG_CONNECTION_PROBLEM_CERTIFICATE_CHANGED:
      return g_strdup (_ ("The agent’s certificate has changed since you last trusted it. "
                          "Nothing was sent."));
    case CG_CONNECTION_PROBLEM_TLS:
      return g_strdup_printf (_ ("A secure connection to the agent could not be made. (%s)"),
                              error->message);
    case CG_CONNECTION_PROBLEM_TOKEN_REJECTED:
      return g_strdup (_ ("The agent rejected the access token. Ask the agent’s administrator "
                          "for a new one (credgatectl token create)."));
    case CG_CONNECTION_PROBLEM_CERTIFICATE_REFUSED:
      return g_strdup_printf (_ ("The agent refused this device’s client certificate or "
                                 "enrollment code. Ask the agent’s administrator for a new code "
                                 "(credgatectl client enroll). (%s)"),
                              error->message);
    case CG_CONNECTION_PROBLEM_THROTTLED:
      return g_strdup (_ ("Too many failed attempts. Wait a minute and try again."));
    case CG_CONNECTION_PROBLEM_STORE_LOCKED:
      return g_strdup (_ ("The secret store on the agent’s host is locked or unavailable, so "
                          "the agent cannot seal or open credentials. Ask its administrator "
                          "to unlock it."));
    case CG_CONNECTION_PROBLEM_CLUSTER_UNAVAILABLE:
      return g_strdup (_ ("The cluster cannot accept changes right now: its etcd store has no "
                          "quorum or cannot be reached. Nothing was changed, and reading "
                          "credentials still works. Try again shortly."));
    case CG_CONNECTION_PROBLEM_OTHER:
    default:
      return g_strdup_printf (_ ("The agent refused the request: %s"), error->message);
    }
}

char *
cg_connection_format_pin (const char *pin)
{
  if (!pin)
    return g_strdup ("");
  const char *b64 = g_str_has_prefix (pin, "sha256:") ? pin + 7 : pin;
  GString *s = g_string_new ("SHA-256 ");
  for (gsize i = 0; b64[i]; i++)
    {
      if (i && i % 4 == 0)
        g_string_append_c (s, ' ');
      g_string_append_c (s, b64[i]);
    }
  return g_string_free (s, FALSE);
}
