/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gui/cg-manager-client.h"

#include <string.h>

#include "common/cg-secure.h"
#include "protocol/cg-client.h"
#include "protocol/cg-known-agents.h"

/* Every call is one typed call of protocol/'s CgClient (cg-client.h), made
 * in a GTask worker thread with a CgClient of its own (it is blocking and
 * one per thread), so the window never waits on the network.  Requests
 * after trust are pinned; the first-contact probe is cg_client_probe, whose
 * connection sends nothing and is never reused.  Arguments travel to the
 * thread as they are (jansson objects, wiped buffers), never as text. */

struct _CgManagerClient
{
  GObject parent_instance;
  GMutex lock; /* host, port, pin and token are read by worker threads */
  char *host;
  guint port;
  char *pin;
  CgBuf *token;
  char *cert_pem; /* client certificate and key, or NULL */
  CgBuf *key_pem;
  GStrv fallbacks;     /* "host:port" of the cluster's other nodes, in order */
  GStrv fallback_pins; /* their pins */
  char *answered;      /* main context only: who answered the last call */
};

enum
{
  SIGNAL_ANSWERED,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (CgManagerClient, cg_manager_client, G_TYPE_OBJECT)

static void
cg_manager_client_finalize (GObject *object)
{
  CgManagerClient *self = CG_MANAGER_CLIENT (object);
  g_free (self->host);
  g_free (self->pin);
  cg_buf_free (self->token);
  g_free (self->cert_pem);
  cg_buf_free (self->key_pem);
  g_strfreev (self->fallbacks);
  g_strfreev (self->fallback_pins);
  g_free (self->answered);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (cg_manager_client_parent_class)->finalize (object);
}

static void
cg_manager_client_class_init (CgManagerClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cg_manager_client_finalize;
  signals[SIGNAL_ANSWERED] = g_signal_new ("answered", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                           1, G_TYPE_STRING);
}

static void
cg_manager_client_init (CgManagerClient *self)
{
  g_mutex_init (&self->lock);
}

CgManagerClient *
cg_manager_client_new (void)
{
  return g_object_new (CG_TYPE_MANAGER_CLIENT, NULL);
}

void
cg_manager_client_set_agent (CgManagerClient *self, const char *host, guint port, const char *pin)
{
  g_mutex_lock (&self->lock);
  g_free (self->host);
  self->host = g_strdup (host);
  self->port = port;
  g_free (self->pin);
  self->pin = g_strdup (pin);
  g_mutex_unlock (&self->lock);
  g_clear_pointer (&self->answered, g_free);
}

void
cg_manager_client_set_token (CgManagerClient *self, const char *token)
{
  g_mutex_lock (&self->lock);
  cg_buf_free (self->token);
  self->token = token ? cg_buf_new_copy (token, strlen (token)) : NULL;
  g_mutex_unlock (&self->lock);
}

void
cg_manager_client_set_identity (CgManagerClient *self, const char *cert_pem,
                                const CgBuf *key_pem)
{
  g_mutex_lock (&self->lock);
  g_free (self->cert_pem);
  cg_buf_free (self->key_pem);
  self->cert_pem = cert_pem && key_pem ? g_strdup (cert_pem) : NULL;
  self->key_pem = cert_pem && key_pem ? cg_buf_new_copy (key_pem->data, key_pem->len) : NULL;
  g_mutex_unlock (&self->lock);
}

gboolean
cg_manager_client_has_identity (CgManagerClient *self)
{
  g_mutex_lock (&self->lock);
  gboolean has = self->cert_pem != NULL;
  g_mutex_unlock (&self->lock);
  return has;
}

void
cg_manager_client_set_fallbacks (CgManagerClient *self, const char *const *addresses,
                                 const char *const *pins)
{
  g_return_if_fail ((addresses ? g_strv_length ((GStrv) addresses) : 0)
                    == (pins ? g_strv_length ((GStrv) pins) : 0));
  g_mutex_lock (&self->lock);
  g_strfreev (self->fallbacks);
  g_strfreev (self->fallback_pins);
  self->fallbacks = g_strdupv ((GStrv) addresses);
  self->fallback_pins = g_strdupv ((GStrv) pins);
  g_mutex_unlock (&self->lock);
}

const char *
cg_manager_client_get_answered (CgManagerClient *self)
{
  return self->answered;
}

const char *
cg_manager_client_get_host (CgManagerClient *self)
{
  return self->host;
}

guint
cg_manager_client_get_port (CgManagerClient *self)
{
  return self->port;
}

/* Where a call may go: the agent, then its fallbacks (lock held). */
typedef struct
{
  char *host;
  guint port;
  char *pin;
} Target;

static void
target_free (gpointer p)
{
  Target *t = p;
  g_free (t->host);
  g_free (t->pin);
  g_free (t);
}

static GPtrArray *
targets_locked (CgManagerClient *self)
{
  GPtrArray *list = g_ptr_array_new_with_free_func (target_free);
  if (!self->host || !self->pin)
    return list;
  Target *t = g_new0 (Target, 1);
  t->host = g_strdup (self->host);
  t->port = self->port;
  t->pin = g_strdup (self->pin);
  g_ptr_array_add (list, t);
  for (guint i = 0; self->fallbacks && self->fallbacks[i]; i++)
    {
      t = g_new0 (Target, 1);
      if (!cg_agent_address_parse (self->fallbacks[i], &t->host, &t->port, NULL))
        {
          target_free (t);
          continue;
        }
      t->pin = g_strdup (self->fallback_pins[i]);
      g_ptr_array_add (list, t);
    }
  return list;
}

/* A pinned CgClient for @target with the token or certificate (lock
 * held), or NULL with an error. */
static CgClient *
make_client_locked (CgManagerClient *self, Target *target, GError **error)
{
  gboolean ok = TRUE;
  CgClient *client = cg_client_new (target->host, target->port);
  cg_client_set_pins (client, target->pin, NULL);
  if (self->cert_pem)
    ok = cg_client_set_client_cert_data (client, self->cert_pem, self->key_pem, error);
  else if (self->token)
    cg_client_set_token (client, (const char *) self->token->data);
  if (!ok)
    g_clear_pointer (&client, cg_client_free);
  return client;
}

/* ---- one task per call ---- */

typedef enum
{
  CALL_PROBE,
  CALL_CONNECT,
  CALL_ENROLL,
  CALL_LIST,
  CALL_GET,
  CALL_PUT,
  CALL_DELETE,
  CALL_ENCRYPT,
} CallKind;

typedef struct
{
  CallKind kind;
  char *host; /* probe */
  guint port;
  char *name;   /* get, put, delete */
  json_t *body; /* put: a copy of the caller's */
  CgBuf *value; /* encrypt: the plaintext, or enroll: the code; wiped */
  char *context;
  char *cert_pem; /* enroll's results */
  CgBuf *key_pem;
  char *answered; /* the "host:port" that answered */
} Call;

static void
call_free (Call *call)
{
  g_free (call->host);
  g_free (call->name);
  json_decref (call->body);
  cg_buf_free (call->value);
  g_free (call->context);
  g_free (call->cert_pem);
  cg_buf_free (call->key_pem);
  g_free (call->answered);
  g_free (call);
}

/* GET /v1/info (proves the pin and is open to all) and the list (proves
 * the token or certificate): {"info", "credentials"} (transfer full). */
static json_t *
connect_call (CgClient *client, GError **error)
{
  json_auto_t *info = cg_client_get_info (client, error);
  json_auto_t *list = info ? cg_client_credential_list (client, error) : NULL;
  return list ? json_pack ("{s:O, s:O}", "info", info, "credentials", list) : NULL;
}

static json_t *
enroll_call (CgClient *client, Call *call, GError **error)
{
  /* Enrollment carries no credential but the code. */
  cg_client_set_client_cert (client, NULL, NULL);
  cg_client_set_token (client, NULL);
  json_t *reply = cg_client_enroll (client, (const char *) call->value->data, NULL,
                                    &call->key_pem, error);
  if (reply)
    call->cert_pem = g_strdup (json_string_value (json_object_get (reply, "certificate")));
  return reply;
}

static gpointer
dispatch (CgClient *client, Call *call, GError **error)
{
  switch (call->kind)
    {
    case CALL_CONNECT:
      return connect_call (client, error);
    case CALL_ENROLL:
      return enroll_call (client, call, error);
    case CALL_LIST:
      return cg_client_credential_list (client, error);
    case CALL_GET:
      return cg_client_credential_get (client, call->name, error);
    case CALL_PUT:
      return cg_client_credential_put (client, call->name, call->body, error);
    case CALL_DELETE:
      return cg_client_credential_delete (client, call->name, error);
    case CALL_ENCRYPT:
      return cg_client_encrypt (client, (const char *) call->value->data, call->value->len,
                                call->context, error);
    case CALL_PROBE:
    default:
      g_assert_not_reached ();
    }
}

static gpointer
run_call (CgManagerClient *self, Call *call, GDestroyNotify *free_func, GError **error)
{
  *free_func = (GDestroyNotify) json_decref;
  if (call->kind == CALL_PROBE)
    {
      g_autoptr (CgClient) probe = cg_client_new (call->host, call->port);
      *free_func = (GDestroyNotify) cg_cert_info_free;
      return cg_client_probe (probe, error);
    }
  g_mutex_lock (&self->lock);
  g_autoptr (GPtrArray) targets = targets_locked (self);
  g_mutex_unlock (&self->lock);
  if (targets->len == 0)
    {
      g_set_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH,
                   "no trusted agent to talk to");
      return NULL;
    }
  /* The agent, then each of its cluster's other nodes while the failure
   * says nothing was done (enrollment is with the agent alone). */
  guint n = call->kind == CALL_ENROLL ? 1 : targets->len;
  for (guint i = 0; i < n; i++)
    {
      Target *t = targets->pdata[i];
      g_mutex_lock (&self->lock);
      g_autoptr (CgClient) client = make_client_locked (self, t, error);
      g_mutex_unlock (&self->lock);
      if (!client)
        return NULL;
      GError *local = NULL;
      gpointer result = dispatch (client, call, &local);
      if (result)
        {
          call->answered = cg_agent_address_format (t->host, t->port);
          return result;
        }
      if (i + 1 == n || !cg_client_error_fails_over (local))
        {
          g_propagate_error (error, local);
          return NULL;
        }
      g_debug ("agent %s:%u: %s; trying the next node", t->host, t->port, local->message);
      g_error_free (local);
    }
  g_assert_not_reached ();
}

