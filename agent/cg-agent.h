/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-config.h"
#include "agent/cg-throttle.h"
#include "agent/cg-vault.h"

G_BEGIN_DECLS

typedef struct CgCluster CgCluster; /* agent/cg-cluster.h */

/* The agent's process-wide state, owned by main.c's serve () and handed to
 * the request handlers of both doors (TLS API and admin socket).  Every
 * member is set before either door serves and is thread-safe or never
 * changes after.
 *
 * A few things stay module state with a lock of their own, each for a
 * reason, and main.c is still the one that starts and stops them:
 *  - the served certificate (cg-tls.c: current, next, retired pairs):
 *    libmicrohttpd's certificate callback (MHD_OPTION_HTTPS_CERT_CALLBACK2)
 *    carries no user pointer, so what it reads must be reachable without
 *    one; cg-tls-store.c (the files behind it, renewal) goes with it;
 *  - the audit log (cg-audit.c): written from every layer, the vault's
 *    callers, the TLS door's login failures and the admin socket, as
 *    syslog is; one file descriptor and one summary table per process;
 *  - the keyring watch (cg-keystore.c): the Secret Service connection is
 *    per process (libsecret's own default service), so is its watch;
 *  - the web page's file cache (cg-web.c) and /v1/info's cached answer
 *    (cg-api.c): derived from data built into the binary or from the
 *    state below, rebuilt when it moves, never state of their own;
 *  - the connection slot being accepted (cg-server.c, thread-local):
 *    taken in libmicrohttpd's accept policy callback, before there is a
 *    connection to hang it on, and picked up by the connection's first
 *    notify callback on the same thread; the server's own state is on
 *    CgServer, not here. */
typedef struct
{
  CgConfig *config;
  CgVault *vault;          /* the vault with its modules (cg_vault_open) */
  CgThrottle *throttle;
  gint64 started;          /* real time, µs */
  GStrv urls;              /* the TLS door's listening URLs, for status */
  /* This node's cluster membership (agent/cg-cluster.h), NULL for a single
   * node.  Set at start, or once at run time by "cluster init" or "cluster
   * join": read it with g_atomic_pointer_get; it lives until the end. */
  CgCluster *cluster;
} CgAgent;

G_END_DECLS
