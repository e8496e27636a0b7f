/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gui/cg-credentials-view.h"

#include <glib/gi18n.h>
#include <string.h>

#include "gui/cg-connection.h"
#include "gui/cg-editor-dialog.h"
#include "gui/cg-forms.h"

struct _CgCredentialsView
{
  GtkWidget parent_instance;

  GtkSearchEntry *search_entry;
  GtkListBox *list_box;
  GtkLabel *placeholder_label;

  CgManagerClient *client;
  GCancellable *cancellable;
  json_t *list; /* the last list the agent sent */
};

G_DEFINE_FINAL_TYPE (CgCredentialsView, cg_credentials_view, GTK_TYPE_WIDGET)

enum
{
  SIGNAL_SHOW_ERROR,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
show_error (CgCredentialsView *self, const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_autofree char *message = cg_connection_describe_error (error);
  g_signal_emit (self, signals[SIGNAL_SHOW_ERROR], 0, message);
}

static const char *
type_label (const char *type)
{
  const CgFormType *form = cg_forms_lookup (type);
  return form ? _ (form->label) : type;
}

static char *
format_changed (const char *updated)
{
  g_autoptr (GDateTime) date = updated ? g_date_time_new_from_iso8601 (updated, NULL) : NULL;
  if (!date)
    return g_strdup (updated ? updated : "");
  g_autoptr (GDateTime) local = g_date_time_to_local (date);
  g_autofree char *when = g_date_time_format (local, "%x %H:%M");
  /* TRANSLATORS: %s is a date and time */
  return g_strdup_printf (_ ("Changed %s"), when);
}

static GtkWidget *
make_row (CgCredentialsView *self, json_t *meta)
{
  const char *name = json_string_value (json_object_get (meta, "name"));
  const char *type = json_string_value (json_object_get (meta, "type"));
  const char *updated = json_string_value (json_object_get (meta, "updated"));
  if (!name)
    return NULL;

  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *texts = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name_label = gtk_label_new (name);
  g_autofree char *changed = format_changed (updated);
  g_autofree char *subtitle = g_strdup_printf ("%s · %s", type_label (type), changed);
  GtkWidget *sub_label = gtk_label_new (subtitle);

  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_hexpand (texts, TRUE);
  gtk_label_set_xalign (GTK_LABEL (name_label), 0);
  gtk_label_set_xalign (GTK_LABEL (sub_label), 0);
  gtk_widget_add_css_class (name_label, "heading");
  gtk_widget_add_css_class (sub_label, "dim-label");
  gtk_box_append (GTK_BOX (texts), name_label);
  gtk_box_append (GTK_BOX (texts), sub_label);
  gtk_box_append (GTK_BOX (box), texts);

  g_autofree char *edit_a11y = g_strdup_printf (_ ("Edit %s"), name);
  g_autofree char *delete_a11y = g_strdup_printf (_ ("Delete %s"), name);
  GtkWidget *edit = gtk_button_new_from_icon_name ("document-edit-symbolic");
  GtkWidget *del = gtk_button_new_from_icon_name ("user-trash-symbolic");
  gtk_widget_set_valign (edit, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (del, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (edit, edit_a11y);
  gtk_widget_set_tooltip_text (del, delete_a11y);
  gtk_accessible_update_property (GTK_ACCESSIBLE (edit), GTK_ACCESSIBLE_PROPERTY_LABEL, edit_a11y,
                                  -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (del), GTK_ACCESSIBLE_PROPERTY_LABEL, delete_a11y,
                                  -1);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (edit), "credentials.edit");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (edit), "s", name);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (del), "credentials.delete");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (del), "s", name);
  gtk_widget_add_css_class (del, "flat");
  gtk_widget_add_css_class (edit, "flat");
  gtk_box_append (GTK_BOX (box), edit);
  gtk_box_append (GTK_BOX (box), del);

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_autofree char *row_a11y = g_strdup_printf ("%s, %s", name, subtitle);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, row_a11y,
                                  -1);
  g_object_set_data_full (G_OBJECT (row), "cg-meta", json_incref (meta),
                          (GDestroyNotify)json_decref);
  return row;
}

static void
remove_rows (CgCredentialsView *self)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->list_box)), *next; child;
       child = next)
    {
      next = gtk_widget_get_next_sibling (child);
      if (GTK_IS_LIST_BOX_ROW (child))
        gtk_list_box_remove (self->list_box, child);
    }
  g_clear_pointer (&self->list, json_decref);
}

void
cg_credentials_view_clear (CgCredentialsView *self)
{
  remove_rows (self);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
}

