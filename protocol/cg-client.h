/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "certs/cg-cert-info.h"
#include "common/cg-secure.h"

G_BEGIN_DECLS

/* The HTTPS client for the agent's /v1 API: libcurl (GnuTLS) with the
 * agent's SPKI pinned.  Trust is the pin, not a CA: agents start with a
 * self-signed certificate, so when a pin is set the CA and host name checks
 * are off and no trust store is loaded (that costs ~10 ms per process).
 * One CgClient keeps its connection alive across requests.  Blocking: the
 * GUI calls it from a GTask thread.  Not thread-safe; one per thread.
 *
 * One function per API call below, jansson objects in and out; the paths
 * are spelled once, in cg-client.c.
 *
 * Errors are told apart by domain and code, never by their text:
 *   - CG_CLIENT_ERROR: the agent could not be reached (UNREACHABLE: DNS,
 *     connect, timeout, libcurl missing), TLS failed, the key is not the
 *     pinned one (PIN_MISMATCH: nothing was sent), the reply is not what the
 *     API promises (PROTOCOL), or 429 (BUSY);
 *   - CG_ERROR: what the agent refused, with the code named in its
 *     {"error": {"code"}} (by HTTP status when it names none) and its
 *     message: UNAUTHORIZED (401), FORBIDDEN (403), TOO_LARGE (413),
 *     LOCKED / UNAVAILABLE / KEYS_MISSING (503: the secret store's states),
 *     NOT_FOUND, INVALID, DECRYPT, ...  An invalid credential name is
 *     CG_ERROR_INVALID before anything is sent. */

#define CG_CLIENT_ERROR (cg_client_error_quark ())
GQuark cg_client_error_quark (void);

typedef enum
{
  CG_CLIENT_ERROR_UNREACHABLE,  /* DNS, connect, timeout, connection lost */
  CG_CLIENT_ERROR_TLS,          /* the TLS handshake failed */
  CG_CLIENT_ERROR_PIN_MISMATCH, /* the agent's key is not the pinned one */
  CG_CLIENT_ERROR_PROTOCOL,     /* the reply is not what the API promises */
  CG_CLIENT_ERROR_BUSY,         /* 429: too many failed attempts, wait */
} CgClientErrorCode;

typedef struct CgClient CgClient;

/* Given a list of agents (the nodes of a cluster), may a call that failed
 * with @error on one be made on the next?  Only when that agent did
 * nothing: it could not be reached (UNREACHABLE, TLS) or answered 503 (its
 * secret store locked or missing, its audit log or the cluster's quorum
 * unavailable).  Never after what an agent decided (401, 403, 409, any
 * 4xx, 429) nor a pin mismatch.  The CLI's --agent list and the desktop
 * app's both go by this. */
gboolean cg_client_error_fails_over (const GError *error);

/* libcurl's process-wide set-up, once; cg_client_new calls it too.  A
 * program that makes clients in threads calls it first, in main, before
 * any thread exists (curl_global_init is not safe to race). */
void cg_client_global_init (void);

/* @host without brackets, as cg_agent_address_parse gives it. */
CgClient *cg_client_new (const char *host, guint port);
void cg_client_free (CgClient *client); /* wipes the token */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgClient, cg_client_free)

/* Pin the agent's key: "sha256:BASE64"; a second pin (nullable) is also
 * accepted — the agent's staged next certificate.  Without any pin, requests
 * are refused: the only unpinned contact is cg_client_fetch_pin. */
void cg_client_set_pins (CgClient *client, const char *pin, const char *next_pin);
void cg_client_set_token (CgClient *client, const char *token);
/* Read the token from @path: its first line, surrounding space trimmed,
 * either the token alone or a curl header "Authorization: Bearer TOKEN". */
gboolean cg_client_load_token (CgClient *client, const char *path, GError **error);
void cg_client_set_timeouts (CgClient *client, guint connect_s, guint total_s);
/* Authenticate with a TLS client certificate (PEM files, the key
 * unencrypted) instead of a token; NULL both to stop.  The files are read
 * by libcurl at each new connection. */
void cg_client_set_client_cert (CgClient *client, const char *cert_path, const char *key_path);
/* The same from memory (both PEM, borrowed): for a key kept in a keyring.
 * libcurl reads files only, so each goes into an anonymous memory file
 * (memfd, never on a disk) that the client holds until it is freed. */
gboolean cg_client_set_client_cert_data (CgClient *client, const char *cert_pem,
                                         const CgBuf *key_pem, GError **error);

/* First contact (trust on first use) and mismatch reports: fetch the
 * agent's certificate without verifying it and return its SPKI pin
 * (transfer full).  Sends no token and no body. */
char *cg_client_fetch_pin (CgClient *client, GError **error);

/* The same with what the first-contact dialog shows: subject, names,
 * dates, self-signed, read by certs/ (transfer full). */
CgCertInfo *cg_client_probe (CgClient *client, GError **error);

/* The pin the agent presented on the last successful request (borrowed;
 * NULL before one). */
const char *cg_client_get_peer_pin (CgClient *client);

/* One request; @body (nullable, borrowed) is sent as JSON.  Returns the
 * reply object (transfer full). */
json_t *cg_client_request (CgClient *client, const char *method, const char *path, json_t *body,
                           GError **error);

/* Enrollment (POST /v1/enroll, no token): make a P-256 key pair, send a
 * CSR for it (CN @cn, or NULL: this host's name) with the one-time @code, and check that the
 * certificate that comes back is for that key.  Returns the reply
 * {"name","certificate","serial","fingerprint","expires","ca"} (transfer
 * full) and the private key as PEM in *key_pem. */
json_t *cg_client_enroll (CgClient *client, const char *code, const char *cn, CgBuf **key_pem,
                          GError **error);

/* GET /v1/info, checked for the members clients rely on (transfer full). */
json_t *cg_client_get_info (CgClient *client, GError **error);

/* GET /v1/credentials: the array of metadata (transfer full). */
json_t *cg_client_credential_list (CgClient *client, GError **error);
/* GET /v1/credentials/{name}: its metadata (transfer full). */
json_t *cg_client_credential_get (CgClient *client, const char *name, GError **error);
/* PUT /v1/credentials/{name} with @body (borrowed): the stored metadata
 * (transfer full). */
json_t *cg_client_credential_put (CgClient *client, const char *name, json_t *body,
                                  GError **error);
/* DELETE /v1/credentials/{name}: {"name","deleted"} (transfer full). */
json_t *cg_client_credential_delete (CgClient *client, const char *name, GError **error);

/* POST /v1/encrypt {"value","context"}: @value is @len bytes of UTF-8 text
 * (CG_ERROR_INVALID otherwise, before sending); @context nullable.  The
 * reply {"encryptedCredential","kid"}, its JWE checked (transfer full). */
json_t *cg_client_encrypt (CgClient *client, const char *value, gsize len, const char *context,
                           GError **error);
/* POST /v1/verify: the reply {"ok": true, "kid", ...} (transfer full), or
 * CG_ERROR_DECRYPT when the agent cannot open @jwe under @context. */
json_t *cg_client_verify (CgClient *client, const char *jwe, const char *context,
                          GError **error);
/* POST /v1/rewrap: @jwe sealed again to the agent's current key, bound to
 * the same @context; the reply {"encryptedCredential", ...}, its JWE
 * checked (transfer full). */
json_t *cg_client_rewrap (CgClient *client, const char *jwe, const char *context,
                          GError **error);

G_END_DECLS
