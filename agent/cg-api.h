/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-agent.h"
#include "agent/cg-http.h"

G_BEGIN_DECLS

/* The first call of a request, on its headers alone: finds its route and,
 * where the route needs one, checks the caller's credentials (req->who).
 * TRUE: go on and read the body.  FALSE: the answer (401, 429) is queued in
 * *ret; queued this early it makes libmicrohttpd skip the body and close the
 * connection after the reply, so nothing of an unauthenticated upload is
 * kept or parsed as a next request. */
gboolean cg_api_begin (CgAgent *agent, CgRequest *req, enum MHD_Result *ret);
/* Answers one complete request after cg_api_begin let it through: exactly
 * one response is queued. */
enum MHD_Result cg_api_dispatch (CgAgent *agent, CgRequest *req);

/* Is @req (after cg_api_begin) a change that, with this agent in a
 * cluster, goes to etcd: one that may wait seconds on it (cg-write-queue.h). */
gboolean cg_api_is_cluster_write (CgAgent *agent, CgRequest *req);

/* The public /v1/info document (transfer full); also shown by status. */
json_t *cg_api_info (CgAgent *agent);

G_END_DECLS
