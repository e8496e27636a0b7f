/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-agent.h"

G_BEGIN_DECLS

/* The TLS endpoint: one libmicrohttpd daemon per listening address, each
 * with its own thread pool, all answering through cg_api_dispatch. */
typedef struct CgServer CgServer;

/* Binds every address (a port in use is an error that names it) and starts
 * serving.  The certificate must already be set with cg_tls_set_pair. */
CgServer *cg_server_start (CgAgent *agent, GError **error);
/* Lines "https://ADDR:PORT/" (transfer full). */
GStrv cg_server_get_urls (CgServer *server);
/* Stops accepting, finishes requests in flight, frees. */
void cg_server_stop (CgServer *server);

G_END_DECLS
