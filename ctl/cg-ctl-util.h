/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

/* What every credgatectl command group shares. */
enum
{
  EXIT_REFUSED = 1,     /* the agent answered with an error */
  EXIT_USAGE = 2,
  EXIT_UNREACHABLE = 3, /* no agent on the socket */
};

/* Print "credgatectl: MESSAGE" and return the exit status it means. */
int cg_ctl_fail (const GError *error);
/* @key's string in @obj, or @fallback (borrowed). */
const char *cg_ctl_str_or (json_t *obj, const char *key, const char *fallback);
/* Indented JSON on stdout; the text is wiped (it may hold a secret). */
void cg_ctl_print_json (json_t *value);

G_END_DECLS
