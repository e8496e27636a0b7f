/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The linked-service page (gui/cg-linked-view.c) in a real GTK window on a
 * real display (tests/test-gui-linked.sh starts Xvfb and an agent): the
 * preview refuses what the transformer refuses, and after "Encrypt" the
 * plaintext is gone from the input and from its undo history. */
#include "config.h"

#include <gtk/gtk.h>
#include <stdlib.h>
#include <string.h>

#include "gui/cg-linked-view.h"
#include "gui/cg-manager-client.h"

#define CANARY "canary-gui-linked"

typedef struct
{
  GtkWindow *window;
  CgLinkedView *view;
  GtkTextView *input;
  GtkTextView *output;
  GtkLabel *placeholder;
  GtkListBox *removed;
  GtkWidget *encrypt_button;
  GPtrArray *errors;
} Page;

/* Depth-first, in template order: the input view comes before the output
 * view, the list's placeholder is its only label child. */
static void
collect (GtkWidget *w, Page *p)
{
  if (GTK_IS_TEXT_VIEW (w))
    {
      if (!p->input)
        p->input = GTK_TEXT_VIEW (w);
      else if (!p->output)
        p->output = GTK_TEXT_VIEW (w);
    }
  if (GTK_IS_LIST_BOX (w))
    p->removed = GTK_LIST_BOX (w);
  if (GTK_IS_BUTTON (w)
      && g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (w)), "linked.encrypt") == 0)
    p->encrypt_button = w;
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
    collect (c, p);
}

static void
show_error_cb (CgLinkedView *view, const char *message, Page *p)
{
  g_ptr_array_add (p->errors, g_strdup (message));
}

static void
page_open (Page *p)
{
  memset (p, 0, sizeof *p);
  p->errors = g_ptr_array_new_with_free_func (g_free);
  p->window = GTK_WINDOW (gtk_window_new ());
  p->view = g_object_new (CG_TYPE_LINKED_VIEW, NULL);
  g_signal_connect (p->view, "show-error", G_CALLBACK (show_error_cb), p);
  gtk_window_set_child (p->window, GTK_WIDGET (p->view));
  gtk_window_present (p->window);
  collect (GTK_WIDGET (p->view), p);
  g_assert_nonnull (p->input);
  g_assert_nonnull (p->output);
  g_assert_nonnull (p->removed);
  g_assert_nonnull (p->encrypt_button);
  for (GtkWidget *c = gtk_widget_get_first_child (GTK_WIDGET (p->removed)); c;
       c = gtk_widget_get_next_sibling (c))
    if (GTK_IS_LABEL (c))
      p->placeholder = GTK_LABEL (c);
  g_assert_nonnull (p->placeholder);
}

