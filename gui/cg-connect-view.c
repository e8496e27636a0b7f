/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gui/cg-connect-view.h"

#include <glib/gi18n.h>
#include <string.h>

#include "protocol/cg-known-agents.h"

struct _CgConnectView
{
  GtkWidget parent_instance;

  GtkEntry *host_entry;
  GtkSpinButton *port_spin;
  GtkPasswordEntry *token_entry;
  GtkCheckButton *remember_check;
  GtkPasswordEntry *code_entry;
  GtkSpinner *spinner;
  GtkButton *connect_button;
  GtkListBox *known_list;
  gboolean busy;
  GStrv others; /* the rest of a comma list at the last "connect" */
};

G_DEFINE_FINAL_TYPE (CgConnectView, cg_connect_view, GTK_TYPE_WIDGET)

enum
{
  SIGNAL_CONNECT,
  SIGNAL_ENROLL,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

/* The form's host and port, a "HOST:PORT" in the host field winning; FALSE
 * (focus on the host) when there is none. */
static gboolean
read_address (CgConnectView *self, const char *host, guint *port, char **out)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (host));
  g_autofree char *parsed = NULL;
  guint parsed_port = 0;
  if (!*trimmed || self->busy)
    {
      gtk_widget_grab_focus (GTK_WIDGET (self->host_entry));
      return FALSE;
    }
  /* "gw1:8443" and "[::1]:8443" carry their own port, as the CLI takes
   * them; a bare IPv6 literal keeps the port field's. */
  if (strchr (trimmed, ':') && cg_agent_address_parse (trimmed, &parsed, &parsed_port, NULL))
    {
      gboolean explicit_port = trimmed[0] == '[' ? strstr (trimmed, "]:") != NULL
                                                 : strchr (trimmed, ':') == strrchr (trimmed, ':');
      if (explicit_port)
        *port = parsed_port;
      g_free (trimmed);
      trimmed = g_steal_pointer (&parsed);
    }
  *out = g_steal_pointer (&trimmed);
  return TRUE;
}

/* A comma list: the first agent as read_address reads it, the others
 * (each HOST[:PORT], the port field's when it has none) into @others
 * (transfer full; NULL for one agent).  FALSE (focus on the host) when a
 * member is not an address. */
static gboolean
read_list (CgConnectView *self, const char *text, guint *port, char **first, GStrv *others)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  *others = NULL;
  if (!parts[0] || !read_address (self, parts[0], port, first))
    return FALSE;
  if (!parts[1])
    return TRUE;
  g_autoptr (GStrvBuilder) list = g_strv_builder_new ();
  for (char **p = parts + 1; *p; p++)
    {
      g_autofree char *host = NULL;
      guint member_port = 0;
      g_strstrip (*p);
      gboolean has_port = (*p)[0] == '[' ? strstr (*p, "]:") != NULL : strchr (*p, ':') != NULL;
      if (!cg_agent_address_parse (*p, &host, &member_port, NULL))
        {
          g_clear_pointer (first, g_free);
          gtk_widget_grab_focus (GTK_WIDGET (self->host_entry));
          return FALSE;
        }
      guint spin = (guint) gtk_spin_button_get_value_as_int (self->port_spin);
      g_autofree char *address = cg_agent_address_format (host, has_port ? member_port : spin);
      g_strv_builder_add (list, address);
    }
  *others = g_strv_builder_end (list);
  return TRUE;
}

const char *const *
cg_connect_view_get_others (CgConnectView *self)
{
  return (const char *const *) self->others;
}

static void
enroll_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CgConnectView *self = CG_CONNECT_VIEW (widget);
  guint port = (guint)gtk_spin_button_get_value_as_int (self->port_spin);
  g_autofree char *host = NULL;
  const char *code = gtk_editable_get_text (GTK_EDITABLE (self->code_entry));
  if (!read_address (self, gtk_editable_get_text (GTK_EDITABLE (self->host_entry)), &port, &host))
    return;
  if (!*code)
    {
      gtk_widget_grab_focus (GTK_WIDGET (self->code_entry));
      return;
    }
  g_signal_emit (self, signals[SIGNAL_ENROLL], 0, host, port, code);
}

