/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gui/cg-editor-dialog.h"

#include <glib/gi18n.h>
#include <string.h>

#include "gui/cg-connection.h"
#include "gui/cg-forms.h"

typedef struct
{
  const CgField *field;
  GtkWidget *widget; /* GtkEntry, GtkPasswordEntry or GtkTextView */
  GtkWidget *error_label;
  gboolean touched; /* problems show once the user has typed here */
} FieldRow;

struct _CgEditorDialog
{
  GtkWindow parent_instance;

  GtkButton *save_button;
  GtkSpinner *spinner;
  GtkEntry *name_entry;
  GtkLabel *name_error;
  GtkDropDown *type_dropdown;
  GtkLabel *secret_note;
  GtkGrid *fields_grid;
  GtkLabel *error_label;

  CgManagerClient *client;
  GCancellable *cancellable;
  json_t *meta; /* what is being edited, or NULL */
  const CgFormType *type;
  GArray *rows; /* FieldRow */
  gboolean name_touched;
  gboolean busy;
};

G_DEFINE_FINAL_TYPE (CgEditorDialog, cg_editor_dialog, GTK_TYPE_WINDOW)

enum
{
  SIGNAL_SAVED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static char *
row_text (FieldRow *row)
{
  if (GTK_IS_TEXT_VIEW (row->widget))
    {
      GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (row->widget));
      GtkTextIter start, end;
      gtk_text_buffer_get_bounds (buffer, &start, &end);
      return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
    }
  return g_strdup (gtk_editable_get_text (GTK_EDITABLE (row->widget)));
}

static void
wipe_free (gpointer p)
{
  char *s = p;
  if (s)
    {
      explicit_bzero (s, strlen (s));
      g_free (s);
    }
}

/* Field name → text; secrets are wiped when the table goes. */
static GHashTable *
collect_values (CgEditorDialog *self)
{
  GHashTable *values = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, wipe_free);
  for (guint i = 0; i < self->rows->len; i++)
    {
      FieldRow *row = &g_array_index (self->rows, FieldRow, i);
      g_hash_table_insert (values, (gpointer)row->field->name, row_text (row));
    }
  return values;
}

static void
show_problem (GtkWidget *widget, GtkLabel *label, const char *problem)
{
  gtk_label_set_text (label, problem ? problem : "");
  gtk_widget_set_visible (GTK_WIDGET (label), problem != NULL);
  if (problem)
    gtk_widget_add_css_class (widget, "error");
  else
    gtk_widget_remove_css_class (widget, "error");
  gtk_accessible_update_state (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_STATE_INVALID,
                               problem ? GTK_ACCESSIBLE_INVALID_TRUE : GTK_ACCESSIBLE_INVALID_FALSE,
                               -1);
}

static void
revalidate (CgEditorDialog *self)
{
  gboolean ok = TRUE;

  g_autofree char *name_problem
      = cg_forms_check_name (gtk_editable_get_text (GTK_EDITABLE (self->name_entry)));
  ok = ok && !name_problem;
  show_problem (GTK_WIDGET (self->name_entry), self->name_error,
                self->name_touched ? name_problem : NULL);

  for (guint i = 0; i < self->rows->len; i++)
    {
      FieldRow *row = &g_array_index (self->rows, FieldRow, i);
      g_autofree char *text = row_text (row);
      g_autofree char *problem = cg_forms_check_field (row->field, text);
      if (row->field->secret && text)
        explicit_bzero (text, strlen (text));
      ok = ok && !problem;
      show_problem (row->widget, GTK_LABEL (row->error_label), row->touched ? problem : NULL);
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.save", ok && !self->busy);
}

static void
name_changed_cb (CgEditorDialog *self)
{
  self->name_touched = TRUE;
  revalidate (self);
}

static void
field_changed_cb (GtkWidget *widget, CgEditorDialog *self)
{
  for (guint i = 0; i < self->rows->len; i++)
    {
      FieldRow *row = &g_array_index (self->rows, FieldRow, i);
      if (row->widget == widget
          || (GTK_IS_TEXT_VIEW (row->widget)
              && gtk_text_view_get_buffer (GTK_TEXT_VIEW (row->widget)) == (GtkTextBuffer *)widget))
        row->touched = TRUE;
    }
  revalidate (self);
}

static void
clear_fields (CgEditorDialog *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->fields_grid))))
    gtk_grid_remove (self->fields_grid, child);
  g_array_set_size (self->rows, 0);
}

