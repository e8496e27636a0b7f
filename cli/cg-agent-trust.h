/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "protocol/cg-client.h"

G_BEGIN_DECLS

/* Connect to the agent at @address ("HOST[:PORT]") and decide whether to
 * trust it, like ssh:
 *   - @pin given: that key and no other; the known-agents file is not used;
 *   - a line in the known-agents file: its pin, or its staged next pin (the
 *     line is then updated); a staged pin the agent publishes in /v1/info is
 *     remembered; any other key is refused with both fingerprints;
 *   - unknown: refused, unless @tofu, which pins the key seen now and
 *     records it.
 * On success the client is pinned and *info holds GET /v1/info (transfer
 * full). */
CgClient *cg_agent_trust_connect (const char *address, const char *pin, gboolean tofu,
                                  json_t **info, GError **error);

G_END_DECLS