static void
emit_connect (CgConnectView *self, const char *host, guint port, const char *token)
{
  g_autofree char *address = NULL;
  GStrv others = NULL;
  if (!read_list (self, host, &port, &address, &others))
    return;
  g_strfreev (self->others);
  self->others = others;
  g_signal_emit (self, signals[SIGNAL_CONNECT], 0, address, port, token,
                 gtk_check_button_get_active (self->remember_check));
}

static void
connect_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CgConnectView *self = CG_CONNECT_VIEW (widget);
  emit_connect (self, gtk_editable_get_text (GTK_EDITABLE (self->host_entry)),
                (guint)gtk_spin_button_get_value_as_int (self->port_spin),
                gtk_editable_get_text (GTK_EDITABLE (self->token_entry)));
}

static void
known_row_activated_cb (CgConnectView *self, GtkListBoxRow *row)
{
  const char *address = g_object_get_data (G_OBJECT (row), "cg-address");
  g_autofree char *host = NULL;
  guint port = 0;
  if (!address || !cg_agent_address_parse (address, &host, &port, NULL))
    return;
  gtk_editable_set_text (GTK_EDITABLE (self->host_entry), host);
  gtk_spin_button_set_value (self->port_spin, port);
  /* One click reconnects: the token comes from the keyring. */
  emit_connect (self, host, port, "");
}

/* Alt+K lands on the first known agent: a list box takes no focus itself. */
static gboolean
known_list_mnemonic_activate_cb (GtkWidget *list, gboolean group_cycling, gpointer user_data)
{
  for (GtkWidget *child = gtk_widget_get_first_child (list); child;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_LIST_BOX_ROW (child))
      return gtk_widget_grab_focus (child);
  return FALSE;
}

static gboolean
port_activate_cb (GtkWidget *widget, GVariant *args, gpointer user_data)
{
  CgConnectView *self = CG_CONNECT_VIEW (user_data);
  /* GTK 4.8's spin button has no activates-default: Enter there connects
   * too, with the value as typed. */
  gtk_spin_button_update (self->port_spin);
  gtk_widget_activate_action (GTK_WIDGET (self), "connect-view.connect", NULL);
  return TRUE;
}

static void
host_changed_cb (CgConnectView *self)
{
  const char *host = gtk_editable_get_text (GTK_EDITABLE (self->host_entry));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "connect-view.connect",
                                 !self->busy && host && *host);
}

void
cg_connect_view_set_busy (CgConnectView *self, gboolean busy)
{
  self->busy = busy;
  if (busy)
    gtk_spinner_start (self->spinner);
  else
    gtk_spinner_stop (self->spinner);
  gtk_widget_set_sensitive (GTK_WIDGET (self->known_list), !busy);
  gtk_accessible_update_state (GTK_ACCESSIBLE (self->spinner), GTK_ACCESSIBLE_STATE_BUSY, busy, -1);
  host_changed_cb (self);
}

void
cg_connect_view_clear_token (CgConnectView *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->token_entry), "");
  gtk_editable_set_text (GTK_EDITABLE (self->code_entry), "");
}

void
cg_connect_view_focus (CgConnectView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  if (GTK_IS_WINDOW (root))
    gtk_window_set_default_widget (GTK_WINDOW (root), GTK_WIDGET (self->connect_button));
  gtk_widget_grab_focus (GTK_WIDGET (self->host_entry));
}

