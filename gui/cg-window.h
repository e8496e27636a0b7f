/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* The main window: connect page, then the credentials and linked-service
 * pages.  It owns the connection (cg-connection.h) and the client, and shows
 * every error in a banner in plain words. */
#define CG_TYPE_WINDOW (cg_window_get_type ())
G_DECLARE_FINAL_TYPE (CgWindow, cg_window, CG, WINDOW, GtkApplicationWindow)

CgWindow *cg_window_new (GtkApplication *app);
/* Show @message (a translated sentence) in the banner. */
void cg_window_show_error (CgWindow *self, const char *message);

G_END_DECLS
