/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gui/cg-window.h"

#include <glib/gi18n.h>
#include <string.h>

#include "common/cg-error.h"
#include "gui/cg-cert-dialog.h"
#include "gui/cg-connect-view.h"
#include "gui/cg-connection.h"
#include "gui/cg-credentials-view.h"
#include "gui/cg-linked-view.h"
#include "gui/cg-manager-client.h"
#include "gui/cg-token-store.h"
#include "protocol/cg-client.h"
#include "protocol/cg-known-agents.h"

struct _CgWindow
{
  GtkApplicationWindow parent_instance;

  GtkWidget *disconnect_button;
  GtkStack *title_stack;
  GtkLabel *status_label;
  GtkRevealer *banner_revealer;
  GtkLabel *banner_label;
  GtkStack *page_stack;
  GtkStack *main_stack;
  CgConnectView *connect_view;
  CgCredentialsView *credentials_view;
  CgLinkedView *linked_view;

  CgManagerClient *client;
  CgConnection *connection;
  GCancellable *cancellable; /* the connection attempt in flight */
  CgCertInfo *probe;
  CgKnownAgents *known;
  char *pending_token; /* wiped as soon as the client and keyring have it */
  gboolean remember_token;
  char *pending_code; /* a one-time enrollment code, until it is used */
  GStrv others;       /* the rest of the host field's list ("host:port") */
  guint next_other;   /* the next of them to try if this attempt cannot reach its agent */
  guint next_token_lookup; /* the next of them whose kept token to look for */
};

G_DEFINE_FINAL_TYPE (CgWindow, cg_window, GTK_TYPE_APPLICATION_WINDOW)

static void
clear_token (CgWindow *self)
{
  if (self->pending_token)
    cg_token_store_free_token (g_steal_pointer (&self->pending_token));
  cg_wipe_str (g_steal_pointer (&self->pending_code));
}

void
cg_window_show_error (CgWindow *self, const char *message)
{
  gtk_label_set_text (self->banner_label, message);
  gtk_revealer_set_reveal_child (self->banner_revealer, TRUE);
  /* Screen readers announce the alert; GTK 4.8 has no announce call, so the
   * banner's role (alert) and a label change carry it. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->banner_label),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, message, -1);
}

static void
hide_banner (CgWindow *self)
{
  gtk_revealer_set_reveal_child (self->banner_revealer, FALSE);
}

static void
banner_close_clicked_cb (CgWindow *self)
{
  hide_banner (self);
}

static void
view_show_error_cb (CgWindow *self, const char *message)
{
  cg_window_show_error (self, message);
}

/* The known-agents file is small and local: read it at once.  One that
 * cannot be read leaves self->known NULL (never an empty list: that would
 * offer to trust an agent whose pin the file holds); the error goes to
 * @error when given, else to the window. */
static void
reload_known_agents_full (CgWindow *self, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *path = cg_known_agents_default_path ();
  CgKnownAgents *known = cg_known_agents_load (path, &local);
  g_autoptr (GPtrArray) agents = g_ptr_array_new ();

  g_clear_pointer (&self->known, cg_known_agents_free);
  if (!known)
    {
      if (error)
        g_propagate_error (error, g_steal_pointer (&local));
      else
        cg_window_show_error (self, local->message);
      return;
    }
  self->known = known;

  /* cg-known-agents.h has no iterator; its documented text form has the
   * address first on each line. */
  g_autofree char *text = cg_known_agents_to_string (known);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      g_auto (GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " \t", 2);
      const CgKnownAgent *agent
          = fields[0] && fields[0][0] != '#' ? cg_known_agents_lookup (known, fields[0]) : NULL;
      if (agent)
        g_ptr_array_add (agents, (gpointer)agent);
    }
  cg_connect_view_set_known_agents (self->connect_view, agents);
}

static void
reload_known_agents (CgWindow *self)
{
  reload_known_agents_full (self, NULL);
}

