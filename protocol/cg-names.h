/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Credential and token names: [A-Za-z0-9._-]{1,128}, not "." or "..". */
#define CG_NAME_MAX 128
gboolean cg_name_is_valid (const char *name);

G_END_DECLS