static void
page_close (Page *p)
{
  gtk_window_destroy (p->window);
  g_ptr_array_unref (p->errors);
}

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Run the main loop for @ms (the preview waits 250 ms after a change). */
static void
spin (guint ms)
{
  gboolean done = FALSE;
  g_timeout_add (ms, timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static char *
text_of (GtkTextView *view)
{
  GtkTextBuffer *b = gtk_text_view_get_buffer (view);
  GtkTextIter s, e;
  gtk_text_buffer_get_bounds (b, &s, &e);
  return gtk_text_buffer_get_text (b, &s, &e, FALSE);
}

/* As a user would: typed (pasted) into the view, so it is undoable. */
static void
type_into (GtkTextView *view, const char *text)
{
  GtkTextBuffer *b = gtk_text_view_get_buffer (view);
  gtk_text_buffer_begin_user_action (b);
  gtk_text_buffer_insert_interactive_at_cursor (b, text, -1, TRUE);
  gtk_text_buffer_end_user_action (b);
}

static guint
n_rows (GtkListBox *list)
{
  guint n = 0;
  while (gtk_list_box_get_row_at_index (list, (int) n))
    n++;
  return n;
}

static void
test_preview_refuses_secure_string_in_array (void)
{
  Page p;
  page_open (&p);

  /* Good: the fields that will go are listed, Encrypt is on. */
  type_into (p.input, "{\"name\":\"ok\",\"properties\":{\"type\":\"X\",\"typeProperties\":{"
                      "\"password\":\"p\",\"k\":{\"type\":\"SecureString\",\"value\":\"v\"}}}}");
  spin (400);
  g_assert_cmpuint (n_rows (p.removed), ==, 2);
  g_assert_true (gtk_widget_get_sensitive (p.encrypt_button));

  /* A SecureString directly in an array: what the CLI refuses, the
   * preview refuses with the same path, lists nothing, Encrypt off. */
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (p.input), "", 0);
  type_into (p.input, "{\"name\":\"arr\",\"properties\":{\"type\":\"X\",\"typeProperties\":{"
                      "\"password\":\"p\",\"replicas\":[\"a\",{\"type\":\"SecureString\","
                      "\"value\":\"" CANARY "\"}]}}}");
  spin (400);
  const char *said = gtk_label_get_text (p.placeholder);
  if (!strstr (said, "properties.typeProperties.replicas.1"))
    g_error ("the preview says \"%s\"", said);
  g_assert_null (strstr (said, CANARY));
  g_assert_cmpuint (n_rows (p.removed), ==, 0);
  g_assert_false (gtk_widget_get_sensitive (p.encrypt_button));
  page_close (&p);
}

static void
test_encrypt_clears_input (void)
{
  const char *port = g_getenv ("CG_TEST_AGENT_PORT");
  const char *pin = g_getenv ("CG_TEST_AGENT_PIN");
  const char *token_file = g_getenv ("CG_TEST_TOKEN_FILE");
  if (!port || !pin || !token_file)
    g_error ("run by tests/test-gui-linked.sh: it starts the agent this needs");
  g_autofree char *token = NULL;
  g_assert_true (g_file_get_contents (token_file, &token, NULL, NULL));
  g_strstrip (token);

  g_autoptr (CgManagerClient) client = cg_manager_client_new ();
  cg_manager_client_set_agent (client, "127.0.0.1", (guint) atoi (port), pin);
  cg_manager_client_set_token (client, token);

  Page p;
  page_open (&p);
  cg_linked_view_set_client (p.view, client);
  GtkTextBuffer *input = gtk_text_view_get_buffer (p.input);
  type_into (p.input, "{\"name\":\"gui-ls\",\"properties\":{\"type\":\"SqlServer\","
                      "\"typeProperties\":{\"server\":\"db\",\"password\":\"" CANARY "\"}}}");
  spin (400);
  g_assert_true (gtk_text_buffer_get_can_undo (input));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (p.view), "linked.encrypt", NULL));

  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *out = text_of (p.output);
      if (*out || p.errors->len)
        break;
      spin (100);
    }
  if (p.errors->len)
    g_error ("encrypt failed: %s", (char *) p.errors->pdata[0]);
  g_autofree char *out = text_of (p.output);
  g_assert_nonnull (strstr (out, "\"encryptedCredential\""));
  g_assert_null (strstr (out, CANARY));

  /* The plaintext is gone from the input and cannot be undone back. */
  g_autofree char *in = text_of (p.input);
  g_assert_cmpstr (in, ==, "");
  g_assert_false (gtk_text_buffer_get_can_undo (input));
  g_assert_false (gtk_text_buffer_get_can_redo (input));
  /* What Ctrl+Z does (the view must be editable again for it). */
  g_assert_true (gtk_text_view_get_editable (p.input));
  gtk_text_buffer_undo (input);
  g_autofree char *undone = text_of (p.input);
  g_assert_null (strstr (undone, CANARY));
  /* The result stays after the preview has run on the emptied input. */
  spin (400);
  g_autofree char *out2 = text_of (p.output);
  g_assert_cmpstr (out2, ==, out);
  g_assert_false (gtk_widget_get_sensitive (p.encrypt_button));
  page_close (&p);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  g_test_add_func ("/gui/linked/preview-refuses-secure-string-in-array",
                   test_preview_refuses_secure_string_in_array);
  g_test_add_func ("/gui/linked/encrypt-clears-input", test_encrypt_clears_input);
  return g_test_run ();
}
