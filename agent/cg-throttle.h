/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Failed-authentication counter per client over a minute from its first
 * failure.  A client is an IPv4 address or an IPv6 /64 (cg-peer.h).  Past
 * @limit failures the client is refused (429) until its minute ends,
 * without even looking at the token, so guessing costs the guesser time and
 * the agent nothing.  Bounded in memory: under a flood of distinct clients
 * the oldest entries that are not blocked are dropped first, so the flood
 * lifts no block. */
typedef struct CgThrottle CgThrottle;

CgThrottle *cg_throttle_new (guint limit);
/* The same with room for @max_entries clients (the default is 65,536). */
CgThrottle *cg_throttle_new_full (guint limit, guint max_entries);
void cg_throttle_free (CgThrottle *t);
/* @client: the peer address as text (cg_http_client_address). */
gboolean cg_throttle_is_blocked (CgThrottle *t, const char *client);
/* Records a failure; TRUE if the address is now blocked. */
gboolean cg_throttle_fail (CgThrottle *t, const char *client);
void cg_throttle_succeed (CgThrottle *t, const char *client);

G_END_DECLS
