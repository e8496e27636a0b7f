/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gui/cg-cert-dialog.h"

#include <glib/gi18n.h>

#include "gui/cg-connection.h"

struct _CgCertDialog
{
  GtkWindow parent_instance;

  GtkImage *icon;
  GtkLabel *heading_label;
  GtkLabel *body_label;
  GtkGrid *details_grid;
  GtkButton *cancel_button;
  GtkButton *trust_button;
  int rows;
  gboolean responded;
};

G_DEFINE_FINAL_TYPE (CgCertDialog, cg_cert_dialog, GTK_TYPE_WINDOW)

enum
{
  SIGNAL_RESPONSE,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
respond (CgCertDialog *self, gboolean trust)
{
  if (self->responded)
    return;
  self->responded = TRUE;
  g_signal_emit (self, signals[SIGNAL_RESPONSE], 0, trust);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
trust_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  respond (CG_CERT_DIALOG (widget), TRUE);
}

static void
cancel_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  respond (CG_CERT_DIALOG (widget), FALSE);
}

static gboolean
close_request_cb (GtkWindow *window)
{
  /* Closing the window is a cancel, never a silent trust. */
  respond (CG_CERT_DIALOG (window), FALSE);
  return TRUE;
}

static void
add_row (CgCertDialog *self, const char *title, const char *value, gboolean mono)
{
  GtkWidget *key = gtk_label_new (title);
  GtkWidget *val = gtk_label_new (value);

  gtk_label_set_xalign (GTK_LABEL (key), 1);
  gtk_label_set_yalign (GTK_LABEL (key), 0);
  gtk_widget_add_css_class (key, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (val), 0);
  gtk_label_set_wrap (GTK_LABEL (val), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (val), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (val), TRUE);
  gtk_widget_set_hexpand (val, TRUE);
  if (mono)
    gtk_widget_add_css_class (val, "cg-mono");
  /* A screen reader reads "Subject: CN=…" as one labelled value. */
  gtk_accessible_update_relation (GTK_ACCESSIBLE (val), GTK_ACCESSIBLE_RELATION_LABELLED_BY, key,
                                  NULL, -1);
  gtk_grid_attach (self->details_grid, key, 0, self->rows, 1, 1);
  gtk_grid_attach (self->details_grid, val, 1, self->rows, 1, 1);
  self->rows++;
}

/* @t: seconds since the epoch, -1 when the certificate did not say. */
static char *
format_date (gint64 t)
{
  g_autoptr (GDateTime) date = t == -1 ? NULL : g_date_time_new_from_unix_local (t);
  if (!date)
    return g_strdup (_ ("unknown"));
  return g_date_time_format (date, "%x %X");
}

CgCertDialog *
cg_cert_dialog_new (GtkWindow *parent, const char *address, const CgCertInfo *probe,
                    const char *known_pin)
{
  CgCertDialog *self = g_object_new (CG_TYPE_CERT_DIALOG, "transient-for", parent, NULL);
  gboolean changed = known_pin != NULL;

  if (changed)
    {
      g_autofree char *heading = g_strdup_printf (_ ("The key of %s has changed"), address);
      gtk_image_set_from_icon_name (self->icon, "dialog-warning-symbolic");
      gtk_label_set_text (self->heading_label, heading);
      gtk_label_set_text (self->body_label,
                          _ ("This agent now presents a different key from the one you trusted. "
                             "Someone may be impersonating it. Nothing has been sent. Replace the "
                             "trusted key only if its administrator told you the certificate "
                             "was replaced and the new fingerprint below matches the one they gave "
                             "you."));
      gtk_button_set_label (self->trust_button, _ ("_Replace the trusted key"));
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->trust_button),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, _ ("Replace the trusted key"),
                                      -1);
      gtk_widget_add_css_class (GTK_WIDGET (self->trust_button), "destructive-action");
      gtk_window_set_default_widget (GTK_WINDOW (self), GTK_WIDGET (self->cancel_button));
      gtk_window_set_focus (GTK_WINDOW (self), GTK_WIDGET (self->cancel_button));
      gtk_window_set_title (GTK_WINDOW (self), _ ("Certificate changed"));
    }
  else
    {
      g_autofree char *heading = g_strdup_printf (_ ("Do you trust %s?"), address);
      gtk_label_set_text (self->heading_label, heading);
      gtk_label_set_text (self->body_label,
                          _ ("This is the first connection to this agent. Compare the fingerprint "
                             "below with the one the agent printed when it started (or that "
                             "credgatectl status shows) before you trust it."));
      gtk_button_set_label (self->trust_button, _ ("_Trust and connect"));
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->trust_button),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, _ ("Trust and connect"), -1);
      gtk_widget_add_css_class (GTK_WIDGET (self->trust_button), "suggested-action");
      gtk_window_set_default_widget (GTK_WINDOW (self), GTK_WIDGET (self->trust_button));
      gtk_window_set_focus (GTK_WINDOW (self), GTK_WIDGET (self->trust_button));
    }

  g_autofree char *sans = probe->sans ? g_strjoinv (", ", probe->sans) : g_strdup ("");
  g_autofree char *from = format_date (probe->not_before);
  g_autofree char *until = format_date (probe->not_after);
  g_autofree char *pin = cg_connection_format_pin (probe->pin);

  add_row (self, _ ("Subject"), probe->subject ? probe->subject : "", FALSE);
  add_row (self, _ ("Alternative names"), sans, FALSE);
  add_row (self, _ ("Valid from"), from, FALSE);
  add_row (self, _ ("Valid until"), until, FALSE);
  add_row (self, _ ("Issuer"),
           probe->self_signed ? _ ("Self-signed (the agent made it itself)")
                              : (probe->issuer ? probe->issuer : ""),
           FALSE);
  if (changed)
    {
      g_autofree char *old = cg_connection_format_pin (known_pin);
      add_row (self, _ ("Trusted fingerprint"), old, TRUE);
      add_row (self, _ ("New fingerprint"), pin, TRUE);
    }
  else
    add_row (self, _ ("Fingerprint"), pin, TRUE);

  if (probe->not_after != -1 && probe->not_after < g_get_real_time () / G_USEC_PER_SEC)
    add_row (self, _ ("Warning"), _ ("This certificate has expired."), FALSE);

  return self;
}

static void
cg_cert_dialog_class_init (CgCertDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  window_class->close_request = close_request_cb;
  signals[SIGNAL_RESPONSE] = g_signal_new ("response", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/credgate/Manager/cg-cert-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, CgCertDialog, icon);
  gtk_widget_class_bind_template_child (widget_class, CgCertDialog, heading_label);
  gtk_widget_class_bind_template_child (widget_class, CgCertDialog, body_label);
  gtk_widget_class_bind_template_child (widget_class, CgCertDialog, details_grid);
  gtk_widget_class_bind_template_child (widget_class, CgCertDialog, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, CgCertDialog, trust_button);
  gtk_widget_class_install_action (widget_class, "cert.trust", NULL, trust_action_cb);
  gtk_widget_class_install_action (widget_class, "cert.cancel", NULL, cancel_action_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "cert.cancel", NULL);
}

static void
cg_cert_dialog_init (CgCertDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