static void
build_fields (CgEditorDialog *self, const CgFormType *type, GHashTable *carry)
{
  clear_fields (self);
  self->type = type;

  for (guint i = 0; i < type->n_fields; i++)
    {
      const CgField *field = &type->fields[i];
      FieldRow row = { field, NULL, NULL, FALSE };
      g_autofree char *label_text = field->required
                                        ? g_strdup_printf (_ ("%s (required)"), _ (field->label))
                                        : g_strdup (_ (field->label));
      GtkWidget *label = gtk_label_new_with_mnemonic (label_text);
      const char *initial = carry ? g_hash_table_lookup (carry, field->name) : NULL;

      gtk_label_set_xalign (GTK_LABEL (label), 1);
      gtk_label_set_width_chars (GTK_LABEL (label), 14);
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 22);

      switch (field->kind)
        {
        case CG_FIELD_PASSWORD:
          row.widget = gtk_password_entry_new ();
          gtk_password_entry_set_show_peek_icon (GTK_PASSWORD_ENTRY (row.widget), TRUE);
          g_object_set (row.widget, "activates-default", TRUE, NULL);
          if (self->meta)
            g_object_set (row.widget, "placeholder-text", _ ("Enter it again to save"), NULL);
          g_signal_connect (row.widget, "changed", G_CALLBACK (field_changed_cb), self);
          break;
        case CG_FIELD_KEY_VALUES:
          {
            row.widget = gtk_text_view_new ();
            gtk_text_view_set_monospace (GTK_TEXT_VIEW (row.widget), TRUE);
            gtk_widget_set_size_request (row.widget, -1, 120);
            gtk_widget_add_css_class (row.widget, "cg-textbox");
            GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (row.widget));
            if (initial)
              gtk_text_buffer_set_text (buffer, initial, -1);
            g_signal_connect (buffer, "changed", G_CALLBACK (field_changed_cb), self);
            break;
          }
        case CG_FIELD_PORT:
        case CG_FIELD_TEXT:
        default:
          row.widget = gtk_entry_new ();
          gtk_entry_set_activates_default (GTK_ENTRY (row.widget), TRUE);
          if (field->kind == CG_FIELD_PORT)
            gtk_entry_set_input_purpose (GTK_ENTRY (row.widget), GTK_INPUT_PURPOSE_DIGITS);
          if (initial)
            gtk_editable_set_text (GTK_EDITABLE (row.widget), initial);
          g_signal_connect (row.widget, "changed", G_CALLBACK (field_changed_cb), self);
          break;
        }
      if (field->hint && GTK_IS_ENTRY (row.widget))
        gtk_entry_set_placeholder_text (GTK_ENTRY (row.widget), _ (field->hint));
      gtk_widget_set_hexpand (row.widget, TRUE);
      gtk_label_set_mnemonic_widget (GTK_LABEL (label), row.widget);

      row.error_label = gtk_label_new (NULL);
      gtk_label_set_xalign (GTK_LABEL (row.error_label), 0);
      gtk_label_set_wrap (GTK_LABEL (row.error_label), TRUE);
      gtk_widget_add_css_class (row.error_label, "cg-error");
      gtk_widget_set_visible (row.error_label, FALSE);

      gtk_accessible_update_relation (
          GTK_ACCESSIBLE (row.widget), GTK_ACCESSIBLE_RELATION_LABELLED_BY, label, NULL,
          GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, row.error_label, NULL, -1);
      gtk_accessible_update_property (GTK_ACCESSIBLE (row.widget), GTK_ACCESSIBLE_PROPERTY_REQUIRED,
                                      field->required, -1);

      gtk_grid_attach (self->fields_grid, label, 0, (int)i * 2, 1, 1);
      gtk_grid_attach (self->fields_grid, row.widget, 1, (int)i * 2, 1, 1);
      gtk_grid_attach (self->fields_grid, row.error_label, 1, (int)i * 2 + 1, 1, 1);
      g_array_append_val (self->rows, row);
    }
  revalidate (self);
}

