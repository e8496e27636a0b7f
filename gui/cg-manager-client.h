/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <jansson.h>

#include "certs/cg-cert-info.h"
#include "common/cg-secure.h"

G_BEGIN_DECLS

/* The GUI's one door to the agent: GTask async/finish pairs around
 * protocol/'s typed client (cg-client.h), each call made in a worker thread
 * with a CgClient of its own and completing on the caller's main context,
 * so the window never waits on the network.  Errors are CG_CLIENT_ERROR
 * (cannot reach, TLS, pin, 429) or CG_ERROR (the agent's refusal), as
 * cg-client.h says; cg-connection.h turns each into plain words. */

#define CG_TYPE_MANAGER_CLIENT (cg_manager_client_get_type ())
G_DECLARE_FINAL_TYPE (CgManagerClient, cg_manager_client, CG, MANAGER_CLIENT, GObject)

CgManagerClient *cg_manager_client_new (void);

/* Where the next calls go.  @pin (the trusted SPKI pin) and @token are
 * copied; the old token is wiped. */
void cg_manager_client_set_agent (CgManagerClient *self, const char *host, guint port,
                                  const char *pin);
void cg_manager_client_set_token (CgManagerClient *self, const char *token);
/* The other nodes of the agent's cluster, "host:port" each with its
 * trusted pin (both lists the same length, copied; NULL for none): a call
 * after trust that cannot reach the agent, or that it answers with 503
 * (cg_client_error_fails_over), is made on each of them in turn, with the
 * same token or certificate.  Never after a refusal (401, 403, 409, any
 * 4xx): that is the answer.  The probe and enrollment go to the agent
 * only. */
void cg_manager_client_set_fallbacks (CgManagerClient *self, const char *const *addresses,
                                      const char *const *pins);
/* The "host:port" that answered the last call finished (borrowed; NULL
 * before one).  The "answered" signal (one string, that address) is
 * emitted on the main context when it changes. */
const char *cg_manager_client_get_answered (CgManagerClient *self);
/* Authenticate with this client certificate and key (PEM, copied; the key
 * is wiped when replaced) instead of a token; NULL both to stop. */
void cg_manager_client_set_identity (CgManagerClient *self, const char *cert_pem,
                                     const CgBuf *key_pem);
gboolean cg_manager_client_has_identity (CgManagerClient *self);
const char *cg_manager_client_get_host (CgManagerClient *self);
guint cg_manager_client_get_port (CgManagerClient *self);

/* First contact: a TLS handshake without trust, to show the certificate
 * (cg_client_probe).  Nothing is sent on that connection. */
void cg_manager_client_probe_async (CgManagerClient *self, const char *host, guint port,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
CgCertInfo *cg_manager_client_probe_finish (CgManagerClient *self, GAsyncResult *result,
                                              GError **error);

/* After trust: GET /v1/info and GET /v1/credentials over the pinned
 * connection, with the token: proves the token and fetches the list.
 * Its reply is {"info": …, "credentials": […]}. */
void cg_manager_client_connect_async (CgManagerClient *self, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data);

/* Enroll this device with a one-time @code over the pinned connection:
 * a new P-256 key, its CSR, the agent's certificate for it
 * (cg_client_enroll).  finish gives the reply and the certificate and key
 * (transfer full). */
void cg_manager_client_enroll_async (CgManagerClient *self, const char *code,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);
json_t *cg_manager_client_enroll_finish (CgManagerClient *self, GAsyncResult *result,
                                         char **cert_pem, CgBuf **key_pem, GError **error);

/* GET /v1/credentials: its reply is the array of metadata. */
void cg_manager_client_list_async (CgManagerClient *self, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);

/* GET /v1/credentials/{name}: metadata (transfer full). */
void cg_manager_client_get_async (CgManagerClient *self, const char *name,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
/* PUT /v1/credentials/{name} with @body (borrowed; the worker thread
 * takes a copy at once): the stored metadata. */
void cg_manager_client_put_async (CgManagerClient *self, const char *name, json_t *body,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
/* DELETE /v1/credentials/{name}. */
void cg_manager_client_delete_async (CgManagerClient *self, const char *name,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);
/* POST /v1/encrypt {"value","context"}: {"encryptedCredential","kid"}. */
void cg_manager_client_encrypt_async (CgManagerClient *self, const char *value, const char *context,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
/* The reply of connect, list, get, put, delete and encrypt (transfer full). */
json_t *cg_manager_client_call_finish (CgManagerClient *self, GAsyncResult *result, GError **error);

G_END_DECLS
