/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gui/cg-linked-view.h"

#include <glib/gi18n.h>
#include <string.h>

#include "common/cg-secure.h"
#include "gui/cg-connection.h"
#include "protocol/cg-linked-service.h"

/* A linked-service file is a few kilobytes; refuse to load anything huge. */
#define LINKED_FILE_MAX (1024 * 1024)
#define PREVIEW_DELAY_MS 250

struct _CgLinkedView
{
  GtkWidget parent_instance;

  GtkSpinner *spinner;
  GtkTextView *input_view;
  GtkTextView *output_view;
  GtkListBox *removed_list;
  GtkLabel *removed_placeholder;

  CgManagerClient *client;
  GCancellable *cancellable;
  guint preview_id;
  CgLinkedService *pending; /* parsed input waiting for the agent's reply */
  gboolean busy;
};

G_DEFINE_FINAL_TYPE (CgLinkedView, cg_linked_view, GTK_TYPE_WIDGET)

enum
{
  SIGNAL_SHOW_ERROR,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
show_message (CgLinkedView *self, const char *message)
{
  g_signal_emit (self, signals[SIGNAL_SHOW_ERROR], 0, message);
}

static char *
buffer_text (GtkTextView *view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
set_output (CgLinkedView *self, const char *text)
{
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->output_view), text ? text : "", -1);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "linked.copy", text && *text);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "linked.save", text && *text);
}

static void
update_preview (CgLinkedView *self)
{
  g_autofree char *text = buffer_text (self->input_view);
  g_autoptr (GError) error = NULL;
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->removed_list)), *next;
       child; child = next)
    {
      /* The placeholder is a child too: only rows go. */
      next = gtk_widget_get_next_sibling (child);
      if (GTK_IS_LIST_BOX_ROW (child))
        gtk_list_box_remove (self->removed_list, child);
    }

  g_autofree char *stripped = g_strstrip (g_strdup (text ? text : ""));
  gboolean has_text = *stripped != '\0';
  cg_wipe_str (g_steal_pointer (&stripped));
  g_autoptr (CgLinkedService) ls = NULL;
  if (text && *text)
    ls = cg_linked_service_parse (text, strlen (text), TRUE, &error);
  cg_wipe_str (g_steal_pointer (&text));

  if (!ls)
    {
      /* The agent's words for a bad document are plain enough here; they
       * come from the shared transformer. */
      gtk_label_set_text (self->removed_placeholder,
                          has_text && error ? error->message : _ ("Nothing to remove yet."));
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "linked.encrypt", FALSE);
      return;
    }
  const char *const *fields = cg_linked_service_preview (ls);
  for (guint i = 0; fields && fields[i]; i++)
    {
      GtkWidget *label = gtk_label_new (fields[i]);
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_widget_set_margin_top (label, 6);
      gtk_widget_set_margin_bottom (label, 6);
      gtk_widget_set_margin_start (label, 12);
      gtk_widget_add_css_class (label, "cg-mono");
      gtk_list_box_append (self->removed_list, label);
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "linked.encrypt", !self->busy);
}

static gboolean
preview_timeout_cb (gpointer user_data)
{
  CgLinkedView *self = user_data;
  self->preview_id = 0;
  update_preview (self);
  return G_SOURCE_REMOVE;
}

static void
input_changed_cb (CgLinkedView *self)
{
  g_clear_handle_id (&self->preview_id, g_source_remove);
  self->preview_id = g_timeout_add (PREVIEW_DELAY_MS, preview_timeout_cb, self);
  set_output (self, NULL);
}

/* Once the rewritten service is shown, the plaintext one goes: from the
 * view and from its undo history (an irreversible action drops the
 * history), so Ctrl+Z cannot bring the secrets back.  The text GTK held is
 * freed by GTK; our own copies of it are wiped where they are made. */
static void
clear_input (CgLinkedView *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->input_view);
  g_signal_handlers_block_by_func (buffer, input_changed_cb, self);
  gtk_text_buffer_begin_irreversible_action (buffer);
  gtk_text_buffer_set_text (buffer, "", 0);
  gtk_text_buffer_end_irreversible_action (buffer);
  g_signal_handlers_unblock_by_func (buffer, input_changed_cb, self);
  g_clear_handle_id (&self->preview_id, g_source_remove);
  update_preview (self);
}

static void
set_busy (CgLinkedView *self, gboolean busy)
{
  self->busy = busy;
  if (busy)
    gtk_spinner_start (self->spinner);
  else
    gtk_spinner_stop (self->spinner);
  gtk_text_view_set_editable (self->input_view, !busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "linked.encrypt", !busy);
}

static void
encrypt_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CgLinkedView) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CgLinkedService) ls = g_steal_pointer (&self->pending);
  json_auto_t *reply = cg_manager_client_call_finish (CG_MANAGER_CLIENT (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_busy (self, FALSE);
  const char *jwe = json_string_value (json_object_get (reply, "encryptedCredential"));
  if (!jwe)
    {
      g_autofree char *message = error ? cg_connection_describe_error (error)
                                       : g_strdup (_ ("The agent sent no encrypted credential."));
      show_message (self, message);
      return;
    }
  g_autofree char *rewritten = cg_linked_service_rewrite (ls, jwe, &error);
  if (!rewritten)
    {
      show_message (self, error->message);
      return;
    }
  clear_input (self);
  set_output (self, rewritten);
}

static void
encrypt_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CgLinkedView *self = CG_LINKED_VIEW (widget);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = buffer_text (self->input_view);

  if (self->busy || !self->client)
    return;
  g_autoptr (CgLinkedService) ls = cg_linked_service_parse (text, strlen (text), TRUE, &error);
  cg_wipe_str (g_steal_pointer (&text));
  if (!ls)
    {
      show_message (self, error->message);
      return;
    }
  g_autoptr (CgBuf) secrets = cg_linked_service_get_secrets (ls);
  g_autofree char *value = g_strndup ((const char *)secrets->data, secrets->len);
  set_busy (self, TRUE);
  cg_manager_client_encrypt_async (self->client, value, cg_linked_service_get_name (ls),
                                   self->cancellable, encrypt_done_cb, g_object_ref (self));
  cg_wipe_str (g_steal_pointer (&value));
  g_clear_pointer (&self->pending, cg_linked_service_free);
  self->pending = g_steal_pointer (&ls);
}

