/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LD_PRELOAD shim for tests/test-agent-no-ipv6.sh: a host without IPv6,
 * where socket (AF_INET6, …) fails with EAFNOSUPPORT as it does when the
 * kernel has no IPv6. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>

int socket (int domain, int type, int protocol);

int
socket (int domain, int type, int protocol)
{
  static int (*real) (int, int, int);
  if (domain == AF_INET6)
    {
      errno = EAFNOSUPPORT;
      return -1;
    }
  if (!real)
    real = (int (*) (int, int, int)) dlsym (RTLD_NEXT, "socket");
  return real (domain, type, protocol);
}
