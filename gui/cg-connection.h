/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The connection to one agent as a state machine with no I/O in it: the
 * window feeds it what the network and the user said, and does what the new
 * state asks for.  Keeping the trust decision here means it is tested
 * without a display or an agent.
 *
 *   DISCONNECTED --start--> PROBING --probe_done--> AWAITING_TRUST   (never seen)
 *                                                --> KEY_CHANGED      (pin differs)
 *                                                --> AUTHENTICATING   (pin known)
 *   AWAITING_TRUST/KEY_CHANGED --trust--> AUTHENTICATING, --cancel--> DISCONNECTED
 *   AUTHENTICATING --auth_done ok--> CONNECTED, error--> FAILED
 *   any --fail--> FAILED; any --disconnect--> DISCONNECTED
 */
typedef enum
{
  CG_CONNECTION_DISCONNECTED,
  CG_CONNECTION_PROBING,
  CG_CONNECTION_AWAITING_TRUST,
  CG_CONNECTION_KEY_CHANGED,
  CG_CONNECTION_AUTHENTICATING,
  CG_CONNECTION_CONNECTED,
  CG_CONNECTION_FAILED,
} CgConnectionState;

/* What went wrong, in the words the window shows. */
typedef enum
{
  CG_CONNECTION_PROBLEM_NONE,
  CG_CONNECTION_PROBLEM_UNREACHABLE,
  CG_CONNECTION_PROBLEM_CERTIFICATE_CHANGED,
  CG_CONNECTION_PROBLEM_TLS,
  CG_CONNECTION_PROBLEM_TOKEN_REJECTED,
  CG_CONNECTION_PROBLEM_CERTIFICATE_REFUSED, /* this device's client certificate or code */
  CG_CONNECTION_PROBLEM_THROTTLED,
  CG_CONNECTION_PROBLEM_STORE_LOCKED,
  CG_CONNECTION_PROBLEM_CLUSTER_UNAVAILABLE, /* a change refused: etcd has no quorum */
  CG_CONNECTION_PROBLEM_KNOWN_AGENTS, /* the known-agents file cannot be read */
  CG_CONNECTION_PROBLEM_OTHER,
} CgConnectionProblem;

typedef struct CgConnection CgConnection;

CgConnection *cg_connection_new (void);
void cg_connection_free (CgConnection *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgConnection, cg_connection_free)

CgConnectionState cg_connection_get_state (CgConnection *conn);
const char *cg_connection_state_name (CgConnectionState state); /* for logs, not translated */

/* Borrowed; NULL until known. */
const char *cg_connection_get_host (CgConnection *conn);
guint cg_connection_get_port (CgConnection *conn);
/* The pin the agent presented in the last probe. */
const char *cg_connection_get_pin (CgConnection *conn);
/* The pin remembered for this agent before the probe (for KEY_CHANGED). */
const char *cg_connection_get_known_pin (CgConnection *conn);
/* TRUE once the presented pin must be written to the known-agents file:
 * after a first-contact trust, a changed key the user replaced, or a staged
 * pin that became current. */
gboolean cg_connection_get_pin_needs_saving (CgConnection *conn);
CgConnectionProblem cg_connection_get_problem (CgConnection *conn);
/* A translated sentence for FAILED (borrowed), or NULL. */
const char *cg_connection_get_message (CgConnection *conn);

/* Each returns FALSE, changing nothing, when the event does not fit the
 * current state (a late reply after a cancel, a double click). */
gboolean cg_connection_start (CgConnection *conn, const char *host, guint port);
/* @pin: what the agent presented.  @known_pin / @known_next_pin (nullable):
 * what the known-agents file holds for host:port, the next pin being one the
 * agent published over an earlier pinned connection. */
gboolean cg_connection_probe_done (CgConnection *conn, const char *pin, const char *known_pin,
                                   const char *known_next_pin);
/* The same, looking host:port up in @known (nullable), the known-agents
 * file as cg_known_agents_load gave it.  When that file could not be read
 * (@known NULL, @known_error says why; malformed, unreadable) the pin the
 * user trusted is unknown, and asking to trust the agent anew would hide a
 * changed key: the connection FAILS (CG_CONNECTION_PROBLEM_KNOWN_AGENTS),
 * as the CLI refuses, and nothing is sent. */
typedef struct CgKnownAgents CgKnownAgents;
gboolean cg_connection_probe_done_known (CgConnection *conn, const char *pin,
                                         CgKnownAgents *known, const GError *known_error);
gboolean cg_connection_trust (CgConnection *conn);
gboolean cg_connection_cancel (CgConnection *conn);
/* @error NULL means the token was accepted. */
gboolean cg_connection_auth_done (CgConnection *conn, const GError *error);
/* A network or agent failure at any point. */
gboolean cg_connection_fail (CgConnection *conn, const GError *error);
void cg_connection_disconnect (CgConnection *conn);

/* Which problem an error from the client is, and a translated sentence for
 * it (transfer full). */
CgConnectionProblem cg_connection_classify_error (const GError *error);
char *cg_connection_describe_error (const GError *error);

/* "sha256:AbC…" → "AB:C…"-style groups are hard to compare by eye; this
 * splits the base64 into groups of four for display (transfer full). */
char *cg_connection_format_pin (const char *pin);

G_END_DECLS
