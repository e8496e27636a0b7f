/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* org.credgate.Manager: one window, app.quit (Ctrl+Q), the style sheet. */
#define CG_TYPE_APPLICATION (cg_application_get_type ())
G_DECLARE_FINAL_TYPE (CgApplication, cg_application, CG, APPLICATION, GtkApplication)

CgApplication *cg_application_new (void);

G_END_DECLS
