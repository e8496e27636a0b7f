/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <microhttpd.h>

G_BEGIN_DECLS

/* One HTTP request as the access handler accumulates it.  The body is
 * bounded (max_body) and wiped when the request ends: it may hold a secret. */
typedef struct
{
  struct MHD_Connection *connection;
  char *method;
  char *url;
  char *client;            /* client IP address, for throttling and audit */
  int route;               /* index in the API's route table, -1: none */
  const char *name;        /* the name segment of the path (points into url) */
  char *who;               /* the authenticated caller, once known */
  guint8 *body;
  gsize body_len;
  gsize body_max;
  gboolean too_large;
  gint64 arrived;          /* g_get_monotonic_time () at its headers: cg-write-clock.h */
  /* Answered off libmicrohttpd's thread (cg-write-queue.h): the response
   * kept for the access handler's next call, once the connection is
   * resumed. */
  gboolean handed_off;
  struct MHD_Response *answer;
  unsigned int answer_status;
} CgRequest;

CgRequest *cg_request_new (struct MHD_Connection *connection, const char *method,
                           const char *url, gsize body_max);
void cg_request_free (CgRequest *req);
/* Append upload data; past the limit sets too_large and drops the rest. */
void cg_request_append (CgRequest *req, const char *data, gsize len);

/* While @req is answered off libmicrohttpd's threads (cg-write-queue.c),
 * on this thread, the cg_http_reply_* below keep the response in @req
 * instead of queueing it; NULL ends that. */
void cg_http_keep_answers (CgRequest *req);
/* Queues the response kept in @req (on libmicrohttpd's thread, after the
 * resume); MHD_NO, closing the connection, when there is none. */
enum MHD_Result cg_http_queue_kept (CgRequest *req);

/* Queue a JSON response (the value is not consumed).  Every response is
 * no-store: nothing the agent says belongs in a cache. */
enum MHD_Result cg_http_reply_json (struct MHD_Connection *c, unsigned int status, json_t *body);
/* The same with a body already serialized (borrowed; MHD copies it). */
enum MHD_Result cg_http_reply_json_text (struct MHD_Connection *c, unsigned int status,
                                         const char *text, gsize len);
enum MHD_Result cg_http_reply_error (struct MHD_Connection *c, unsigned int status,
                                     const char *code, const char *message, const char *field);
/* Status and code from a CG_ERROR; other domains are a 500. */
enum MHD_Result cg_http_reply_gerror (struct MHD_Connection *c, const GError *error,
                                      const char *field);

/* The connection's peer address as text ("127.0.0.1", "::1"). */
char *cg_http_client_address (struct MHD_Connection *c);

G_END_DECLS
