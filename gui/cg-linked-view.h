/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gui/cg-manager-client.h"

G_BEGIN_DECLS

/* Encrypt for a linked service: open or paste the JSON, see the fields that
 * will be removed as you type, get the rewritten JSON to copy or save.
 * Errors go out as "show-error" (a translated sentence). */
#define CG_TYPE_LINKED_VIEW (cg_linked_view_get_type ())
G_DECLARE_FINAL_TYPE (CgLinkedView, cg_linked_view, CG, LINKED_VIEW, GtkWidget)

void cg_linked_view_set_client (CgLinkedView *self, CgManagerClient *client);

G_END_DECLS
