/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

G_STATIC_ASSERT (CG_PEER_GROUP_LEN >= INET6_ADDRSTRLEN + 3);

static void
group_v4 (const void *addr4, char out[CG_PEER_GROUP_LEN])
{
  inet_ntop (AF_INET, addr4, out, CG_PEER_GROUP_LEN);
}

static void
group_v6 (const struct in6_addr *a6, char out[CG_PEER_GROUP_LEN])
{
  if (IN6_IS_ADDR_V4MAPPED (a6))
    {
      group_v4 (&a6->s6_addr[12], out);
      return;
    }
  struct in6_addr prefix = { 0 };
  memcpy (prefix.s6_addr, a6->s6_addr, 8);
  inet_ntop (AF_INET6, &prefix, out, CG_PEER_GROUP_LEN - 3);
  strcat (out, "/64");
}

gboolean
cg_peer_group_from_sockaddr (const struct sockaddr *sa, char out[CG_PEER_GROUP_LEN])
{
  out[0] = '\0';
  if (!sa)
    return FALSE;
  if (sa->sa_family == AF_INET)
    group_v4 (&((const struct sockaddr_in *) sa)->sin_addr, out);
  else if (sa->sa_family == AF_INET6)
    group_v6 (&((const struct sockaddr_in6 *) sa)->sin6_addr, out);
  else
    return FALSE;
  return TRUE;
}

void
cg_peer_group_from_string (const char *addr, char out[CG_PEER_GROUP_LEN])
{
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton (AF_INET, addr, &a4) == 1)
    group_v4 (&a4, out);
  else if (inet_pton (AF_INET6, addr, &a6) == 1)
    group_v6 (&a6, out);
  else
    g_strlcpy (out, addr, CG_PEER_GROUP_LEN);
}
