/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-agent.h"

G_BEGIN_DECLS

/* The TLS endpoint: one libmicrohttpd daemon per listening address, each
 * with its own thread pool, all answering through cg_api_dispatch and
 * sharing one set of connection limits. */
typedef struct CgServer CgServer;

/* Binds every address: first, so that a port in use stops the agent
 * before it touches keys or certificates.  The error names the address. */
CgServer *cg_server_bind (CgAgent *agent, GError **error);
/* Starts serving on the bound sockets.  The certificate must already be set
 * with cg_tls_set_pair and agent->vault be open. */
gboolean cg_server_start (CgServer *server, GError **error);
/* Lines "https://ADDR:PORT/" (transfer full). */
GStrv cg_server_get_urls (CgServer *server);
/* Stops accepting, finishes requests in flight, frees. */
void cg_server_stop (CgServer *server);

G_END_DECLS
