/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gui/cg-manager-client.h"

G_BEGIN_DECLS

/* Add or edit one credential with the form of its data-store type.  Emits
 * "saved" (name) after the agent stored it, then closes.  Editing asks for
 * the secret again: the agent never returns it and a PUT replaces the whole
 * record, so an "unchanged" empty field could only be honoured by keeping a
 * copy of the secret here, which is what we must not do. */
#define CG_TYPE_EDITOR_DIALOG (cg_editor_dialog_get_type ())
G_DECLARE_FINAL_TYPE (CgEditorDialog, cg_editor_dialog, CG, EDITOR_DIALOG, GtkWindow)

/* @meta: the stored metadata to edit (borrowed), or NULL for a new one. */
CgEditorDialog *cg_editor_dialog_new (GtkWindow *parent, CgManagerClient *client, json_t *meta);

G_END_DECLS
