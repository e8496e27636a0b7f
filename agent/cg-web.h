/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <microhttpd.h>

#include "agent/cg-http.h"

G_BEGIN_DECLS

/* The browser page (web/): static files compiled into the agent as a
 * GResource under CG_WEB_RESOURCE_PREFIX and served from memory at "/".
 * Every answer carries the page's headers (CSP, nosniff, no referrer), a
 * Content-Type by file name, a Cache-Control per kind of file and a strong
 * ETag; an If-None-Match that matches gets 304. */
#define CG_WEB_RESOURCE_PREFIX "/org/credgate/web"

/* TRUE when @url is a page path (anything outside /v1). */
gboolean cg_web_is_page_path (const char *url);

/* Answer GET/HEAD @req->url from the resource, or 404/405 with the page's
 * headers. */
enum MHD_Result cg_web_dispatch (CgRequest *req);

/* The headers every page response carries (exposed for tests). */
void cg_web_add_headers (struct MHD_Response *resp);

G_END_DECLS