static void
type_changed_cb (CgEditorDialog *self)
{
  guint n;
  const CgFormType *types = cg_forms_get_types (&n);
  guint selected = gtk_drop_down_get_selected (self->type_dropdown);
  if (selected >= n || &types[selected] == self->type)
    return;
  /* Keep what was typed in fields the new type shares (server, user…),
   * but never carry a secret across. */
  g_autoptr (GHashTable) carry = collect_values (self);
  for (guint i = 0; i < self->rows->len; i++)
    {
      FieldRow *row = &g_array_index (self->rows, FieldRow, i);
      if (row->field->secret)
        g_hash_table_remove (carry, row->field->name);
    }
  build_fields (self, &types[selected], carry);
}

static void
set_busy (CgEditorDialog *self, gboolean busy)
{
  self->busy = busy;
  if (busy)
    gtk_spinner_start (self->spinner);
  else
    gtk_spinner_stop (self->spinner);
  gtk_widget_set_sensitive (GTK_WIDGET (self->fields_grid), !busy);
  revalidate (self);
}

static void
put_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CgEditorDialog) self = user_data;
  g_autoptr (GError) error = NULL;
  json_auto_t *meta = cg_manager_client_call_finish (CG_MANAGER_CLIENT (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_busy (self, FALSE);
  if (!meta)
    {
      g_autofree char *message = cg_connection_describe_error (error);
      gtk_label_set_text (self->error_label, message);
      gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
      return;
    }
  g_signal_emit (self, signals[SIGNAL_SAVED], 0,
                 json_string_value (json_object_get (meta, "name")));
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
save_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CgEditorDialog *self = CG_EDITOR_DIALOG (widget);
  g_autoptr (GError) error = NULL;
  const char *bad_field = NULL;
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_entry));
  g_autoptr (GHashTable) values = collect_values (self);

  if (self->busy)
    return;
  if (!cg_forms_validate (self->type, name, values, &bad_field, &error))
    {
      /* Show every problem at once, and go to the first. */
      self->name_touched = TRUE;
      for (guint i = 0; i < self->rows->len; i++)
        g_array_index (self->rows, FieldRow, i).touched = TRUE;
      revalidate (self);
      return;
    }
  json_auto_t *body = cg_forms_build_body (self->type, values, &error);
  if (!body)
    {
      gtk_label_set_text (self->error_label, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
      return;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);
  set_busy (self, TRUE);
  cg_manager_client_put_async (self->client, name, body, self->cancellable, put_done_cb,
                               g_object_ref (self));
}

