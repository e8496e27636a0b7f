/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/* The unit the agent counts a client by, for its connection limits and its
 * failed-login throttle: an IPv4 address, or an IPv6 /64 (one host is
 * usually given a whole /64, and can pick any address in it).  An IPv4
 * client on a dual-stack socket (::ffff:a.b.c.d) is its IPv4 address. */

/* Room for "192.0.2.7" or "2001:db8:1:2::/64" and the NUL. */
#define CG_PEER_GROUP_LEN 64

/* From a socket address; FALSE (and @out empty) for a family other than
 * IPv4 and IPv6. */
gboolean cg_peer_group_from_sockaddr (const struct sockaddr *sa, char out[CG_PEER_GROUP_LEN]);
/* From an address as text ("::1", "192.0.2.7"); text that is not an IP
 * address stands for itself (cut to fit). */
void cg_peer_group_from_string (const char *addr, char out[CG_PEER_GROUP_LEN]);

G_END_DECLS