static void
show_connect_page (CgWindow *self)
{
  gtk_stack_set_visible_child_name (self->page_stack, "connect");
  gtk_stack_set_visible_child_name (self->title_stack, "title");
  gtk_widget_set_visible (self->disconnect_button, FALSE);
  gtk_label_set_text (self->status_label, "");
  cg_connect_view_set_busy (self->connect_view, FALSE);
  cg_connect_view_focus (self->connect_view);
}

/* The attempt ended without a connection: say why (if there is a why). */
static void start_probe (CgWindow *self);

/* The attempt's agent could not be reached or answered 503: the next agent
 * of the host field's list gets the same attempt (token or certificate
 * kept; its own trust check).  FALSE when there is none left. */
static gboolean
try_next_agent (CgWindow *self, const GError *error)
{
  g_autofree char *host = NULL;
  guint port;
  if (!error || !cg_client_error_fails_over (error) || !self->others
      || !self->others[self->next_other]
      || !cg_agent_address_parse (self->others[self->next_other], &host, &port, NULL))
    return FALSE;
  g_debug ("agent %s:%u: %s; trying %s", cg_connection_get_host (self->connection),
           cg_connection_get_port (self->connection), error->message,
           self->others[self->next_other]);
  self->next_other++;
  cg_connection_fail (self->connection, error);
  if (!cg_connection_start (self->connection, host, port))
    return FALSE;
  start_probe (self);
  return TRUE;
}

static void
attempt_failed (CgWindow *self, const GError *error)
{
  if (try_next_agent (self, error))
    return;
  if (error && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      cg_connection_fail (self->connection, error);
      g_debug ("connection %s: %s",
               cg_connection_state_name (cg_connection_get_state (self->connection)),
               error->message);
      cg_window_show_error (self, cg_connection_get_message (self->connection));
    }
  else
    cg_connection_cancel (self->connection);
  clear_token (self);
  cg_connect_view_set_busy (self->connect_view, FALSE);
}

static void
token_saved_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CgWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  if (!cg_token_store_save_finish (result, &error))
    {
      g_autofree char *message = g_strdup_printf (
          _ ("Connected, but the token could not be kept in your keyring: %s"), error->message);
      cg_window_show_error (self, message);
    }
}

/* After connecting to @address: the other agents calls may fail over to,
 * in order: the rest of the host field's list, then the nodes the agent's
 * cluster lists; each only with a pin known_agents holds for it (trusted
 * before, or learned through a trusted node). */
static void
update_fallbacks (CgWindow *self, const char *address, json_t *info)
{
  g_autoptr (GPtrArray) candidates = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; self->others && self->others[i]; i++)
    g_ptr_array_add (candidates, g_strdup (self->others[i]));
  gsize i;
  json_t *node;
  json_array_foreach (json_object_get (json_object_get (info, "cluster"), "nodes"), i, node)
    {
      g_autofree char *host = NULL;
      guint port;
      if (cg_agent_address_parse (json_string_value (json_object_get (node, "address")), &host,
                                  &port, NULL))
        g_ptr_array_add (candidates, cg_agent_address_format (host, port));
    }
  g_autoptr (GStrvBuilder) addresses = g_strv_builder_new ();
  g_autoptr (GStrvBuilder) pins = g_strv_builder_new ();
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_add (seen, (gpointer) address);
  for (guint j = 0; j < candidates->len; j++)
    {
      const char *candidate = candidates->pdata[j];
      const CgKnownAgent *known
          = self->known ? cg_known_agents_lookup (self->known, candidate) : NULL;
      if (!known || !g_hash_table_add (seen, (gpointer) candidate))
        continue;
      g_strv_builder_add (addresses, candidate);
      g_strv_builder_add (pins, known->pin);
    }
  g_auto (GStrv) a = g_strv_builder_end (addresses);
  g_auto (GStrv) p = g_strv_builder_end (pins);
  cg_manager_client_set_fallbacks (self->client, (const char *const *) a,
                                   (const char *const *) p);
}