static void
copy_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CgLinkedView *self = CG_LINKED_VIEW (widget);
  g_autofree char *text = buffer_text (self->output_view);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), text);
}

static void
load_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CgLinkedView) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &len, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_message (self, error->message);
      return;
    }
  if (len > LINKED_FILE_MAX || !g_utf8_validate (contents, (gssize)len, NULL))
    {
      show_message (self, _ ("That file is too large or not text; a linked service is a small "
                             "JSON file."));
      return;
    }
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->input_view), contents, (int)len);
  cg_wipe (contents, len);
  /* One whole change, not typing: preview at once, so Encrypt is ready
   * (Ctrl+Return right after opening works). */
  g_clear_handle_id (&self->preview_id, g_source_remove);
  update_preview (self);
}

static void
open_response_cb (GtkNativeDialog *native, int response, gpointer user_data)
{
  CgLinkedView *self = user_data;
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      g_file_load_contents_async (file, self->cancellable, load_done_cb, g_object_ref (self));
    }
  g_object_unref (native);
}

static GtkFileChooserNative *
make_chooser (CgLinkedView *self, const char *title, GtkFileChooserAction action,
              const char *accept)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GtkFileChooserNative *native = gtk_file_chooser_native_new (
      title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, action, accept, _ ("_Cancel"));
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _ ("JSON files"));
  gtk_file_filter_add_pattern (filter, "*.json");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), filter);
  g_object_unref (filter);
  G_GNUC_END_IGNORE_DEPRECATIONS
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  return native;
}

static void
open_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CgLinkedView *self = CG_LINKED_VIEW (widget);
  GtkFileChooserNative *native
      = make_chooser (self, _ ("Open a linked service"), GTK_FILE_CHOOSER_ACTION_OPEN, _ ("_Open"));
  g_signal_connect_object (native, "response", G_CALLBACK (open_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
save_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CgLinkedView) self = user_data;
  g_autoptr (GError) error = NULL;
  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_message (self, error->message);
}

static void
save_response_cb (GtkNativeDialog *native, int response, gpointer user_data)
{
  CgLinkedView *self = user_data;
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      char *text = buffer_text (self->output_view);
      g_autoptr (GBytes) bytes = g_bytes_new_take (text, strlen (text));
      g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_NONE,
                                           self->cancellable, save_done_cb, g_object_ref (self));
    }
  g_object_unref (native);
}

static void
save_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CgLinkedView *self = CG_LINKED_VIEW (widget);
  GtkFileChooserNative *native = make_chooser (self, _ ("Save the rewritten linked service"),
                                               GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Save"));
  g_signal_connect_object (native, "response", G_CALLBACK (save_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

void
cg_linked_view_set_client (CgLinkedView *self, CgManagerClient *client)
{
  g_set_object (&self->client, client);
}

static void
cg_linked_view_dispose (GObject *object)
{
  CgLinkedView *self = CG_LINKED_VIEW (object);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  g_clear_handle_id (&self->preview_id, g_source_remove);
  g_clear_pointer (&self->pending, cg_linked_service_free);
  gtk_widget_dispose_template (GTK_WIDGET (object), CG_TYPE_LINKED_VIEW);
  /* The template's top box has no id, so dispose_template leaves it. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (object)));)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (cg_linked_view_parent_class)->dispose (object);
}

static void
cg_linked_view_class_init (CgLinkedViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cg_linked_view_dispose;
  signals[SIGNAL_SHOW_ERROR]
      = g_signal_new ("show-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/credgate/Manager/cg-linked-view.ui");
  gtk_widget_class_bind_template_child (widget_class, CgLinkedView, spinner);
  gtk_widget_class_bind_template_child (widget_class, CgLinkedView, input_view);
  gtk_widget_class_bind_template_child (widget_class, CgLinkedView, output_view);
  gtk_widget_class_bind_template_child (widget_class, CgLinkedView, removed_list);
  gtk_widget_class_bind_template_child (widget_class, CgLinkedView, removed_placeholder);
  gtk_widget_class_install_action (widget_class, "linked.open", NULL, open_action_cb);
  gtk_widget_class_install_action (widget_class, "linked.encrypt", NULL, encrypt_action_cb);
  gtk_widget_class_install_action (widget_class, "linked.copy", NULL, copy_action_cb);
  gtk_widget_class_install_action (widget_class, "linked.save", NULL, save_action_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "linked.open",
                                       NULL);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
cg_linked_view_init (CgLinkedView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  g_signal_connect_swapped (gtk_text_view_get_buffer (self->input_view), "changed",
                            G_CALLBACK (input_changed_cb), self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "linked.encrypt", FALSE);
  set_output (self, NULL);

  /* Ctrl+Return encrypts even from inside the JSON box, which would
   * otherwise take the key itself: so catch it on the way down. */
  GtkEventController *shortcuts = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_add_shortcut (
      GTK_SHORTCUT_CONTROLLER (shortcuts),
      gtk_shortcut_new (gtk_shortcut_trigger_parse_string ("<Control>Return"),
                        gtk_named_action_new ("linked.encrypt")));
  gtk_widget_add_controller (GTK_WIDGET (self), shortcuts);
}
