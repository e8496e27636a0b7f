/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

/* The known-agents file, like ssh's known_hosts:
 * $XDG_CONFIG_HOME/credgate/known_agents, one line per agent
 *
 *   HOST:PORT sha256:PIN [next:sha256:PIN] [via:HOST:PORT]
 *
 * HOST is lower case, an IPv6 literal in brackets ("[::1]:8050").  The next
 * pin is the certificate the agent has staged (its /v1/info "nextTlsPin");
 * a connection that presents it is accepted without a prompt and the line
 * is updated.  "via" marks a node of a cluster that was never contacted
 * on its own: its pin came from the /v1/info "cluster.nodes" list of the
 * agent named there, fetched over a connection pinned to that agent (a
 * pinned list: the TLS pin of the node it came from authenticates it).
 * Comments (#) and blank lines are kept as they are.  The file
 * is written atomically with mode 0600.  The CLI and the GUI share it. */

typedef struct CgKnownAgents CgKnownAgents;

typedef struct
{
  char *address;  /* "host:port" */
  char *pin;      /* "sha256:BASE64" */
  char *next_pin; /* nullable */
  char *via;      /* nullable: the agent whose cluster list gave this pin */
} CgKnownAgent;

typedef enum
{
  CG_PIN_UNKNOWN,    /* no line for this address */
  CG_PIN_MATCH,      /* the recorded pin */
  CG_PIN_MATCH_NEXT, /* the recorded next pin: the agent has swapped */
  CG_PIN_CHANGED,    /* neither: refuse */
} CgPinCheck;

/* $XDG_CONFIG_HOME/credgate/known_agents (transfer full). */
char *cg_known_agents_default_path (void);

/* Load @path; a missing file is an empty list.  A malformed line is an
 * error that names the file and the line. */
CgKnownAgents *cg_known_agents_load (const char *path, GError **error);
/* The same from text, for tests; @path only names things in errors. */
CgKnownAgents *cg_known_agents_parse (const char *path, const char *text, GError **error);
void cg_known_agents_free (CgKnownAgents *known);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgKnownAgents, cg_known_agents_free)

const char *cg_known_agents_get_path (CgKnownAgents *known); /* borrowed */

/* The line for @address, or NULL (borrowed). */
const CgKnownAgent *cg_known_agents_lookup (CgKnownAgents *known, const char *address);
CgPinCheck cg_known_agents_check (CgKnownAgents *known, const char *address, const char *pin);

/* Add or replace the line for @address (in place, keeping its position). */
void cg_known_agents_set (CgKnownAgents *known, const char *address, const char *pin,
                          const char *next_pin);

/* Learn the other nodes of a cluster from @info, the GET /v1/info of the
 * agent at @via_address fetched over a connection pinned to it: each
 * "cluster.nodes" entry {"name","address","pin"} whose address has no line
 * yet gets one with "via" @via_address.  A line that exists is never
 * changed (a node that shows another pin later meets the usual mismatch
 * error); malformed entries, and the agent itself, are skipped.  Returns
 * the addresses added, canonical (transfer full; empty when none, or when
 * @info has no cluster). */
GPtrArray *cg_known_agents_learn_cluster (CgKnownAgents *known, const char *via_address,
                                          json_t *info);

/* The file's text (transfer full). */
char *cg_known_agents_to_string (CgKnownAgents *known);
/* Write it atomically, 0600, creating the directory (0700) if needed. */
gboolean cg_known_agents_save (CgKnownAgents *known, GError **error);

/* The ssh-style refusal for a changed key: both fingerprints and the line
 * to remove.  CG_CLIENT_ERROR_PIN_MISMATCH. */
void cg_known_agents_set_changed_error (CgKnownAgents *known, const char *address,
                                        const char *actual_pin, GError **error);

/* "sha256:" + base64 of 32 bytes: the only pin form we accept. */
gboolean cg_pin_is_valid (const char *pin);

/* Parse "host", "host:port", "[v6]" or "[v6]:port" (default port 8050).
 * @host is returned without brackets (transfer full). */
gboolean cg_agent_address_parse (const char *text, char **host, guint *port, GError **error);
/* The canonical "host:port" / "[v6]:port" (transfer full). */
char *cg_agent_address_format (const char *host, guint port);

#define CG_AGENT_DEFAULT_PORT 8050

G_END_DECLS