/* The connected agent lists its cluster's other nodes: record the ones
 * known_agents lacks, "via" it (the list came over the pinned connection). */
static void
learn_cluster (CgWindow *self, const char *address, json_t *info)
{
  if (!self->known)
    return;
  g_autoptr (GPtrArray) added = cg_known_agents_learn_cluster (self->known, address, info);
  g_autoptr (GError) error = NULL;
  if (added->len == 0)
    return;
  if (!cg_known_agents_save (self->known, &error))
    cg_window_show_error (self, error->message);
  reload_known_agents (self);
}

/* A call was answered by another node of the cluster than the last one. */
static void
client_answered_cb (CgWindow *self, const char *address)
{
  if (cg_connection_get_state (self->connection) != CG_CONNECTION_CONNECTED)
    return;
  g_autofree char *status = g_strdup_printf (_ ("Connected to %s"), address);
  gtk_label_set_text (self->status_label, status);
}

static void
auth_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CgWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  json_auto_t *reply = cg_manager_client_call_finish (self->client, result, &error);
  const char *host = cg_connection_get_host (self->connection);
  guint port = cg_connection_get_port (self->connection);

  if (cg_connection_get_state (self->connection) != CG_CONNECTION_AUTHENTICATING)
    return; /* cancelled meanwhile */
  if (!reply)
    {
      attempt_failed (self, error);
      return;
    }

  /* /v1/info came over the pinned connection, so the staged pin in it is
   * the agent's own word: remember it for the planned swap. */
  const char *pin = cg_connection_get_pin (self->connection);
  const char *next_pin
      = json_string_value (json_object_get (json_object_get (reply, "info"), "nextTlsPin"));
  g_autofree char *address = cg_agent_address_format (host, port);
  const CgKnownAgent *known = self->known ? cg_known_agents_lookup (self->known, address) : NULL;
  if (self->known
      && (cg_connection_get_pin_needs_saving (self->connection) || !known
          || g_strcmp0 (known->pin, pin) != 0 || g_strcmp0 (known->next_pin, next_pin) != 0))
    {
      g_autoptr (GError) save_error = NULL;
      cg_known_agents_set (self->known, address, pin, next_pin);
      if (!cg_known_agents_save (self->known, &save_error))
        cg_window_show_error (self, save_error->message);
      reload_known_agents (self);
    }
  learn_cluster (self, address, json_object_get (reply, "info"));
  update_fallbacks (self, address, json_object_get (reply, "info"));
  if (self->remember_token && self->pending_token && *self->pending_token)
    cg_token_store_save_async (host, port, self->pending_token, NULL, token_saved_cb,
                               g_object_ref (self));
  clear_token (self);
  cg_connect_view_clear_token (self->connect_view);
  cg_connection_auth_done (self->connection, NULL);

  g_autofree char *status = g_strdup_printf (_ ("Connected to %s"), address);
  gtk_label_set_text (self->status_label, status);
  cg_connect_view_set_busy (self->connect_view, FALSE);
  cg_credentials_view_set_list (self->credentials_view, json_object_get (reply, "credentials"));
  gtk_widget_set_visible (self->disconnect_button, TRUE);
  gtk_stack_set_visible_child_name (self->title_stack, "switcher");
  gtk_stack_set_visible_child_name (self->main_stack, "credentials");
  gtk_stack_set_visible_child_name (self->page_stack, "main");
  gtk_window_set_default_widget (GTK_WINDOW (self), NULL);
  cg_credentials_view_focus_search (self->credentials_view);
}

static void
identity_saved_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CgWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  if (!cg_token_store_save_identity_finish (result, &error))
    {
      g_autofree char *message = g_strdup_printf (
          _ ("Enrolled, but the client certificate could not be kept in your keyring: %s"),
          error->message);
      cg_window_show_error (self, message);
    }
}