void
cg_connect_view_set_known_agents (CgConnectView *self, GPtrArray *agents)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->known_list)), *next; child;
       child = next)
    {
      /* The placeholder is a child too: only rows go. */
      next = gtk_widget_get_next_sibling (child);
      if (GTK_IS_LIST_BOX_ROW (child))
        gtk_list_box_remove (self->known_list, child);
    }

  for (guint i = 0; agents && i < agents->len; i++)
    {
      const CgKnownAgent *agent = g_ptr_array_index (agents, i);
      const char *address = agent->address;
      GtkWidget *row = gtk_list_box_row_new ();
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
      GtkWidget *title = gtk_label_new (address);
      GtkWidget *pin = gtk_label_new (agent->pin);

      gtk_widget_set_margin_top (box, 8);
      gtk_widget_set_margin_bottom (box, 8);
      gtk_widget_set_margin_start (box, 12);
      gtk_widget_set_margin_end (box, 12);
      gtk_label_set_xalign (GTK_LABEL (title), 0);
      gtk_label_set_xalign (GTK_LABEL (pin), 0);
      gtk_label_set_ellipsize (GTK_LABEL (pin), PANGO_ELLIPSIZE_MIDDLE);
      gtk_widget_add_css_class (pin, "dim-label");
      gtk_widget_add_css_class (pin, "cg-mono");
      gtk_box_append (GTK_BOX (box), title);
      gtk_box_append (GTK_BOX (box), pin);
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);

      g_autofree char *a11y = g_strdup_printf (_ ("Reconnect to %s"), address);
      gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y,
                                      -1);
      gtk_widget_set_tooltip_text (row, a11y);
      g_object_set_data_full (G_OBJECT (row), "cg-address", g_strdup (address), g_free);
      gtk_list_box_append (self->known_list, row);
    }
}

static void
cg_connect_view_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), CG_TYPE_CONNECT_VIEW);
  g_clear_pointer (&CG_CONNECT_VIEW (object)->others, g_strfreev);
  G_OBJECT_CLASS (cg_connect_view_parent_class)->dispose (object);
}

static void
cg_connect_view_class_init (CgConnectViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cg_connect_view_dispose;

  signals[SIGNAL_CONNECT]
      = g_signal_new ("connect", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 4, G_TYPE_STRING, G_TYPE_UINT, G_TYPE_STRING, G_TYPE_BOOLEAN);
  /* host, port, the one-time enrollment code. */
  signals[SIGNAL_ENROLL]
      = g_signal_new ("enroll", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_UINT, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/credgate/Manager/cg-connect-view.ui");
  gtk_widget_class_bind_template_child (widget_class, CgConnectView, host_entry);
  gtk_widget_class_bind_template_child (widget_class, CgConnectView, port_spin);
  gtk_widget_class_bind_template_child (widget_class, CgConnectView, token_entry);
  gtk_widget_class_bind_template_child (widget_class, CgConnectView, remember_check);
  gtk_widget_class_bind_template_child (widget_class, CgConnectView, code_entry);
  gtk_widget_class_bind_template_child (widget_class, CgConnectView, spinner);
  gtk_widget_class_bind_template_child (widget_class, CgConnectView, connect_button);
  gtk_widget_class_bind_template_child (widget_class, CgConnectView, known_list);
  gtk_widget_class_bind_template_callback (widget_class, known_row_activated_cb);
  gtk_widget_class_install_action (widget_class, "connect-view.connect", NULL, connect_action_cb);
  gtk_widget_class_install_action (widget_class, "connect-view.enroll", NULL, enroll_action_cb);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
cg_connect_view_init (CgConnectView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_swapped (self->host_entry, "changed", G_CALLBACK (host_changed_cb), self);

  g_signal_connect (self->known_list, "mnemonic-activate",
                    G_CALLBACK (known_list_mnemonic_activate_cb), self);

  GtkEventController *shortcuts = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_add_shortcut (
      GTK_SHORTCUT_CONTROLLER (shortcuts),
      gtk_shortcut_new (gtk_alternative_trigger_new (gtk_keyval_trigger_new (GDK_KEY_Return, 0),
                                                     gtk_keyval_trigger_new (GDK_KEY_KP_Enter, 0)),
                        gtk_callback_action_new (port_activate_cb, self, NULL)));
  gtk_widget_add_controller (GTK_WIDGET (self->port_spin), shortcuts);
  host_changed_cb (self);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->spinner), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Connecting"), -1);
}
