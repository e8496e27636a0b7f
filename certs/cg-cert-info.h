/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Kept apart from cg-cert.h so that a client (the GUI) can hold what it
 * shows without seeing GnuTLS or X.509: certs/cg-cert-validate.c reads it. */

/* What a client shows about a peer's certificate before it trusts it: the
 * first-contact dialog's details. */
typedef struct
{
  char *pin;     /* "sha256:BASE64", as cg_cert_pair_get_spki_pin */
  char *subject; /* RFC 4514 DN */
  char *issuer;
  GStrv sans;    /* DNS names and IP addresses, without "DNS:"/"IP:" */
  gint64 not_before; /* seconds since the epoch; -1 when unreadable */
  gint64 not_after;
  gboolean self_signed;
} CgCertInfo;

CgCertInfo *cg_cert_info_from_der (const guint8 *der, gsize len, GError **error);
void cg_cert_info_free (CgCertInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgCertInfo, cg_cert_info_free)

G_END_DECLS
