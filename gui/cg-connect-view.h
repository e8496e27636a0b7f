/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* The connect form and the known agents.  It only collects input: the
 * "connect" signal (host, port, token, remember) hands it to the window,
 * which runs the connection.  An empty token means "the client certificate
 * or token in my keyring".  "enroll" (host, port, code) asks to enroll this
 * device with a one-time code and connect with the certificate.
 *
 * The host field takes one agent ("gw1", "gw1:8443", "[::1]:8443") or the
 * nodes of a cluster as a comma list ("gw1,gw2,gw3:8443"; a node without a
 * port gets the port field's): "connect" names the first, and
 * cg_connect_view_get_others gives the rest, for the window to try in
 * order when one cannot be reached. */
#define CG_TYPE_CONNECT_VIEW (cg_connect_view_get_type ())
G_DECLARE_FINAL_TYPE (CgConnectView, cg_connect_view, CG, CONNECT_VIEW, GtkWidget)

void cg_connect_view_set_busy (CgConnectView *self, gboolean busy);
/* @agents: GPtrArray of const CgKnownAgent * (cg-known-agents.h; borrowed). */
void cg_connect_view_set_known_agents (CgConnectView *self, GPtrArray *agents);
/* Clear the token and code entries (after they were used or refused). */
void cg_connect_view_clear_token (CgConnectView *self);
/* The other agents of the host field's list at the last "connect", as
 * canonical "host:port" (borrowed; NULL for a single agent). */
const char *const *cg_connect_view_get_others (CgConnectView *self);
/* Focus the host entry and make Connect the window's default. */
void cg_connect_view_focus (CgConnectView *self);

G_END_DECLS
