/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-agent.h"
#include "agent/cg-http.h"

G_BEGIN_DECLS

/* Answers one complete request of the /v1 API (authentication included):
 * exactly one response is queued. */
enum MHD_Result cg_api_dispatch (CgAgent *agent, CgRequest *req);

/* The public /v1/info document (transfer full); also shown by status. */
json_t *cg_api_info (CgAgent *agent);

G_END_DECLS