/* The agent certified this device's new key: keep both in the keyring and
 * connect with the certificate, no token. */
static void
enroll_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CgWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *cert = NULL;
  g_autoptr (CgBuf) key = NULL;
  json_auto_t *reply
      = cg_manager_client_enroll_finish (self->client, result, &cert, &key, &error);

  if (cg_connection_get_state (self->connection) != CG_CONNECTION_AUTHENTICATING)
    return; /* cancelled meanwhile */
  if (!reply)
    {
      attempt_failed (self, error);
      return;
    }
  cg_token_store_save_identity_async (cg_connection_get_host (self->connection),
                                      cg_connection_get_port (self->connection), cert, key, NULL,
                                      identity_saved_cb, g_object_ref (self));
  cg_manager_client_set_identity (self->client, cert, key);
  cg_manager_client_set_token (self->client, NULL);
  clear_token (self);
  cg_manager_client_connect_async (self->client, self->cancellable, auth_done_cb,
                                   g_object_ref (self));
}

static void
authenticate (CgWindow *self)
{
  cg_manager_client_set_agent (self->client, cg_connection_get_host (self->connection),
                               cg_connection_get_port (self->connection),
                               cg_connection_get_pin (self->connection));
  if (self->pending_code)
    {
      /* Over the connection just pinned: the code, a CSR, the certificate. */
      cg_manager_client_enroll_async (self->client, self->pending_code, self->cancellable,
                                      enroll_done_cb, g_object_ref (self));
      return;
    }
  if (!cg_manager_client_has_identity (self->client))
    cg_manager_client_set_token (self->client, self->pending_token);
  cg_manager_client_connect_async (self->client, self->cancellable, auth_done_cb,
                                   g_object_ref (self));
}

static void
cert_response_cb (CgWindow *self, gboolean trust)
{
  if (trust && cg_connection_trust (self->connection))
    authenticate (self);
  else
    {
      cg_connection_cancel (self->connection);
      clear_token (self);
      cg_connect_view_set_busy (self->connect_view, FALSE);
      cg_connect_view_focus (self->connect_view);
    }
}

static void
probe_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CgWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  CgCertInfo *probe = cg_manager_client_probe_finish (self->client, result, &error);

  if (cg_connection_get_state (self->connection) != CG_CONNECTION_PROBING)
    {
      cg_cert_info_free (probe);
      return;
    }
  if (!probe)
    {
      attempt_failed (self, error);
      return;
    }
  g_clear_pointer (&self->probe, cg_cert_info_free);
  self->probe = probe;

  const char *host = cg_connection_get_host (self->connection);
  guint port = cg_connection_get_port (self->connection);
  g_autoptr (GError) known_error = NULL;
  reload_known_agents_full (self, &known_error);
  g_autofree char *known_address = cg_agent_address_format (host, port);
  cg_connection_probe_done_known (self->connection, probe->pin, self->known, known_error);

  switch (cg_connection_get_state (self->connection))
    {
    case CG_CONNECTION_AWAITING_TRUST:
    case CG_CONNECTION_KEY_CHANGED:
      {
        CgCertDialog *dialog = cg_cert_dialog_new (GTK_WINDOW (self), known_address, probe,
                                                   cg_connection_get_known_pin (self->connection));
        g_signal_connect_object (dialog, "response", G_CALLBACK (cert_response_cb), self,
                                 G_CONNECT_SWAPPED);
        if (cg_connection_get_state (self->connection) == CG_CONNECTION_KEY_CHANGED)
          cg_window_show_error (self, _ ("The agent’s certificate has changed since you last "
                                         "trusted it. Nothing was sent."));
        gtk_window_present (GTK_WINDOW (dialog));
        break;
      }
    case CG_CONNECTION_AUTHENTICATING:
      authenticate (self);
      break;
    case CG_CONNECTION_FAILED:
      /* The known-agents file could not be read: said, nothing sent. */
      cg_window_show_error (self, cg_connection_get_message (self->connection));
      clear_token (self);
      cg_connect_view_set_busy (self->connect_view, FALSE);
      break;
    default:
      attempt_failed (self, NULL);
      break;
    }
}

