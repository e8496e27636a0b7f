/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "common/cg-secure.h"

G_BEGIN_DECLS

/* The HTTPS client for the agent's /v1 API: libcurl (GnuTLS) with the
 * agent's SPKI pinned.  Trust is the pin, not a CA: agents start with a
 * self-signed certificate, so when a pin is set the CA and host name checks
 * are off and no trust store is loaded (that costs ~10 ms per process).
 * One CgClient keeps its connection alive across requests.  Blocking: the
 * GUI calls it from a GTask thread.  Not thread-safe; one per thread.
 *
 * Transport failures are CG_CLIENT_ERROR; an error the agent replies with
 * is CG_ERROR with the code named in its {"error": {"code"}}, and the
 * agent's message. */

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

G_END_DECLS