CgEditorDialog *
cg_editor_dialog_new (GtkWindow *parent, CgManagerClient *client, json_t *meta)
{
  CgEditorDialog *self = g_object_new (CG_TYPE_EDITOR_DIALOG, "transient-for", parent, NULL);
  guint n;
  const CgFormType *types = cg_forms_get_types (&n);
  const CgFormType *type = &types[0];
  g_autoptr (GHashTable) initial = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  self->client = g_object_ref (client);
  if (meta)
    {
      const char *name = json_string_value (json_object_get (meta, "name"));
      const char *type_id = json_string_value (json_object_get (meta, "type"));
      json_t *properties = json_object_get (meta, "properties");
      g_autofree char *title = g_strdup_printf (_ ("Edit “%s”"), name ? name : "");

      self->meta = json_incref (meta);
      gtk_window_set_title (GTK_WINDOW (self), title);
      gtk_editable_set_text (GTK_EDITABLE (self->name_entry), name ? name : "");
      /* Another name would be another record: the name is fixed here. */
      gtk_editable_set_editable (GTK_EDITABLE (self->name_entry), FALSE);
      gtk_widget_set_can_focus (GTK_WIDGET (self->name_entry), FALSE);
      gtk_label_set_text (self->secret_note,
                          _ ("The agent never sends a saved secret back, and saving replaces the "
                             "whole record, so enter the secret again to save your changes."));
      type = cg_forms_lookup (type_id);
      if (!type)
        type = cg_forms_lookup ("generic");

      const char *key;
      json_t *value;
      gboolean key_values = FALSE;
      for (guint i = 0; i < type->n_fields; i++)
        key_values |= type->fields[i].kind == CG_FIELD_KEY_VALUES;
      if (key_values)
        g_hash_table_insert (initial, (gpointer) "properties",
                             cg_forms_format_key_values (properties));
      else
        json_object_foreach (properties, key, value)
        {
          const CgField *field = cg_forms_lookup_field (type, key);
          if (field && !field->secret)
            g_hash_table_insert (initial, (gpointer)field->name, cg_forms_property_to_text (value));
        }
    }
  else
    {
      gtk_window_set_title (GTK_WINDOW (self), _ ("New credential"));
      gtk_label_set_text (self->secret_note,
                          _ ("The secret travels to the agent over the verified connection and is "
                             "sealed there. It is never shown again after you save."));
    }

  GtkStringList *labels = gtk_string_list_new (NULL);
  guint selected = 0;
  for (guint i = 0; i < n; i++)
    {
      gtk_string_list_append (labels, _ (types[i].label));
      if (&types[i] == type)
        selected = i;
    }
  gtk_drop_down_set_model (self->type_dropdown, G_LIST_MODEL (labels));
  g_object_unref (labels);
  gtk_drop_down_set_selected (self->type_dropdown, selected);
  build_fields (self, type, initial);
  g_signal_connect_swapped (self->type_dropdown, "notify::selected", G_CALLBACK (type_changed_cb),
                            self);

  gtk_window_set_default_widget (GTK_WINDOW (self), GTK_WIDGET (self->save_button));
  if (meta)
    {
      /* Straight to the first field the user must fill: the secret. */
      for (guint i = 0; i < self->rows->len; i++)
        if (g_array_index (self->rows, FieldRow, i).field->secret)
          {
            gtk_window_set_focus (GTK_WINDOW (self),
                                  g_array_index (self->rows, FieldRow, i).widget);
            break;
          }
    }
  else
    gtk_window_set_focus (GTK_WINDOW (self), GTK_WIDGET (self->name_entry));
  return self;
}

static void
cg_editor_dialog_dispose (GObject *object)
{
  CgEditorDialog *self = CG_EDITOR_DIALOG (object);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  g_clear_pointer (&self->meta, json_decref);
  gtk_widget_dispose_template (GTK_WIDGET (object), CG_TYPE_EDITOR_DIALOG);
  G_OBJECT_CLASS (cg_editor_dialog_parent_class)->dispose (object);
}

static void
cg_editor_dialog_finalize (GObject *object)
{
  CgEditorDialog *self = CG_EDITOR_DIALOG (object);
  g_array_unref (self->rows);
  G_OBJECT_CLASS (cg_editor_dialog_parent_class)->finalize (object);
}

static void
cg_editor_dialog_class_init (CgEditorDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cg_editor_dialog_dispose;
  object_class->finalize = cg_editor_dialog_finalize;
  signals[SIGNAL_SAVED] = g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/credgate/Manager/cg-editor-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, CgEditorDialog, save_button);
  gtk_widget_class_bind_template_child (widget_class, CgEditorDialog, spinner);
  gtk_widget_class_bind_template_child (widget_class, CgEditorDialog, name_entry);
  gtk_widget_class_bind_template_child (widget_class, CgEditorDialog, name_error);
  gtk_widget_class_bind_template_child (widget_class, CgEditorDialog, type_dropdown);
  gtk_widget_class_bind_template_child (widget_class, CgEditorDialog, secret_note);
  gtk_widget_class_bind_template_child (widget_class, CgEditorDialog, fields_grid);
  gtk_widget_class_bind_template_child (widget_class, CgEditorDialog, error_label);
  gtk_widget_class_install_action (widget_class, "editor.save", NULL, save_action_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "editor.save",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
cg_editor_dialog_init (CgEditorDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->rows = g_array_new (FALSE, TRUE, sizeof (FieldRow));
  self->cancellable = g_cancellable_new ();
  g_signal_connect_swapped (self->name_entry, "changed", G_CALLBACK (name_changed_cb), self);
  gtk_accessible_update_relation (GTK_ACCESSIBLE (self->name_entry),
                                  GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, self->name_error, NULL, -1);
}
