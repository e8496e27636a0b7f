/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gui/cg-manager-client.h"

G_BEGIN_DECLS

/* Shows an agent's certificate on first contact, or blocks on a changed key
 * showing both pins.  Emits "response" (TRUE: trust) once, then closes. */
#define CG_TYPE_CERT_DIALOG (cg_cert_dialog_get_type ())
G_DECLARE_FINAL_TYPE (CgCertDialog, cg_cert_dialog, CG, CERT_DIALOG, GtkWindow)

/* @known_pin NULL: first contact; otherwise the pin trusted before, and the
 * dialog is the changed-key warning.  @probe is borrowed. */
CgCertDialog *cg_cert_dialog_new (GtkWindow *parent, const char *address, const CgCertInfo *probe,
                                  const char *known_pin);

G_END_DECLS
