/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gui/cg-manager-client.h"

G_BEGIN_DECLS

/* The credentials the agent holds (name, type, last changed), searchable,
 * with add, edit and delete.  Errors go out as "show-error" (a translated
 * sentence) for the window's banner. */
#define CG_TYPE_CREDENTIALS_VIEW (cg_credentials_view_get_type ())
G_DECLARE_FINAL_TYPE (CgCredentialsView, cg_credentials_view, CG, CREDENTIALS_VIEW, GtkWidget)

/* @client is borrowed (a reference is taken). */
void cg_credentials_view_set_client (CgCredentialsView *self, CgManagerClient *client);
/* Show @list (array of metadata, borrowed), e.g. the one the connection got. */
void cg_credentials_view_set_list (CgCredentialsView *self, json_t *list);
void cg_credentials_view_refresh (CgCredentialsView *self);
void cg_credentials_view_clear (CgCredentialsView *self);
/* Put the keyboard in the search box (after connecting). */
void cg_credentials_view_focus_search (CgCredentialsView *self);

G_END_DECLS