void
cg_credentials_view_set_list (CgCredentialsView *self, json_t *list)
{
  /* A refresh keeps the search: only a disconnect clears it. */
  remove_rows (self);
  self->list = json_incref (list);
  size_t i;
  json_t *meta;
  json_array_foreach (list, i, meta)
  {
    GtkWidget *row = make_row (self, meta);
    if (row)
      gtk_list_box_append (self->list_box, row);
  }
  gtk_list_box_invalidate_filter (self->list_box);
}

static json_t *
find_meta (CgCredentialsView *self, const char *name)
{
  size_t i;
  json_t *meta;
  json_array_foreach (self->list, i, meta)
  {
    const char *n = json_string_value (json_object_get (meta, "name"));
    if (n && g_str_equal (n, name))
      return meta;
  }
  return NULL;
}

static void
list_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CgCredentialsView) self = user_data;
  g_autoptr (GError) error = NULL;
  json_auto_t *list = cg_manager_client_call_finish (CG_MANAGER_CLIENT (source), result, &error);
  if (!list)
    {
      show_error (self, error);
      return;
    }
  cg_credentials_view_set_list (self, list);
}

void
cg_credentials_view_refresh (CgCredentialsView *self)
{
  if (!self->client)
    return;
  cg_manager_client_list_async (self->client, self->cancellable, list_done_cb, g_object_ref (self));
}

void
cg_credentials_view_focus_search (CgCredentialsView *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

void
cg_credentials_view_set_client (CgCredentialsView *self, CgManagerClient *client)
{
  g_set_object (&self->client, client);
}

static gboolean
filter_cb (GtkListBoxRow *row, gpointer user_data)
{
  CgCredentialsView *self = user_data;
  const char *query = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  json_t *meta = g_object_get_data (G_OBJECT (row), "cg-meta");
  if (!query || !*query || !meta)
    return TRUE;

  g_autofree char *needle = g_utf8_casefold (query, -1);
  const char *name = json_string_value (json_object_get (meta, "name"));
  const char *type = json_string_value (json_object_get (meta, "type"));
  g_autofree char *hay
      = g_strdup_printf ("%s %s %s", name ? name : "", type ? type : "", type_label (type));
  g_autofree char *folded = g_utf8_casefold (hay, -1);
  return strstr (folded, needle) != NULL;
}

static void
search_changed_cb (CgCredentialsView *self)
{
  gtk_list_box_invalidate_filter (self->list_box);
}

static void open_editor (CgCredentialsView *self, json_t *meta);

/* Enter in the search box edits the first credential that matches: type a
 * few letters, press Enter, and the form is open. */
static void
search_activate_cb (CgCredentialsView *self)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->list_box)); child;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_LIST_BOX_ROW (child) && gtk_widget_get_child_visible (child))
      {
        json_t *meta = g_object_get_data (G_OBJECT (child), "cg-meta");
        if (meta)
          {
            open_editor (self, meta);
            return;
          }
      }
}

/* Ctrl+Delete asks to delete the first credential that matches the search,
 * as Enter edits it. */
static gboolean
delete_match_cb (GtkWidget *widget, GVariant *args, gpointer user_data)
{
  CgCredentialsView *self = CG_CREDENTIALS_VIEW (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->list_box)); child;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_LIST_BOX_ROW (child) && gtk_widget_get_child_visible (child))
      {
        json_t *meta = g_object_get_data (G_OBJECT (child), "cg-meta");
        const char *name = json_string_value (json_object_get (meta, "name"));
        if (name)
          return gtk_widget_activate_action (widget, "credentials.delete", "s", name);
      }
  return FALSE;
}

static void
editor_saved_cb (CgCredentialsView *self, const char *name)
{
  cg_credentials_view_refresh (self);
}

static void
open_editor (CgCredentialsView *self, json_t *meta)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  CgEditorDialog *dialog
      = cg_editor_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, self->client, meta);
  g_signal_connect_object (dialog, "saved", G_CALLBACK (editor_saved_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
row_activated_cb (CgCredentialsView *self, GtkListBoxRow *row)
{
  json_t *meta = g_object_get_data (G_OBJECT (row), "cg-meta");
  if (meta)
    open_editor (self, meta);
}

static void
add_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  open_editor (CG_CREDENTIALS_VIEW (widget), NULL);
}

static void
refresh_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  cg_credentials_view_refresh (CG_CREDENTIALS_VIEW (widget));
}