static void
call_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;
  GDestroyNotify free_func = NULL;
  gpointer result = run_call (CG_MANAGER_CLIENT (source), task_data, &free_func, &error);
  if (result)
    g_task_return_pointer (task, result, free_func);
  else
    g_task_return_error (task, error);
}

/* Starts @call (stolen) in a worker thread. */
static void
start_call (CgManagerClient *self, Call *call, GCancellable *cancellable,
            GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tag);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);
  g_task_run_in_thread (task, call_thread);
}

static Call *
call_new (CallKind kind, const char *name)
{
  Call *call = g_new0 (Call, 1);
  call->kind = kind;
  call->name = g_strdup (name);
  return call;
}

void
cg_manager_client_probe_async (CgManagerClient *self, const char *host, guint port,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  Call *call = call_new (CALL_PROBE, NULL);
  call->host = g_strdup (host);
  call->port = port;
  start_call (self, call, cancellable, callback, user_data, cg_manager_client_probe_async);
}

CgCertInfo *
cg_manager_client_probe_finish (CgManagerClient *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
cg_manager_client_connect_async (CgManagerClient *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  start_call (self, call_new (CALL_CONNECT, NULL), cancellable, callback, user_data,
              cg_manager_client_connect_async);
}

void
cg_manager_client_enroll_async (CgManagerClient *self, const char *code,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  Call *call = call_new (CALL_ENROLL, NULL);
  call->value = cg_buf_new_copy (code, strlen (code));
  g_strstrip ((char *) call->value->data);
  start_call (self, call, cancellable, callback, user_data, cg_manager_client_enroll_async);
}

json_t *
cg_manager_client_enroll_finish (CgManagerClient *self, GAsyncResult *result, char **cert_pem,
                                 CgBuf **key_pem, GError **error)
{
  json_t *reply = g_task_propagate_pointer (G_TASK (result), error);
  if (reply)
    {
      Call *call = g_task_get_task_data (G_TASK (result));
      *cert_pem = g_steal_pointer (&call->cert_pem);
      *key_pem = g_steal_pointer (&call->key_pem);
    }
  return reply;
}

void
cg_manager_client_list_async (CgManagerClient *self, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  start_call (self, call_new (CALL_LIST, NULL), cancellable, callback, user_data,
              cg_manager_client_list_async);
}

void
cg_manager_client_get_async (CgManagerClient *self, const char *name, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  start_call (self, call_new (CALL_GET, name), cancellable, callback, user_data,
              cg_manager_client_get_async);
}

void
cg_manager_client_put_async (CgManagerClient *self, const char *name, json_t *body,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  Call *call = call_new (CALL_PUT, name);
  /* The thread's own copy: the caller may change or free its body. */
  call->body = json_deep_copy (body);
  start_call (self, call, cancellable, callback, user_data, cg_manager_client_put_async);
}

void
cg_manager_client_delete_async (CgManagerClient *self, const char *name, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  start_call (self, call_new (CALL_DELETE, name), cancellable, callback, user_data,
              cg_manager_client_delete_async);
}

void
cg_manager_client_encrypt_async (CgManagerClient *self, const char *value, const char *context,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  Call *call = call_new (CALL_ENCRYPT, NULL);
  call->value = cg_buf_new_copy (value, strlen (value));
  call->context = g_strdup (context);
  start_call (self, call, cancellable, callback, user_data, cg_manager_client_encrypt_async);
}

/* On the main context, as a call finishes: who answered it. */
static void
note_answered (CgManagerClient *self, GAsyncResult *result)
{
  Call *call = g_task_get_task_data (G_TASK (result));
  if (!call->answered || g_strcmp0 (call->answered, self->answered) == 0)
    return;
  g_free (self->answered);
  self->answered = g_strdup (call->answered);
  g_signal_emit (self, signals[SIGNAL_ANSWERED], 0, self->answered);
}

json_t *
cg_manager_client_call_finish (CgManagerClient *self, GAsyncResult *result, GError **error)
{
  json_t *reply = g_task_propagate_pointer (G_TASK (result), error);
  if (reply)
    note_answered (self, result);
  return reply;
}