static void
start_probe (CgWindow *self)
{
  cg_manager_client_probe_async (self->client, cg_connection_get_host (self->connection),
                                 cg_connection_get_port (self->connection), self->cancellable,
                                 probe_done_cb, g_object_ref (self));
}

static void
token_lookup_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CgWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  char *token = cg_token_store_lookup_finish (result, &error);

  if (cg_connection_get_state (self->connection) != CG_CONNECTION_PROBING)
    {
      if (token)
        cg_token_store_free_token (token);
      return;
    }
  /* A cluster's nodes share their tokens: the one kept for another node of
   * the list does. */
  if (!token && !error && self->others && self->others[self->next_token_lookup])
    {
      g_autofree char *host = NULL;
      guint port;
      if (cg_agent_address_parse (self->others[self->next_token_lookup++], &host, &port, NULL))
        {
          cg_token_store_lookup_async (host, port, self->cancellable, token_lookup_cb,
                                       g_object_ref (self));
          return;
        }
    }
  if (!token)
    {
      g_autofree char *message = NULL;
      if (error)
        message = g_strdup_printf (_ ("Your keyring could not be read: %s"), error->message);
      else
        message = g_strdup_printf (_ ("No access token is kept for %s:%u. Enter the token the "
                                      "agent’s administrator gave you."),
                                   cg_connection_get_host (self->connection),
                                   cg_connection_get_port (self->connection));
      cg_connection_cancel (self->connection);
      cg_window_show_error (self, message);
      cg_connect_view_set_busy (self->connect_view, FALSE);
      return;
    }
  clear_token (self);
  self->pending_token = token;
  start_probe (self);
}

/* No token typed: this device's client certificate for the agent if the
 * keyring has one, else the token it keeps. */
static void
identity_lookup_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CgWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *cert = NULL;
  g_autoptr (CgBuf) key = NULL;
  gboolean found = cg_token_store_lookup_identity_finish (result, &cert, &key, &error);

  if (cg_connection_get_state (self->connection) != CG_CONNECTION_PROBING)
    return;
  if (found)
    {
      cg_manager_client_set_identity (self->client, cert, key);
      start_probe (self);
      return;
    }
  if (error)
    g_debug ("client certificate lookup: %s", error->message);
  cg_token_store_lookup_async (cg_connection_get_host (self->connection),
                               cg_connection_get_port (self->connection), self->cancellable,
                               token_lookup_cb, g_object_ref (self));
}

/* Start an attempt at host:port: TRUE when the connection took it. */
static gboolean
begin_attempt (CgWindow *self, const char *host, guint port)
{
  if (!cg_connection_start (self->connection, host, port))
    return FALSE;
  hide_banner (self);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  cg_connect_view_set_busy (self->connect_view, TRUE);
  clear_token (self);
  /* A typed token or code says how to authenticate this time. */
  cg_manager_client_set_identity (self->client, NULL, NULL);
  cg_manager_client_set_token (self->client, NULL);
  cg_manager_client_set_fallbacks (self->client, NULL, NULL);
  g_clear_pointer (&self->others, g_strfreev);
  self->next_other = 0;
  self->next_token_lookup = 0;
  return TRUE;
}

static void
connect_view_connect_cb (CgWindow *self, const char *host, guint port, const char *token,
                         gboolean remember)
{
  if (!begin_attempt (self, host, port))
    return;
  self->others = g_strdupv ((GStrv) cg_connect_view_get_others (self->connect_view));
  self->remember_token = remember && token && *token;

  if (token && *token)
    {
      /* Kept in secure memory like the keyring's own copies. */
      self->pending_token = g_strdup (token);
      start_probe (self);
    }
  else
    cg_token_store_lookup_identity_async (host, port, self->cancellable, identity_lookup_cb,
                                          g_object_ref (self));
}

