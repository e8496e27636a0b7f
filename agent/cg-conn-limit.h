/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/* The agent's connection limits, over all its listening addresses at once:
 * at most @max_total connections, and at most @max_per_client from one
 * client (an IPv4 address or an IPv6 /64, cg-peer.h).  Thread-safe: every
 * listener's worker threads share one. */
typedef struct CgConnLimit CgConnLimit;
/* One connection's place (borrowed from the limit until released). */
typedef struct CgConnSlot CgConnSlot;

CgConnLimit *cg_conn_limit_new (guint max_total, guint max_per_client);
void cg_conn_limit_free (CgConnLimit *limit);
/* A place for a new connection from @peer, or NULL when the agent or that
 * client is at its limit (the connection is then refused). */
CgConnSlot *cg_conn_limit_acquire (CgConnLimit *limit, const struct sockaddr *peer);
/* The connection no longer counts.  NULL is ignored. */
void cg_conn_limit_release (CgConnLimit *limit, CgConnSlot *slot);
/* Connections counted now: all, and those of @peer's client. */
guint cg_conn_limit_count (CgConnLimit *limit, const struct sockaddr *peer, guint *of_client);

G_END_DECLS