static void
edit_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CgCredentialsView *self = CG_CREDENTIALS_VIEW (widget);
  json_t *meta = find_meta (self, g_variant_get_string (parameter, NULL));
  if (meta)
    open_editor (self, meta);
}

static void
delete_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CgCredentialsView) self = user_data;
  g_autoptr (GError) error = NULL;
  json_auto_t *reply = cg_manager_client_call_finish (CG_MANAGER_CLIENT (source), result, &error);
  if (!reply)
    show_error (self, error);
  cg_credentials_view_refresh (self);
}

static void
confirm_response_cb (GtkDialog *dialog, int response, gpointer user_data)
{
  CgCredentialsView *self = user_data;
  const char *name = g_object_get_data (G_OBJECT (dialog), "cg-name");
  if (response == GTK_RESPONSE_ACCEPT)
    cg_manager_client_delete_async (self->client, name, self->cancellable, delete_done_cb,
                                    g_object_ref (self));
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
delete_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CgCredentialsView *self = CG_CREDENTIALS_VIEW (widget);
  const char *name = g_variant_get_string (parameter, NULL);
  GtkRoot *root = gtk_widget_get_root (widget);

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GtkWidget *dialog
      = gtk_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                GTK_MESSAGE_WARNING, GTK_BUTTONS_NONE, _ ("Delete “%s”?"), name);
  gtk_message_dialog_format_secondary_text (
      GTK_MESSAGE_DIALOG (dialog),
      _ ("The agent forgets this credential at once. Gateways that use it stop working "
         "until it is stored again."));
  gtk_dialog_add_button (GTK_DIALOG (dialog), _ ("_Cancel"), GTK_RESPONSE_CANCEL);
  GtkWidget *del = gtk_dialog_add_button (GTK_DIALOG (dialog), _ ("_Delete"), GTK_RESPONSE_ACCEPT);
  gtk_widget_add_css_class (del, "destructive-action");
  /* The safe answer is the default. */
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
  G_GNUC_END_IGNORE_DEPRECATIONS

  gtk_window_set_title (GTK_WINDOW (dialog), _ ("Delete credential"));
  g_object_set_data_full (G_OBJECT (dialog), "cg-name", g_strdup (name), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (confirm_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static gboolean
focus_search_cb (GtkWidget *widget, GVariant *args, gpointer user_data)
{
  return gtk_widget_grab_focus (GTK_WIDGET (CG_CREDENTIALS_VIEW (widget)->search_entry));
}

static void
cg_credentials_view_dispose (GObject *object)
{
  CgCredentialsView *self = CG_CREDENTIALS_VIEW (object);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  g_clear_pointer (&self->list, json_decref);
  gtk_widget_dispose_template (GTK_WIDGET (object), CG_TYPE_CREDENTIALS_VIEW);
  G_OBJECT_CLASS (cg_credentials_view_parent_class)->dispose (object);
}

static void
cg_credentials_view_class_init (CgCredentialsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cg_credentials_view_dispose;
  signals[SIGNAL_SHOW_ERROR]
      = g_signal_new ("show-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/credgate/Manager/cg-credentials-view.ui");
  gtk_widget_class_bind_template_child (widget_class, CgCredentialsView, search_entry);
  gtk_widget_class_bind_template_child (widget_class, CgCredentialsView, list_box);
  gtk_widget_class_bind_template_child (widget_class, CgCredentialsView, placeholder_label);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, row_activated_cb);
  gtk_widget_class_install_action (widget_class, "credentials.add", NULL, add_action_cb);
  gtk_widget_class_install_action (widget_class, "credentials.refresh", NULL, refresh_action_cb);
  gtk_widget_class_install_action (widget_class, "credentials.edit", "s", edit_action_cb);
  gtk_widget_class_install_action (widget_class, "credentials.delete", "s", delete_action_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "credentials.add",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "credentials.refresh", NULL);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, focus_search_cb, NULL);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
cg_credentials_view_init (CgCredentialsView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  gtk_list_box_set_filter_func (self->list_box, filter_cb, self, NULL);

  /* Caught on the way down: the search box would take Ctrl+Delete as
   * "delete a word". */
  GtkEventController *shortcuts = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_add_shortcut (
      GTK_SHORTCUT_CONTROLLER (shortcuts),
      gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_Delete, GDK_CONTROL_MASK),
                        gtk_callback_action_new (delete_match_cb, NULL, NULL)));
  gtk_widget_add_controller (GTK_WIDGET (self), shortcuts);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->list_box), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Credentials"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->search_entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _ ("Search credentials"), -1);
}