static void
connect_view_enroll_cb (CgWindow *self, const char *host, guint port, const char *code)
{
  if (!begin_attempt (self, host, port))
    return;
  self->remember_token = FALSE;
  self->pending_code = g_strdup (code);
  start_probe (self);
}

static void
show_page_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CgWindow *self = CG_WINDOW (widget);
  if (cg_connection_get_state (self->connection) == CG_CONNECTION_CONNECTED)
    gtk_stack_set_visible_child_name (self->main_stack, g_variant_get_string (parameter, NULL));
}

static void
disconnect_action_cb (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CgWindow *self = CG_WINDOW (widget);
  g_cancellable_cancel (self->cancellable);
  cg_connection_disconnect (self->connection);
  cg_manager_client_set_token (self->client, NULL);
  cg_manager_client_set_identity (self->client, NULL, NULL);
  cg_credentials_view_clear (self->credentials_view);
  hide_banner (self);
  show_connect_page (self);
}

CgWindow *
cg_window_new (GtkApplication *app)
{
  return g_object_new (CG_TYPE_WINDOW, "application", app, NULL);
}

static void
cg_window_dispose (GObject *object)
{
  CgWindow *self = CG_WINDOW (object);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  g_clear_pointer (&self->connection, cg_connection_free);
  g_clear_pointer (&self->probe, cg_cert_info_free);
  g_clear_pointer (&self->known, cg_known_agents_free);
  g_clear_pointer (&self->others, g_strfreev);
  clear_token (self);
  gtk_widget_dispose_template (GTK_WIDGET (object), CG_TYPE_WINDOW);
  G_OBJECT_CLASS (cg_window_parent_class)->dispose (object);
}

static void
cg_window_class_init (CgWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cg_window_dispose;

  g_type_ensure (CG_TYPE_CONNECT_VIEW);
  g_type_ensure (CG_TYPE_CREDENTIALS_VIEW);
  g_type_ensure (CG_TYPE_LINKED_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/credgate/Manager/cg-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CgWindow, disconnect_button);
  gtk_widget_class_bind_template_child (widget_class, CgWindow, title_stack);
  gtk_widget_class_bind_template_child (widget_class, CgWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, CgWindow, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, CgWindow, banner_label);
  gtk_widget_class_bind_template_child (widget_class, CgWindow, page_stack);
  gtk_widget_class_bind_template_child (widget_class, CgWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, CgWindow, connect_view);
  gtk_widget_class_bind_template_child (widget_class, CgWindow, credentials_view);
  gtk_widget_class_bind_template_child (widget_class, CgWindow, linked_view);
  gtk_widget_class_bind_template_callback (widget_class, banner_close_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, view_show_error_cb);
  gtk_widget_class_bind_template_callback (widget_class, connect_view_connect_cb);
  gtk_widget_class_bind_template_callback (widget_class, connect_view_enroll_cb);
  gtk_widget_class_install_action (widget_class, "manager.disconnect", NULL, disconnect_action_cb);
  gtk_widget_class_install_action (widget_class, "manager.show-page", "s", show_page_action_cb);
  /* Alt+1 / Alt+2 switch pages, as tabs do in GNOME applications. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_ALT_MASK, "manager.show-page",
                                       "s", "credentials");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_2, GDK_ALT_MASK, "manager.show-page",
                                       "s", "linked");
}

static void
cg_window_init (CgWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->client = cg_manager_client_new ();
  g_signal_connect_object (self->client, "answered", G_CALLBACK (client_answered_cb), self,
                           G_CONNECT_SWAPPED);
  self->connection = cg_connection_new ();
  self->cancellable = g_cancellable_new ();
  cg_credentials_view_set_client (self->credentials_view, self->client);
  cg_linked_view_set_client (self->linked_view, self->client);
  reload_known_agents (self);
  show_connect_page (self);
}
